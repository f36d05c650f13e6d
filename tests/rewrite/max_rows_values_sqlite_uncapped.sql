-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "free"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
-- SQLite takes no LIMIT after a bare VALUES list, and the list reads no table:
-- left as written (found by the rewrite fuzz target, fuzz/regressions/rewrite/).
VALUES (1, 'a'), (2, 'b')
