-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
INSERT OR IGNORE INTO orders (id, amount, status) VALUES (1, 5, 'open')
