-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
SELECT ifnull(note, 'none'), strftime('%Y', created), group_concat(status) FROM orders
