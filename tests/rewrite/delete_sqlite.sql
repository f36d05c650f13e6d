-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: sqlite
DELETE FROM orders WHERE rampart_div(100, amount) > 1 RETURNING id
