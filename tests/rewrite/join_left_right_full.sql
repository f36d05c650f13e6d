-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM users u LEFT JOIN orders o ON o.owner = u.id RIGHT JOIN memberships m ON m.user_id = u.id FULL OUTER JOIN projects p ON p.org_id = m.org_id
