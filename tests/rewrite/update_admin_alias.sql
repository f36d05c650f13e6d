-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
UPDATE orders AS o SET status = 'paid' WHERE o.amount > 10
