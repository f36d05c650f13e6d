-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
UPDATE invoices SET paid = true
