-- policies: policies/saas
-- context: {"tenant": {"id": "x' OR '1'='1", "plan": "pro"}, "request": {"user": "bob\"; DROP TABLE orders; --", "roles": ["member"]}}
-- dialect: sqlite
INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open')
