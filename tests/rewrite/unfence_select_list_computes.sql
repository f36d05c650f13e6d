-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: sqlite
SELECT 100 / amount FROM orders WHERE status = 'open' ORDER BY lower(status)
