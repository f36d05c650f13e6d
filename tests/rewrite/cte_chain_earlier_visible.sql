-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a) SELECT * FROM b
