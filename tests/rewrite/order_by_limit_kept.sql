-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT id FROM orders ORDER BY (SELECT max(amount) FROM orders) DESC LIMIT 5 OFFSET 2
