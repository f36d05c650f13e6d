-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "'; DROP TABLE orders; --", "roles": ["member"]}}
-- dialect: sqlite
SELECT * FROM orders
