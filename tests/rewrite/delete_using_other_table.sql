-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
DELETE FROM orders o USING users u WHERE o.owner = u.id AND u.email LIKE '%@old'
