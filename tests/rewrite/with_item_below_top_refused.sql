-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
SELECT * FROM (WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d) s
