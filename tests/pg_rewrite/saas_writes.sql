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
