-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.owner = u.id AND o.status = 'open')
