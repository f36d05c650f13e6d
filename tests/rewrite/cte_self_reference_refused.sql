-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH orders AS (SELECT * FROM orders WHERE amount > 5) SELECT * FROM orders
