-- policies: tests/rewrite/insert_cells.policy
-- context: {"tenant": {"id": "acme"}, "request": {"user": "bob", "roles": []}}
-- dialect: postgres
INSERT INTO t AS x (id, amount) VALUES (1, 5) ON CONFLICT ON CONSTRAINT t_pkey DO UPDATE SET amount = x.amount + 1, note = 'again'
