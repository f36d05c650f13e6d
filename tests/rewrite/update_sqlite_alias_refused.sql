-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
UPDATE orders AS o SET amount = 1
