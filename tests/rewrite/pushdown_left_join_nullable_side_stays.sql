-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT u.id, o.id FROM users u LEFT JOIN orders o ON o.owner = u.id WHERE o.status = 'open' AND u.email IS NOT NULL
