-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT o.id, u.name FROM orders o JOIN users u ON u.id = o.owner WHERE o.amount > 990 AND u.name = 'ann' AND o.status <> u.name AND amount < 2000
