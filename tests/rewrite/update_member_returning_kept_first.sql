-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
UPDATE orders SET amount = amount + 1 RETURNING id, amount
