-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH i AS (INSERT INTO orders (id, owner, amount) SELECT id + 100, owner, amount FROM orders) SELECT 1
