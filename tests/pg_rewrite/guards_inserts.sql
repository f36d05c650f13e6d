-- INSERT corpus for tests/rewrite/guard_copies.policy (see inserts.rs):
-- guards copy the statement's values into `exists` subqueries over a table
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
-- The updated row (unqualified, `k` is ambiguous: 42702): `a.k + 1` is 2
-- for id 1 and 6 for id 3, both in `b`.
INSERT INTO a (id, k) VALUES (1, 6) ON CONFLICT (id) DO UPDATE SET k = k + 1;
INSERT INTO a (id, k) VALUES (1, 6) ON CONFLICT (id) DO UPDATE SET k = a.k + 1;
INSERT INTO a (id, k) VALUES (3, 6) ON CONFLICT (id) DO UPDATE SET k = a.k + 1 RETURNING *;
INSERT INTO a (id, k) VALUES (2, 6) ON CONFLICT (id) DO UPDATE SET k = a.k + 1;
INSERT INTO a (id, k) VALUES (2, 6) ON CONFLICT (id) DO UPDATE SET k = a.id;
INSERT INTO a (id, k) VALUES (1, 6) ON CONFLICT (id) DO UPDATE SET k = excluded.k - a.k;
