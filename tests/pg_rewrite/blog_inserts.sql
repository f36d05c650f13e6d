-- INSERT corpus for policies/blog (see corpus.rs and inserts.rs): presets
-- for the site and the author, `exists` checks through posts, an open table.
-- policies: policies/blog
-- context: {"tenant": {"id": "site1"}, "request": {"user": "alice", "roles": []}}
-- context: {"tenant": {"id": "site1"}, "request": {"user": "", "roles": []}}
-- context: {"tenant": {"id": "site2"}, "request": {"user": "bob", "roles": ["editor"]}}
-- context: {"tenant": {"id": "site1"}, "request": {"user": "mod", "roles": ["moderator", "banned"]}}
-- tenants: site1 | site2
-- users: alice | bob | mod | 
-- words: rust | sql | hello world | hello-world | It's | draft | News | Ünï | x
-- setup: DELETE FROM posts a USING posts b WHERE a.id = b.id AND a.ctid > b.ctid
-- setup: ALTER TABLE posts ADD CONSTRAINT posts_pkey PRIMARY KEY (id)

INSERT INTO posts (id, slug, title, body, published) VALUES (100, 'new-post', 'New', 'text', false);
INSERT INTO posts (id, slug, title, body, published) VALUES (100, 'New Post', 'New', 'text', false);
INSERT INTO posts (id, slug, title, body, published) VALUES (100, 'new-post', 'New', 'text', true) RETURNING id, author;
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (100, 'p', 'T', 'b', true, '2026-01-01T00:00:00Z');
INSERT INTO posts (id, author, slug, title, body, published) VALUES (100, 'bob', 'new-post', 'New', 'text', false);
INSERT INTO posts (id, slug, title, body, published) SELECT id + 100, slug, title, body, published FROM posts;
INSERT INTO posts (id, slug, title, body, published) VALUES (100, lower('ABC'), 'New', 'text', 1 = 1);
INSERT INTO comments (id, post_id, body, hidden) VALUES (100, 1, 'nice', false);
INSERT INTO comments (id, post_id, body, hidden) VALUES (100, 2, 'nice', false), (101, 3, '', false);
INSERT INTO comments (id, post_id, body, hidden) SELECT 100 + id, id, 'me too', false FROM posts;
INSERT INTO comments (id, post_id, body, hidden) VALUES (100, 1, 'nice', false) RETURNING *;
INSERT INTO post_tags (post_id, tag) VALUES (1, 'rust');
INSERT INTO post_tags (post_id, tag) SELECT id, 'sql' FROM posts WHERE published;
INSERT INTO tags (name) VALUES ('new');
INSERT INTO posts (id, slug, title, body, published) VALUES (1, 'x', 'X', 'b', false) ON CONFLICT (id) DO NOTHING;
INSERT INTO posts (id, slug, title, body, published) VALUES (1, 'x', 'X', 'b', false) ON CONFLICT (id) DO UPDATE SET title = excluded.title;
INSERT INTO posts (id, slug, title, body, published) VALUES (2, 'x', 'X', 'b', false) ON CONFLICT ON CONSTRAINT posts_pkey DO UPDATE SET published = true RETURNING id, published;
INSERT INTO posts (id, slug, title, body, published) VALUES (3, 'x' || 'y', 'X', 'b', false) ON CONFLICT (id) DO UPDATE SET slug = 'Bad Slug';
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (1, 'x', 'X', 'b', false, NULL) ON CONFLICT (id) DO NOTHING;
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (1, 'x' || '', 'X', 'b', 1 = 1, NULL) ON CONFLICT (id) DO NOTHING;
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (1, 'x', 'X', 'b', false, NULL) ON CONFLICT (id) DO UPDATE SET title = excluded.title;
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (2, 'x', 'X', 'b', false, NULL) ON CONFLICT ON CONSTRAINT posts_pkey DO UPDATE SET published = true RETURNING id, published;
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (3, 'x' || 'y', 'X', 'b', false, NULL) ON CONFLICT (id) DO UPDATE SET slug = 'Bad Slug';
INSERT INTO posts (id, slug, title, body, published, published_at) VALUES (4, 'x' || 'y', 'X', 'b', false, NULL) ON CONFLICT (id) DO UPDATE SET body = posts.body || '!';
