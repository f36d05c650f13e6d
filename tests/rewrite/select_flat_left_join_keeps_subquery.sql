-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
-- An outer join keeps the subquery form: a policy in the WHERE would drop
-- the rows the join keeps without a match.
SELECT u.name, m.org_id FROM users u LEFT JOIN memberships m ON m.user_id = u.id WHERE u.id = 'bob'
