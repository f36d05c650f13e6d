-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
UPDATE pg_catalog.pg_class SET relname = 'x'
