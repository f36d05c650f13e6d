-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH s AS (SELECT id FROM users) DELETE FROM orders USING s WHERE s.id = orders.owner RETURNING orders.id
