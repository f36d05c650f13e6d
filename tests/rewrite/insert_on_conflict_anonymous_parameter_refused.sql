-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
INSERT INTO orders (id, amount, status) VALUES (?, ?, 'open') ON CONFLICT (id) DO NOTHING
