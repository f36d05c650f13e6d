-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT id FROM orders ORDER BY id LIMIT 10 OFFSET 5
