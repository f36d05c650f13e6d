-- INSERT corpus for tests/rewrite/insert_cells.policy (see inserts.rs): one
-- policy per command, so each cell of PostgreSQL's table for INSERT and ON
-- CONFLICT shows on its own; `e` has a check that can divide by zero.
-- policies: tests/rewrite/insert_cells.policy
-- context: {"tenant": {"id": "acme"}, "request": {"user": "bob", "roles": []}}
-- context: {"tenant": {"id": "globex"}, "request": {"user": "eve", "roles": []}}
-- tenants: acme | globex
-- users: bob | eve | ann
-- words: x | y
-- setup: DELETE FROM t a USING t b WHERE a.id = b.id AND a.ctid > b.ctid
-- setup: ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id)
-- setup: DELETE FROM e a USING e b WHERE a.id = b.id AND a.ctid > b.ctid
-- setup: ALTER TABLE e ADD CONSTRAINT e_pkey PRIMARY KEY (id)

-- SELECT using only where the statement reads the table.
INSERT INTO t (id, owner, amount) VALUES (100, 'ann', 5);
INSERT INTO t (id, owner, amount) VALUES (100, 'ann', 5) RETURNING id;
INSERT INTO t (id, owner, amount) VALUES (100, 'a' || 'nn', 5) RETURNING id;
INSERT INTO t (id, owner, amount) VALUES (100, 'a' || 'nn', 5);
INSERT INTO t (id, amount) VALUES (100, 5) RETURNING *;
INSERT INTO t (id, owner, amount) SELECT id + 100, owner, amount FROM t RETURNING id;
INSERT INTO t (id, owner, amount) VALUES (100, 'ann', 5) ON CONFLICT DO NOTHING;
INSERT INTO t (id, owner, amount) VALUES (100, 'ann', 5) ON CONFLICT (id) DO NOTHING;
INSERT INTO t (id, owner, amount) VALUES (100, 'ann', 5) ON CONFLICT ON CONSTRAINT t_pkey DO NOTHING;
INSERT INTO t (id, owner, amount) VALUES (100, 'a' || 'nn', 5) ON CONFLICT ON CONSTRAINT t_pkey DO NOTHING;
INSERT INTO t (id, owner, amount) VALUES (1, 'bob', -5) ON CONFLICT DO NOTHING;
INSERT INTO t (id, owner, amount) VALUES (1, 'bob', 0 - 5) ON CONFLICT DO NOTHING;

-- DO UPDATE: existing row (UPDATE and SELECT using), updated row (UPDATE check, SELECT using).
INSERT INTO t (id, amount) VALUES (1, 5) ON CONFLICT (id) DO UPDATE SET amount = 1;
INSERT INTO t (id, amount) VALUES (2, 5) ON CONFLICT (id) DO UPDATE SET amount = 1;
INSERT INTO t (id, amount) VALUES (3, 5) ON CONFLICT (id) DO UPDATE SET amount = 60;
INSERT INTO t (id, amount) VALUES (4, 5) ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET owner = 'ann';
INSERT INTO t (id, amount) VALUES (5, 5) ON CONFLICT (id) DO UPDATE SET amount = t.amount + 1 WHERE t.amount > 1000;
INSERT INTO t (id, amount) VALUES (6, 5) ON CONFLICT (id) DO UPDATE SET amount = excluded.amount WHERE t.owner = 'bob';
INSERT INTO t AS x (id, amount) VALUES (0, 5), (7, 2 + 2) ON CONFLICT (id) DO UPDATE SET amount = x.amount - 1 RETURNING x.id, x.amount;

-- Errors inside a policy keep their SQLSTATE.
INSERT INTO e (id, amount) VALUES (100, 0);
INSERT INTO e (id, amount) VALUES (100, 20), (101, 200);
INSERT INTO e (id, amount) VALUES (100, 1 - 1);
INSERT INTO e (id, amount) VALUES (100, 20) RETURNING id;

-- Proposed rows from a SELECT, and rows whose guard rides on a number.
INSERT INTO t (id, owner, amount) SELECT id, owner, amount - 3 FROM t ON CONFLICT (id) DO NOTHING;
INSERT INTO t (id, owner, amount) SELECT id + 100, owner, amount - 3 FROM t WHERE amount > 2 ON CONFLICT (id) DO NOTHING RETURNING id;
INSERT INTO t (id, amount) SELECT id, amount + 1 FROM t ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
INSERT INTO t (id, amount) SELECT id + 100, amount FROM t WHERE id < 3 ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING *;
INSERT INTO e (id, amount) VALUES (1, 2 + 3), ('2', 7) ON CONFLICT (id) DO NOTHING;
INSERT INTO e (id, amount) VALUES (100, 50 + 50) ON CONFLICT (id) DO NOTHING;
INSERT INTO e (id, amount) VALUES (100, 0 + 0) ON CONFLICT (id) DO NOTHING;
INSERT INTO e (id, amount) SELECT id, amount + 1 FROM e ON CONFLICT (id) DO NOTHING;
INSERT INTO e (id, amount) SELECT id + 100, amount FROM e ON CONFLICT (id) DO UPDATE SET amount = 1;

-- diverges: the second row fails the INSERT check when rewriting (42501); PostgreSQL inserts the first row first, and its key is taken (23505)
INSERT INTO t (id, owner, amount) VALUES (1, 'bob', 5), (100, 'bob', -5);
