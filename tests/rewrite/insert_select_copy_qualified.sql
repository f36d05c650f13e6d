-- policies: tests/rewrite/guard_copies.policy
-- context: {"tenant": {"id": "t"}}
-- dialect: postgres
INSERT INTO a (id, k) SELECT id + 100, k + 1 FROM b ON CONFLICT (id) DO NOTHING
