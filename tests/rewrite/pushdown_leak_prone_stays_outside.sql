-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT o.id FROM orders o WHERE o.status = 'open' AND 1 / (o.amount - 3) > 0 AND lower(o.note) = 'x'
