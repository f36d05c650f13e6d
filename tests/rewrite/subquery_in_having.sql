-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
SELECT owner, count(*) FROM orders GROUP BY owner HAVING count(*) > (SELECT count(*) FROM users)
