-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT id FROM orders LIMIT 2 * (SELECT count(*) FROM users)
