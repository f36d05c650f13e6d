-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
INSERT INTO currencies (code, name, minor_units) SELECT 'EUR', 'Euro', 2 RETURNING *
