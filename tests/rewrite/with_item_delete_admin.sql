-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
WITH gone AS (DELETE FROM orders WHERE amount > 10 RETURNING id, owner) SELECT g.owner, count(*) FROM gone g GROUP BY g.owner
