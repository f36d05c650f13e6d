-- policies: policies/saas
-- context: {"tenant": {"id": "x' OR '1'='1", "plan": "pro"}, "request": {"user": "bob'); DROP TABLE orders; --", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO orders (id, amount, status) VALUES (1, 5 + 0, 'open')
