-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH i AS (INSERT INTO orders (id, owner, amount, status) SELECT id + 100, owner, amount, 'open' FROM orders RETURNING id) SELECT count(*) FROM i
