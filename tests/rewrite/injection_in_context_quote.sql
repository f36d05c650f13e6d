-- policies: policies/saas
-- context: {"tenant": {"id": "x' OR '1'='1", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM orders
