-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
WITH s AS (SELECT id, amount FROM orders) INSERT INTO orders (id, amount, status) SELECT id + 100, amount, 'open' FROM s
