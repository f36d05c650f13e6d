-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH d AS (DELETE FROM orders WHERE status = 'cancelled' RETURNING id, owner, amount) INSERT INTO orders (id, owner, amount, status) SELECT id + 1000, owner, amount, 'open' FROM d RETURNING id
