-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT o.id FROM orders o, users u WHERE tenant_id = 'acme' AND amount > 5 AND email = 'x'
