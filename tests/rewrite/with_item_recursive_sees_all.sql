-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH RECURSIVE d AS (DELETE FROM orders WHERE id IN (SELECT id FROM s) RETURNING id), s AS (SELECT id FROM orders WHERE amount > 5) SELECT * FROM d
