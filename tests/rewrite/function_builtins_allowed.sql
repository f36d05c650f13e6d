-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT pg_catalog.lower(status), COALESCE(note, upper(status)), count(*) OVER () FROM orders
