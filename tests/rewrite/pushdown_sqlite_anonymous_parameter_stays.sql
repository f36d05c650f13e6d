-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: sqlite
SELECT id FROM orders WHERE status = 'open' AND amount > ?
