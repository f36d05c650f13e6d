-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH big AS (SELECT * FROM orders WHERE amount > 100) SELECT * FROM big
