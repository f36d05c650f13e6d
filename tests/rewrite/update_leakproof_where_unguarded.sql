-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
UPDATE orders SET note = 'x' WHERE status = 'open' AND amount > 900
