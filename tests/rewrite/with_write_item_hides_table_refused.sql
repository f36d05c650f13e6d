-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH users AS (SELECT 'bob' AS id) DELETE FROM orders WHERE owner IN (SELECT id FROM users)
