-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT user_id FROM memberships INTERSECT SELECT id FROM users EXCEPT SELECT owner FROM orders
