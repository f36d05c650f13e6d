-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT id FROM orders UNION (SELECT org_id FROM projects LIMIT 5000) ORDER BY 1
