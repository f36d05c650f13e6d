-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH i AS (INSERT INTO orders (id, owner, amount, status) VALUES (7, 'ann', 5, 'open') RETURNING id, tenant_id) SELECT * FROM i
