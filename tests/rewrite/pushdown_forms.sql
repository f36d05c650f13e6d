-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT id FROM orders WHERE (status IN ('open', 'paid') OR note IS NULL) AND NOT amount BETWEEN -5 AND 5 AND created >= '2024-01-01' AND id <> $1
