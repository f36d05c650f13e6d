-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO orders (id, amount, status) SELECT id, amount, status FROM orders ORDER BY id LIMIT 2 ON CONFLICT (id) DO NOTHING
