-- UPDATE and DELETE corpus for policies/blog (see corpus.rs for the format;
-- run like the INSERT corpora): per-command policies, `exists` through
-- posts, an UPDATE denied by `using false`, an open table.
-- policies: policies/blog
-- context: {"tenant": {"id": "site1"}, "request": {"user": "alice", "roles": []}}
-- context: {"tenant": {"id": "site1"}, "request": {"user": "", "roles": []}}
-- context: {"tenant": {"id": "site2"}, "request": {"user": "bob", "roles": ["editor"]}}
-- context: {"tenant": {"id": "site1"}, "request": {"user": "mod", "roles": ["moderator", "banned"]}}
-- tenants: site1 | site2
-- users: alice | bob | mod | 
-- words: rust | sql | hello world | hello-world | It's | draft | News | Ünï | x

UPDATE posts SET title = upper(title);
UPDATE posts SET published = NOT published RETURNING id, published;
UPDATE posts SET slug = 'Bad Slug';
UPDATE posts SET slug = 'good-slug' WHERE NOT published;
UPDATE posts SET author = 'bob';
UPDATE posts SET body = body || '!' WHERE id IN (SELECT post_id FROM comments) RETURNING *;
UPDATE comments SET hidden = true;
UPDATE comments SET hidden = false RETURNING id, author;
UPDATE comments SET body = 'edited' WHERE post_id IN (SELECT id FROM posts WHERE published);
UPDATE comments SET author = 'alice';
UPDATE post_tags SET tag = 'x';
UPDATE tags SET description = NULL;
DELETE FROM posts;
DELETE FROM posts WHERE published RETURNING id;
DELETE FROM comments WHERE hidden;
DELETE FROM comments RETURNING *;
DELETE FROM post_tags;
DELETE FROM post_tags WHERE tag = 'rust' RETURNING post_id;
DELETE FROM tags WHERE name = 'x';

-- Writes inside WITH items.
WITH d AS (DELETE FROM comments WHERE hidden RETURNING id, post_id) SELECT count(*) FROM d;
WITH d AS (DELETE FROM comments RETURNING post_id) SELECT p.id, p.title FROM posts p WHERE p.id IN (SELECT post_id FROM d);
WITH u AS (UPDATE posts SET slug = 'Bad Slug' RETURNING id) SELECT * FROM u;
WITH u AS (UPDATE posts SET slug = 'good-slug' WHERE NOT published RETURNING id, slug) SELECT * FROM u;
WITH u AS (UPDATE posts SET author = 'bob' RETURNING id) SELECT count(*) FROM u;
WITH u AS (UPDATE comments SET hidden = true RETURNING id) SELECT count(*) FROM u;
WITH u AS (UPDATE comments SET author = 'alice' RETURNING id, author) SELECT * FROM u;
WITH u AS (UPDATE post_tags SET tag = 'x' RETURNING post_id) SELECT count(*) FROM u;
WITH d AS (DELETE FROM post_tags WHERE tag = 'rust' RETURNING post_id, tag) INSERT INTO post_tags (post_id, tag) SELECT post_id, 'sql' FROM d;
WITH u AS (UPDATE posts SET published = NOT published RETURNING id), d AS (DELETE FROM comments WHERE post_id IN (SELECT id FROM u)) SELECT count(*) FROM u;
