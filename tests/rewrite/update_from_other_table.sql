-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
UPDATE orders o SET note = u.email FROM users u WHERE u.id = o.owner
