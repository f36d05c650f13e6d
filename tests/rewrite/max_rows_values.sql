-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
VALUES (1), (2)
