-- INSERT and UPDATE corpus for tests/rewrite/guard_copies.policy (see
-- inserts.rs): guards copy the statement's values into `exists` subqueries over a table
-- with the same column names, where an unqualified copy reads the wrong row.
-- policies: tests/rewrite/guard_copies.policy
-- context: {"tenant": {"id": "t"}}
-- tenants: t
-- users: u
-- words: x
-- setup: DELETE FROM a
-- setup: DELETE FROM b
-- setup: INSERT INTO a VALUES (1, 1), (2, 2), (3, 5)
-- setup: INSERT INTO b VALUES (1, 1), (2, 5), (3, 2), (4, 6)
-- setup: ALTER TABLE a ADD CONSTRAINT a_pkey PRIMARY KEY (id)

-- Proposed rows from a SELECT: `k + 1` is 2 and 6, both in `b`.
INSERT INTO a (id, k) SELECT id + 100, k + 1 FROM b WHERE k IN (1, 5) ON CONFLICT (id) DO NOTHING;
INSERT INTO a (id, k) SELECT id + 100, k + 1 FROM b ON CONFLICT (id) DO NOTHING;
INSERT INTO a (id, k) SELECT id, k + 1 FROM b WHERE k IN (1, 5) ON CONFLICT (id) DO NOTHING RETURNING id;
INSERT INTO a (id, k) SELECT id + 100, k + 1 FROM b WHERE k IN (1, 5);
INSERT INTO a (id, k) SELECT id + 100, k + 1 FROM b;
INSERT INTO a (id, k) SELECT b.id + 100, b.k FROM b JOIN a USING (id);
-- `DEFAULT` for a column the check does not read (`id`: null here): the
-- rows are guarded, the guard riding on `k`. k = 3 is in no `b` row (42501,
-- before the null key's 23502); k = 2 is (23502, or skipped on conflict).
INSERT INTO a VALUES (DEFAULT, 3) ON CONFLICT (id) DO NOTHING;
INSERT INTO a (id, k) VALUES (DEFAULT, 2) ON CONFLICT (id) DO NOTHING;
INSERT INTO a (id, k) VALUES (1, 2), (DEFAULT, 3) ON CONFLICT (id) DO UPDATE SET k = excluded.k;
INSERT INTO a (id, k) VALUES (1, 2), (DEFAULT, 2) ON CONFLICT DO NOTHING RETURNING k;
INSERT INTO a (k, id) VALUES (5, 1), (6, DEFAULT) ON CONFLICT (id) DO UPDATE SET k = excluded.k RETURNING *;
INSERT INTO a VALUES (DEFAULT, 3);
-- `DEFAULT` for the column the check reads: its value is the database's,
-- which the rewriter does not know: refused with ON CONFLICT. (A plain
-- INSERT is checked after it runs, so a row breaking the policy and a
-- constraint at once is the constraint's error, 23502 for `(7, DEFAULT)`
-- here where PostgreSQL says 42501: README, "Known differences".)
INSERT INTO a (id, k) VALUES (7, DEFAULT) ON CONFLICT (id) DO NOTHING;
-- The updated row (unqualified, `k` is ambiguous: 42702): `a.k + 1` is 2
-- for id 1 and 6 for id 3, both in `b`.
INSERT INTO a (id, k) VALUES (1, 6) ON CONFLICT (id) DO UPDATE SET k = k + 1;
INSERT INTO a (id, k) VALUES (1, 6) ON CONFLICT (id) DO UPDATE SET k = a.k + 1;
INSERT INTO a (id, k) VALUES (3, 6) ON CONFLICT (id) DO UPDATE SET k = a.k + 1 RETURNING *;
INSERT INTO a (id, k) VALUES (2, 6) ON CONFLICT (id) DO UPDATE SET k = a.k + 1;
INSERT INTO a (id, k) VALUES (2, 6) ON CONFLICT (id) DO UPDATE SET k = a.id;
INSERT INTO a (id, k) VALUES (1, 6) ON CONFLICT (id) DO UPDATE SET k = excluded.k - a.k;
-- UPDATE's guard copies the assigned value into the `exists` subquery.
-- Without FROM the value is qualified where it stands: 1 + 1 is in `b`,
-- 2 + 1 is not (42501), 5 + 1 is.
UPDATE a SET k = k + 1 WHERE id = 1;
UPDATE a SET k = k + 1 WHERE id = 2;
UPDATE a SET k = k + 1 WHERE id = 3 RETURNING *;
UPDATE a AS t SET k = t.k + 1, id = id + 10 WHERE t.id >= 1 RETURNING t.id, k;
-- The guard rides on `id` (assigned first), its value not read by the
-- check: a duplicate key and a policy violation at once is 42501.
UPDATE a SET id = 1, k = k + 1 WHERE id = 2;
UPDATE a SET id = 1, k = k + 1 WHERE id = 1;
-- With FROM, a bare `k` is `a`'s and `b`'s (42702); qualified it is not.
UPDATE a SET k = k + 1 FROM b WHERE b.id = a.id;
UPDATE a SET k = a.k + 1 FROM b WHERE b.id = a.id AND a.id = 1 RETURNING a.*;
UPDATE a SET k = a.k + 1 FROM b WHERE b.id = a.id;
UPDATE a SET k = b.k + 1 FROM b WHERE b.id = a.id AND b.k = 1;
