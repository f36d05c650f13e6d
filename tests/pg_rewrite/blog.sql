-- Hand-written corpus for policies/blog (see corpus.rs for the format):
-- public reads, drafts, `exists` policies through posts, an open table.
-- policies: policies/blog
-- context: {"tenant": {"id": "site1"}, "request": {"user": "alice", "roles": []}}
-- context: {"tenant": {"id": "site1"}, "request": {"user": "", "roles": []}}
-- context: {"tenant": {"id": "site2"}, "request": {"user": "bob", "roles": ["editor"]}}
-- context: {"tenant": {"id": "site1"}, "request": {"user": "mod", "roles": ["moderator", "banned"]}}
-- context: {"tenant": {"id": "site3"}, "request": {"user": "alice", "roles": ["editor"]}}
-- tenants: site1 | site2
-- users: alice | bob | mod | 
-- words: rust | sql | hello world | hello-world | It's | draft | News | Ünï | x

-- Single tables.
SELECT * FROM posts;
SELECT * FROM comments;
SELECT * FROM post_tags;
SELECT * FROM tags;
SELECT id, title FROM posts WHERE published;
SELECT id FROM posts WHERE NOT published AND author = 'alice';
SELECT count(*) FROM posts WHERE published_at IS NOT NULL;
SELECT * FROM comments WHERE hidden;
SELECT "slug" FROM "posts" WHERE "published" IS TRUE;
SELECT Id, Title FROM Posts;
SELECT * FROM public.post_tags t;

-- Joins.
SELECT p.id, c.id FROM posts p JOIN comments c ON c.post_id = p.id;
SELECT p.id, c.body FROM posts p LEFT JOIN comments c ON c.post_id = p.id;
SELECT p.id, c.body FROM posts p RIGHT JOIN comments c ON c.post_id = p.id;
SELECT p.id, t.tag FROM posts p FULL JOIN post_tags t ON t.post_id = p.id;
SELECT p.title, t.tag, g.description FROM posts p JOIN post_tags t ON t.post_id = p.id LEFT JOIN tags g ON g.name = t.tag;
SELECT c1.id, c2.id FROM comments c1 JOIN comments c2 ON c1.post_id = c2.post_id AND c1.id < c2.id;
SELECT p.id, g.name FROM posts p CROSS JOIN tags g;
SELECT * FROM posts p, comments c WHERE c.post_id = p.id AND c.author = p.author;
SELECT * FROM post_tags JOIN posts ON posts.id = post_tags.post_id;
SELECT * FROM comments NATURAL JOIN post_tags;

-- Subqueries.
SELECT id FROM posts WHERE id IN (SELECT post_id FROM comments);
SELECT id FROM posts p WHERE EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.tag = 'rust');
SELECT id FROM posts p WHERE NOT EXISTS (SELECT 1 FROM comments c WHERE c.post_id = p.id);
SELECT p.id, (SELECT count(*) FROM comments c WHERE c.post_id = p.id) AS n FROM posts p;
SELECT author, count(*) FROM posts GROUP BY author HAVING count(*) > (SELECT count(*) FROM tags WHERE description IS NULL);
SELECT x.tag, x.n FROM (SELECT tag, count(*) AS n FROM post_tags GROUP BY tag) x;
SELECT name FROM tags WHERE name IN (SELECT tag FROM post_tags);

-- WITH and set operations.
WITH visible AS (SELECT id, author FROM posts) SELECT v.author, count(c.id) FROM visible v LEFT JOIN comments c ON c.post_id = v.id GROUP BY v.author;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < (SELECT count(*) FROM comments)) SELECT count(*) FROM n;
WITH posts AS (SELECT 1 AS id) SELECT * FROM comments;
WITH p AS (SELECT * FROM posts) SELECT * FROM p WHERE p.published;
SELECT author FROM posts UNION SELECT author FROM comments;
SELECT author FROM posts INTERSECT SELECT author FROM comments;
SELECT post_id FROM comments EXCEPT SELECT post_id FROM post_tags;
SELECT tag FROM post_tags UNION ALL SELECT name FROM tags;

-- LATERAL, windows, aggregates, ordering, locking.
SELECT p.id, c.body FROM posts p CROSS JOIN LATERAL (SELECT body FROM comments c WHERE c.post_id = p.id) c;
SELECT id, author, row_number() OVER (PARTITION BY author ORDER BY id, slug, title, body) FROM posts;
SELECT post_id, count(*) OVER (PARTITION BY post_id) FROM comments;
SELECT author, bool_or(published), count(*) FROM posts GROUP BY author;
SELECT DISTINCT author FROM comments;
-- ordered
SELECT id, slug FROM posts ORDER BY id, slug, title, body, author DESC LIMIT 3;
-- ordered
SELECT tag, count(*) FROM post_tags GROUP BY tag ORDER BY count(*) DESC, tag;
SELECT * FROM posts FOR UPDATE;
SELECT * FROM comments FOR SHARE;
SELECT * FROM post_tags FOR UPDATE;
SELECT c.id FROM comments c JOIN posts p ON p.id = c.post_id FOR UPDATE OF c;
SELECT c.id FROM comments c JOIN posts p ON p.id = c.post_id FOR SHARE OF p;
SELECT * FROM tags FOR UPDATE;
SELECT id, upper(title), length(body), published_at IS NULL FROM posts;
SELECT slug FROM posts WHERE slug LIKE 'hello%' OR title ILIKE '%it''s%';
