-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": []}}
-- dialect: postgres
SELECT * FROM orders
