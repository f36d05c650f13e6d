-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES (1, 'globex', 'ann', 5, 'open')
