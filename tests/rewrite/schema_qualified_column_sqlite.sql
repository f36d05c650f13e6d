-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: sqlite
SELECT main.orders.id, main.orders.amount FROM main.orders WHERE main.orders.amount > 2 ORDER BY main.orders.id
