-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO orders (id, amount, status) SELECT id + 100, amount, status FROM orders WHERE amount > 3
