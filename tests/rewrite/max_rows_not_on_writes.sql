-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
UPDATE orders SET note = 'x' WHERE id = 1 RETURNING id
