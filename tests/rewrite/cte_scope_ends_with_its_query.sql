-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM (WITH orders AS (SELECT 1 AS id) SELECT * FROM orders) AS x, orders
