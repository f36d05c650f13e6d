-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
UPDATE OR REPLACE orders SET id = 1
