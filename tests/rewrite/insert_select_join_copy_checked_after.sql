-- policies: tests/rewrite/guard_copies.policy
-- context: {"tenant": {"id": "t"}}
-- dialect: postgres
INSERT INTO a (id, k) SELECT b.id + 100, k FROM b JOIN a USING (id)
