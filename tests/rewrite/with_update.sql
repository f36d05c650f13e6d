-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH s AS (SELECT id FROM orders WHERE amount > 2) UPDATE orders SET note = 'x' WHERE id IN (SELECT id FROM s) RETURNING id
