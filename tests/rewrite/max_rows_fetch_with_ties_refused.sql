-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT id FROM orders ORDER BY amount FETCH FIRST 5 ROWS WITH TIES
