-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO orders (id, amount, status) VALUES (1, floor(random() * 10), 'open') ON CONFLICT (id) DO NOTHING
