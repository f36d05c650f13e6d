-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH u AS (UPDATE orders SET amount = amount + 1 WHERE status = 'open' RETURNING id, amount) SELECT * FROM u
