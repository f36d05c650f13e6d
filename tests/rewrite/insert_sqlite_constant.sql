-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
INSERT INTO orders (id, amount, status, created) VALUES (1, 5, 'open', 1700000000000000)
