-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT u.id, x.n FROM users u, LATERAL (SELECT count(*) AS n FROM orders o WHERE o.owner = u.id) AS x
