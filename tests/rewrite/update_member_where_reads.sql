-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
UPDATE orders SET status = 'cancelled' WHERE id = 3
