-- policies: tests/rewrite/insert_cells.policy
-- context: {"tenant": {"id": "acme"}, "request": {"user": "bob", "roles": []}}
-- dialect: postgres
INSERT INTO t (id, owner, amount) VALUES (1, 'eve', 5)
