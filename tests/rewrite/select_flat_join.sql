-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: postgres
-- Leakproof conditions, inner joins only: every policy AND-ed into the WHERE,
-- tables left in place (the flat form).
SELECT p.name, m.org_id FROM projects p JOIN memberships m ON m.org_id = p.org_id, orders WHERE p.archived = false OR orders.amount > 10
