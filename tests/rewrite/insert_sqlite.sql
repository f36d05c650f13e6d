-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
INSERT INTO orders (id, amount, status) VALUES (1, rampart_add(2, 3), 'open') RETURNING id
