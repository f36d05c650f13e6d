-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH i AS (INSERT INTO orders (id, amount, status) SELECT id + 100, amount, 'open' FROM orders) SELECT 1
