-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT id, amount FROM orders WHERE owner IN (SELECT id FROM users WHERE name = 'user 3')
