-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM orders o JOIN users u ON u.id = o.owner FOR SHARE OF u
