-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM (users u JOIN orders o ON o.owner = u.id) AS j
