-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO orders (id, amount, status) SELECT 1, 2, 'open' UNION SELECT 2, 3, 'open'
