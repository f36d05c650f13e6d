-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
-- The projects policy's `exists` names memberships `rampart_e<n>`: a target
-- aliased so would be read from inside it (every org would match).
UPDATE projects AS rampart_e3 SET name = 'x' WHERE id = 3
