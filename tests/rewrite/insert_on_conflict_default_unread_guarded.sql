-- policies: tests/rewrite/guard_copies.policy
-- context: {"tenant": {"id": "t"}}
-- dialect: postgres
INSERT INTO a (id, k) VALUES (DEFAULT, 3), (1, 2) ON CONFLICT (id) DO UPDATE SET k = excluded.k
