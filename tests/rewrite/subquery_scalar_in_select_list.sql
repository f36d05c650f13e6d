-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT u.id, (SELECT sum(amount) FROM orders o WHERE o.owner = u.id) AS total FROM users u
