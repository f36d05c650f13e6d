-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.owner = u.id)
