-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH users AS (DELETE FROM orders RETURNING owner AS id) SELECT * FROM users
