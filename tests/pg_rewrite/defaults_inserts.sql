-- INSERT corpus for tests/rewrite/null_defaults.policy (see inserts.rs):
-- rows that leave to the database a column their policies read. A session
-- reads which columns the database fills with null and guards such rows
-- in the statement, checking them before the row's constraints as
-- PostgreSQL does; the rewriter on its own does not know the defaults, so
-- it checks them after the statement (plain INSERT) or refuses (ON
-- CONFLICT, WITH items). A column with a default of its own (`tag`) is
-- never taken as null.
-- policies: tests/rewrite/null_defaults.policy
-- context: {"tenant": {"id": "t"}}
-- tenants: t
-- users: u
-- words: x
-- setup: DELETE FROM t
-- setup: INSERT INTO t (id, k, tag) VALUES (1, 1, NULL), (2, 2, 'ok')
-- setup: ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id)
-- setup: ALTER TABLE t ALTER COLUMN k SET NOT NULL
-- setup: ALTER TABLE t ALTER COLUMN tag SET DEFAULT 'bad'

-- `k` left out: null breaks the policy and NOT NULL; PostgreSQL says 42501.
-- diverges without defaults: NOT NULL fails (23502) before the appended check; PostgreSQL checks RLS first (42501)
INSERT INTO t (id, tag) VALUES (10, 'ok');
-- diverges without defaults: NOT NULL fails (23502) before the appended check; PostgreSQL checks RLS first (42501)
INSERT INTO t (id, k, tag) VALUES (10, DEFAULT, 'ok');
-- diverges without defaults: NOT NULL fails (23502) before the appended check; PostgreSQL checks RLS first (42501)
INSERT INTO t (id, tag) SELECT id + 10, 'ok' FROM t;
INSERT INTO t (id, tag) VALUES (10, 'ok') ON CONFLICT DO NOTHING;
INSERT INTO t (id, tag) VALUES (1, 'ok') ON CONFLICT (id) DO NOTHING;
INSERT INTO t (id, k, tag) VALUES (1, DEFAULT, 'ok') ON CONFLICT (id) DO UPDATE SET note = 'x';
INSERT INTO t (id, tag) SELECT id, 'ok' FROM t ON CONFLICT (id) DO NOTHING;
WITH i AS (INSERT INTO t (id, tag) VALUES (10, 'ok') RETURNING id) SELECT * FROM i;
-- `tag` left out: its default breaks the policy (42501), whatever `k` is.
INSERT INTO t (id, k) VALUES (10, 5);
INSERT INTO t (id, k, tag) VALUES (10, 5, DEFAULT);
INSERT INTO t (id, k) VALUES (10, 5) ON CONFLICT DO NOTHING;
-- Every column the policies read given: checked as ever.
INSERT INTO t (id, k, tag) VALUES (10, 5, 'ok') RETURNING id, note;
INSERT INTO t (id, k, tag) VALUES (10, 5, NULL) ON CONFLICT DO NOTHING;
INSERT INTO t (id, k, tag) VALUES (10, -5, 'ok');
-- `note` (not read) left out, `k` given.
INSERT INTO t (id, k, tag) SELECT id + 10, k, 'ok' FROM t RETURNING *;
INSERT INTO t (id, k, tag) SELECT id, k + 1, 'ok' FROM t ON CONFLICT (id) DO UPDATE SET k = excluded.k;
WITH i AS (INSERT INTO t (id, k, tag) SELECT id + 10, k - 1, 'ok' FROM t RETURNING id) SELECT count(*) FROM i;
