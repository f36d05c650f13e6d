-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: sqlite
WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d
