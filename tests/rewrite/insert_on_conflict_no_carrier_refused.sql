-- policies: tests/rewrite/insert_cells.policy
-- context: {"tenant": {"id": "acme"}, "request": {"user": "bob", "roles": []}}
-- dialect: postgres
INSERT INTO e (id, amount) VALUES ('1', 2 + 3), ('2', '3') ON CONFLICT (id) DO NOTHING
