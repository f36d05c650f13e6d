-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH d AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM d
