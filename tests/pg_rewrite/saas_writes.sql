-- UPDATE and DELETE corpus for policies/saas (see corpus.rs for the format;
-- run like the INSERT corpora): which rows a write reaches, its new rows'
-- checks (42501 on a bad row, nothing changed), RETURNING and the counts.
-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- context: {"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["member"]}}
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "dan", "roles": []}}
-- context: {"tenant": {"id": "globex", "plan": "pro"}, "request": {"user": "bob", "roles": ["member", "admin"]}}
-- tenants: acme | globex
-- users: bob | ann | eve | dan | O'Brien
-- words: open | paid | shipped | cancelled | EUR | x | it's | Ünï | a b | A

-- UPDATE: rows reached and new rows checked.
UPDATE orders SET note = 'seen';
UPDATE orders SET note = 'seen' WHERE amount > 2;
UPDATE orders SET note = 'seen' WHERE status = 'open' RETURNING id, note;
UPDATE orders SET amount = amount + 1 RETURNING *;
UPDATE orders SET amount = -1 WHERE id = 3;
UPDATE orders SET amount = amount - 100;
UPDATE orders SET status = 'cancelled' WHERE owner = 'bob';
UPDATE orders SET status = 'paid';
UPDATE orders SET status = 'shipped' WHERE status = 'open' RETURNING id, status;
UPDATE orders SET owner = 'ann';
UPDATE orders SET tenant_id = 'globex';
UPDATE orders SET tenant_id = 'acme' WHERE tenant_id = 'acme';
UPDATE orders o SET note = o.status || '!' WHERE o.id IN (SELECT id FROM orders WHERE amount < 4);
UPDATE orders SET note = u.name FROM users u WHERE u.id = orders.owner RETURNING orders.id, orders.note;
UPDATE orders SET amount = (SELECT count(*) FROM users);
UPDATE users SET email = 'x@example.com';
UPDATE users SET tenant_id = 'globex' WHERE id = 'bob';
UPDATE projects SET archived = NOT archived RETURNING id, archived;
UPDATE memberships SET org_id = org_id + 1;
UPDATE currencies SET name = upper(name);
UPDATE public.orders SET note = NULL WHERE note IS NOT NULL;
-- NOT NULL and the UPDATE check both fail: PostgreSQL reports the policy (42501).
UPDATE orders SET amount = NULL;
UPDATE orders SET amount = NULL, note = 'x' WHERE id < 3;
UPDATE orders SET note = 'x', amount = -amount WHERE amount > 0 RETURNING id, amount;

-- Under a WITH of queries: the items read through their policies.
WITH s AS (SELECT id FROM orders WHERE amount > 2) UPDATE orders SET note = 'x' WHERE id IN (SELECT id FROM s) RETURNING id, note;
WITH s AS (SELECT id, name FROM users) UPDATE orders SET note = s.name FROM s WHERE s.id = orders.owner;
WITH s AS (SELECT id FROM users) DELETE FROM orders USING s WHERE s.id = orders.owner RETURNING orders.id;
WITH s AS (SELECT org_id FROM memberships) DELETE FROM projects WHERE org_id IN (SELECT org_id FROM s);
WITH s AS (SELECT id, amount FROM orders) INSERT INTO orders (id, amount, status) SELECT id + 100, amount, 'open' FROM s;
WITH s AS (SELECT id, amount FROM orders) INSERT INTO orders (id, amount, status) SELECT id + 100, amount - 3, 'open' FROM s RETURNING id, owner;

-- DELETE: rows reached.
DELETE FROM orders;
DELETE FROM orders WHERE status = 'open';
DELETE FROM orders WHERE amount > 3 RETURNING id, owner;
DELETE FROM orders o WHERE o.owner IN (SELECT id FROM users);
DELETE FROM orders USING users u WHERE u.id = orders.owner RETURNING orders.id;
DELETE FROM users;
DELETE FROM memberships WHERE org_id < 3 RETURNING *;
DELETE FROM projects WHERE archived;
DELETE FROM currencies;

-- Writes inside WITH items (top level): each reaches the rows its own
-- policies admit, its new rows are checked inside the statement (no
-- RETURNING can be appended to an item), and the rest of the statement
-- reads through its policies as ever.
WITH d AS (DELETE FROM orders WHERE amount > 2 RETURNING id, owner) SELECT * FROM d;
WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d;
WITH d AS (DELETE FROM orders WHERE status = 'open') SELECT count(*) FROM orders;
WITH d AS (DELETE FROM orders RETURNING id) SELECT o.id, o.amount FROM orders o WHERE o.id NOT IN (SELECT id FROM d);
WITH d AS (DELETE FROM memberships WHERE org_id < 3 RETURNING *) SELECT org_id FROM d ORDER BY org_id;
WITH d AS (DELETE FROM orders USING users u WHERE u.id = orders.owner RETURNING orders.id) SELECT * FROM d;
WITH s AS (SELECT id FROM users), d AS (DELETE FROM orders WHERE owner IN (SELECT id FROM s) RETURNING id) SELECT * FROM d;
WITH d AS (DELETE FROM orders RETURNING *) INSERT INTO orders SELECT * FROM d;
WITH d AS (DELETE FROM orders WHERE amount > 3 RETURNING id, amount) UPDATE orders SET note = 'survivor' WHERE id NOT IN (SELECT id FROM d) RETURNING id;
WITH RECURSIVE d AS (DELETE FROM projects WHERE archived RETURNING id) SELECT count(*) FROM d;
WITH u AS (UPDATE orders SET note = 'seen' RETURNING id, note) SELECT * FROM u;
WITH u AS (UPDATE orders SET amount = amount + 1 RETURNING *) SELECT id, amount FROM u;
WITH u AS (UPDATE orders SET amount = -1 WHERE id = 3 RETURNING id) SELECT * FROM u;
WITH u AS (UPDATE orders SET amount = amount - 100) SELECT count(*) FROM orders;
WITH u AS (UPDATE orders SET status = 'paid' RETURNING id) SELECT count(*) FROM u;
WITH u AS (UPDATE orders SET owner = 'ann' RETURNING id) SELECT * FROM u;
WITH u AS (UPDATE orders SET tenant_id = 'globex' RETURNING id) SELECT * FROM u;
WITH u AS (UPDATE orders SET note = u2.name FROM users u2 WHERE u2.id = orders.owner RETURNING orders.id, orders.note) SELECT * FROM u;
WITH u AS (UPDATE orders SET amount = NULL RETURNING id) SELECT * FROM u;
WITH u AS (UPDATE projects SET archived = NOT archived RETURNING id, archived) SELECT * FROM u;
WITH u AS (UPDATE orders SET note = 'x' WHERE amount > 2 RETURNING id), d AS (DELETE FROM orders WHERE id IN (SELECT id FROM u) RETURNING id) SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM d);
WITH i AS (INSERT INTO orders (id, owner, amount, status) VALUES (50, 'bob', 5, 'open') RETURNING id, tenant_id) SELECT * FROM i;
WITH i AS (INSERT INTO orders (id, owner, amount, status) VALUES (51, 'ann', 5, 'open') RETURNING id) SELECT * FROM i;
WITH i AS (INSERT INTO orders (id, owner, amount, status) VALUES (52, 'bob', -5, 'open')) SELECT 1;
WITH i AS (INSERT INTO orders (id, owner, amount, status) SELECT id + 100, owner, amount, status FROM orders RETURNING id) SELECT count(*) FROM i;
WITH i AS (INSERT INTO orders (id, owner, amount, status) SELECT id + 100, owner, amount - 3, 'open' FROM orders RETURNING id) SELECT count(*) FROM i;
WITH d AS (DELETE FROM orders WHERE amount < 4 RETURNING id, owner, amount, status) INSERT INTO orders (id, owner, amount, status) SELECT id + 200, owner, amount, 'open' FROM d RETURNING id, owner;
WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d LIMIT 1;
-- Refused: not at the top level (PostgreSQL: 0A000), or rows that would
-- need appended checks.
SELECT * FROM (WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d) s;
WITH u AS (UPDATE orders SET amount = (SELECT count(*) FROM users) RETURNING id) SELECT * FROM u;
WITH RECURSIVE d AS (DELETE FROM orders WHERE id IN (SELECT id FROM s) RETURNING id), s AS (SELECT id FROM orders WHERE amount > 5) SELECT * FROM d;
WITH i AS (INSERT INTO orders (id, owner, amount) SELECT id + 100, owner, amount FROM orders) SELECT 1;
WITH u AS (UPDATE orders SET amount = 2 RETURNING id), v AS (UPDATE orders SET amount = 3 WHERE id IN (SELECT id FROM u) RETURNING id) SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM v);
-- Values the policies read computed by stable built-ins: guarded.
WITH u AS (UPDATE orders SET amount = abs(amount) - 3, status = lower('PAID') RETURNING id, amount) SELECT * FROM u;
WITH u AS (UPDATE orders SET status = lower(upper(status)) RETURNING id, status) SELECT * FROM u;
WITH u AS (UPDATE orders SET amount = round(amount * 1.5) RETURNING id, amount) SELECT * FROM u;
UPDATE orders SET amount = NULL, note = upper(note) WHERE id < 3;
-- Column references qualified by schema.
UPDATE public.orders SET note = 'x' WHERE public.orders.amount > 3 RETURNING public.orders.id;
DELETE FROM public.orders WHERE public.orders.status = 'open' RETURNING public.orders.id, public.orders.owner;
-- `DEFAULT` for a preset column assigns the preset (the column's default
-- in the native DDL).
UPDATE orders SET owner = DEFAULT WHERE id < 4 RETURNING id, owner;
UPDATE orders SET tenant_id = DEFAULT, note = DEFAULT RETURNING tenant_id, note;
WITH u AS (UPDATE orders SET owner = DEFAULT RETURNING id, owner) SELECT * FROM u;
