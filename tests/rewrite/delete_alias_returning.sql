-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
DELETE FROM orders AS o WHERE o.status = 'paid' RETURNING o.id
