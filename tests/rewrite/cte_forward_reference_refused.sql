-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS id) SELECT * FROM a
