-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open'), (2, -5, 'open')
