-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "enterprise"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT id FROM orders
