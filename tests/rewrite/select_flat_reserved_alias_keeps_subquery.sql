-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
-- A reference named like the policies' own `exists` tables keeps the
-- subquery form, where its policy names the table itself.
SELECT name FROM projects AS rampart_e1 WHERE archived = false
