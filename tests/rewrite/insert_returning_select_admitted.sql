-- policies: tests/rewrite/insert_cells.policy
-- context: {"tenant": {"id": "acme"}, "request": {"user": "bob", "roles": []}}
-- dialect: postgres
INSERT INTO t (id, amount) VALUES (1, 5) RETURNING *
