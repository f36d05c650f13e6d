-- policies: policies/saas
-- context: {"tenant": {"id": "ac\u0000me", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT * FROM orders
