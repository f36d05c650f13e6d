-- INSERT corpus for policies/saas (see corpus.rs for the format): each runs
-- in a rolled-back transaction, natively as the non-owner role and
-- rewritten as the owner; `orders.id` is made its primary key first.
-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- context: {"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["member"]}}
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "dan", "roles": []}}
-- context: {"tenant": {"id": "globex", "plan": "pro"}, "request": {"user": "bob", "roles": ["member", "admin"]}}
-- tenants: acme | globex
-- users: bob | ann | eve | dan | O'Brien
-- words: open | paid | shipped | cancelled | EUR | x | it's | Ünï | a b | A
-- setup: DELETE FROM orders a USING orders b WHERE a.id = b.id AND a.ctid > b.ctid
-- setup: ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id)

-- Constant rows: checked when rewriting.
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open');
INSERT INTO orders (id, amount, status) VALUES (100, -5, 'open');
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open') RETURNING id, owner;
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'paid');
INSERT INTO orders (id, tenant_id, amount, status) VALUES (100, 'globex', 5, 'open');
INSERT INTO orders (id, owner, amount, status) VALUES (100, 'ann', 5, 'open');
INSERT INTO orders (id, owner, amount, status) VALUES (100, 'ann', 5, 'open') RETURNING *;
INSERT INTO orders VALUES (100, 'acme', 'bob', 5, 'open', NULL, NULL);
INSERT INTO orders VALUES (100, 'acme', 'bob', 5, 'open');
INSERT INTO orders SELECT 100, 'acme', 'bob', 5, 'open';
INSERT INTO orders SELECT 100, 'acme', 'bob', 5 + 0, 'open' RETURNING *;
INSERT INTO orders (id, amount, status, note) VALUES (100, 0, 'open', 'it''s'), (101, 7, 'open', NULL);
-- `DEFAULT` for a preset column is the preset (the column's default natively).
INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES (100, DEFAULT, DEFAULT, 5, 'open') RETURNING *;
INSERT INTO orders (id, tenant_id, amount, status) VALUES (100, DEFAULT, 5 + 0, 'open'), (101, 'globex', 1, 'open');
INSERT INTO orders VALUES (100, DEFAULT, 'ann', 5, 'open', DEFAULT, NULL);
INSERT INTO orders (id, tenant_id, amount, status) VALUES (1, DEFAULT, 5, 'open') ON CONFLICT (id) DO NOTHING;

-- Rows known only to the database: appended RETURNING checks.
INSERT INTO orders (id, amount, status) VALUES (100, 5 + 1, 'open'), (101, 2 - 3, 'open');
INSERT INTO orders (id, amount, status) VALUES (100, 5 + 1, 'open'), (101, 3, 'open') RETURNING id;
INSERT INTO orders (id, amount, status) SELECT id + 100, amount, status FROM orders;
INSERT INTO orders (id, amount, status) SELECT id + 100, amount, 'open' FROM orders RETURNING id;
INSERT INTO orders (id, amount, status) SELECT 100, 1, 'open' UNION ALL SELECT 101, 2, 'open';
INSERT INTO orders (id, amount, status) VALUES ((SELECT coalesce(max(id), 0) + 100 FROM orders), 1, 'open');
-- diverges without defaults: NOT NULL fails (23502) before the appended check; PostgreSQL checks RLS first (42501)
INSERT INTO orders VALUES (100);

-- ON CONFLICT.
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open') ON CONFLICT DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open') ON CONFLICT (id) DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open') ON CONFLICT ON CONSTRAINT orders_pkey DO NOTHING RETURNING id;
INSERT INTO orders (id, amount, status) VALUES (1, -5, 'open') ON CONFLICT (id) DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
INSERT INTO orders (id, amount, status) VALUES (2, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = orders.amount + 1 RETURNING id, amount;
INSERT INTO orders (id, amount, status) VALUES (3, 5, 'open') ON CONFLICT ON CONSTRAINT orders_pkey DO UPDATE SET status = 'paid';
INSERT INTO orders (id, amount, status) VALUES (4, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = -1;
INSERT INTO orders (id, amount, status) VALUES (5, 5, 'open') ON CONFLICT (id) DO UPDATE SET note = 'x' WHERE orders.status = 'paid';
INSERT INTO orders AS o (id, amount, status) VALUES (6, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = o.amount + excluded.amount WHERE o.amount < 5 RETURNING o.id;
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open'), (0, 1, 'open') ON CONFLICT (id) DO UPDATE SET status = excluded.status;

-- Other tables: `exists` checks, admin-only writes, an open table.
INSERT INTO projects (id, org_id, name, archived) VALUES (100, 1, 'p', false);
INSERT INTO projects (id, org_id, name, archived) VALUES (100, 1, 'p', true);
INSERT INTO memberships (user_id, org_id) VALUES ('bob', 3);
INSERT INTO memberships (user_id, org_id) VALUES ('bob', 3) RETURNING *;
INSERT INTO users (id, email, name) VALUES ('zed', 'z@x', 'Zed') RETURNING id;
INSERT INTO currencies (code, name, minor_units) VALUES ('XTS', 'test', 2);

-- DO UPDATE: a WHERE that skips the row skips its checks too; no UPDATE policy at all.
INSERT INTO orders (id, amount, status) VALUES (2, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = 1 WHERE false;
INSERT INTO orders (id, amount, status) VALUES (0, 5, 'open'), (1, 5, 'open'), (2, 5, 'open'), (3, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = excluded.amount + 1;
INSERT INTO orders (id, amount, status) VALUES (3, 5, 'open') ON CONFLICT (id) DO UPDATE SET owner = 'ann', status = 'cancelled' RETURNING owner, status;
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open') ON CONFLICT (id) DO UPDATE SET amount = 1 RETURNING *;
INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open'), (100, 6, 'open') ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;

-- ON CONFLICT with rows known only to the database: a guard per proposed row.
INSERT INTO orders (id, amount, status) VALUES (1, 5 + 1, 'open') ON CONFLICT (id) DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (1, 2 - 3, 'open') ON CONFLICT (id) DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (100, 2 - 3, 'open') ON CONFLICT DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (100, 2 - 3, 'open') ON CONFLICT (id) DO NOTHING RETURNING id;
INSERT INTO orders (id, amount, status) VALUES (2, 1 + 1, 'op' || 'en'), (100, 3, 'open') ON CONFLICT (id) DO UPDATE SET amount = excluded.amount * 2;
INSERT INTO orders (id, owner, amount, status) VALUES (3, lower('BOB'), 1 + 0, 'open') ON CONFLICT ON CONSTRAINT orders_pkey DO UPDATE SET note = excluded.owner RETURNING note;
INSERT INTO orders (id, amount, status, note) VALUES (4, 1 * 7, 'open', NULL) ON CONFLICT (id) DO UPDATE SET amount = orders.amount - 200;

-- Values the policies read computed by stable built-ins.
INSERT INTO orders (id, amount, status) VALUES (100, abs(-5), lower('OPEN')) ON CONFLICT (id) DO NOTHING;
INSERT INTO orders (id, amount, status) VALUES (1, abs(-5), lower('OPEN')) ON CONFLICT (id) DO UPDATE SET amount = abs(excluded.amount) - 100;
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open') ON CONFLICT (id) DO UPDATE SET status = upper(excluded.status);
INSERT INTO orders (id, amount, status) SELECT id + 100, greatest(amount - 3, -1), lower(status) FROM orders ON CONFLICT DO NOTHING;
WITH i AS (INSERT INTO orders (id, amount, status) VALUES (100, abs(-5), lower('OPEN')) RETURNING id) SELECT * FROM i;

-- DEFAULT VALUES: the presets are filled in, every other column is the
-- database's default.
-- diverges without defaults: NOT NULL fails (23502) before the appended check; PostgreSQL checks RLS first (42501)
INSERT INTO orders DEFAULT VALUES;
INSERT INTO orders DEFAULT VALUES ON CONFLICT DO NOTHING;
INSERT INTO users DEFAULT VALUES RETURNING tenant_id;
INSERT INTO currencies DEFAULT VALUES RETURNING *;
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open') ON CONFLICT (id) DO UPDATE SET owner = DEFAULT RETURNING owner;
INSERT INTO orders (id, owner, amount, status) VALUES (100, DEFAULT, 5, 'open') RETURNING owner, tenant_id;
