-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH u AS (UPDATE orders SET amount = (SELECT count(*) FROM users) RETURNING id) SELECT * FROM u
