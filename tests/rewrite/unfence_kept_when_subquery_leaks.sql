-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.owner AND length(u.name) > 3)
