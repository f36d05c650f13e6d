-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
UPDATE orders SET amount = rampart_div(amount, 2) WHERE amount > 0 RETURNING id
