-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT o.id FROM orders o JOIN currencies c ON c.code = o.note WHERE o.amount = 5 AND minor_units = 2
