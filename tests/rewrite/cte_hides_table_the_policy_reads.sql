-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH memberships AS (SELECT 'bob' AS user_id, 1 AS org_id, 'acme' AS tenant_id) SELECT * FROM projects
