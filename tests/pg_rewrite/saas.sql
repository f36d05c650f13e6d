-- Hand-written corpus for policies/saas (see corpus.rs for the format).
-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- context: {"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["member"]}}
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "dan", "roles": []}}
-- context: {"tenant": {"id": "globex", "plan": "pro"}, "request": {"user": "bob", "roles": ["member", "admin"]}}
-- context: {"tenant": {"id": "initech", "plan": "free"}, "request": {"user": "ann", "roles": ["admin"]}}
-- tenants: acme | globex
-- users: bob | ann | eve | dan | O'Brien
-- words: open | paid | shipped | cancelled | EUR | x | it's | Ünï | a b | A

-- Single tables.
SELECT * FROM orders;
SELECT * FROM users;
SELECT * FROM memberships;
SELECT * FROM projects;
SELECT * FROM currencies;
SELECT id, amount FROM orders WHERE amount > 3;
SELECT count(*) FROM orders WHERE note IS NULL;
SELECT o.* FROM orders o WHERE o.status IN ('open', 'paid');
SELECT orders.id, orders.owner FROM orders WHERE orders.owner = 'bob';
SELECT * FROM public.orders;
SELECT "id", "amount" FROM "orders";
SELECT ID, Amount FROM ORDERS;
SELECT O.Id FROM Orders AS O WHERE O.Amount >= 2;
SELECT "ID" FROM orders;
SELECT * FROM "Orders";
SELECT * FROM public."orders" o;

-- Joins of every kind.
SELECT u.id, o.id FROM users u JOIN orders o ON o.owner = u.id;
SELECT u.id, o.id FROM users u INNER JOIN orders o ON o.owner = u.id AND o.tenant_id = u.tenant_id;
SELECT u.id, o.id FROM users u LEFT JOIN orders o ON o.owner = u.id;
SELECT u.id, o.id FROM users u RIGHT JOIN orders o ON o.owner = u.id;
SELECT u.id, o.id FROM users u FULL JOIN orders o ON o.owner = u.id;
SELECT u.id, o.id FROM users u LEFT OUTER JOIN orders o ON o.owner = u.id WHERE o.id IS NULL;
SELECT u.id, p.id FROM users u CROSS JOIN projects p;
SELECT o.id, u.email FROM orders o, users u WHERE o.owner = u.id AND u.tenant_id = o.tenant_id;
SELECT * FROM memberships m JOIN projects p USING (org_id, tenant_id);
SELECT * FROM users NATURAL JOIN memberships;
SELECT * FROM memberships NATURAL LEFT JOIN projects;
SELECT m.user_id, p.name, u.email FROM memberships m JOIN projects p ON p.org_id = m.org_id JOIN users u ON u.id = m.user_id;
SELECT m.user_id, p.name FROM (memberships m JOIN projects p ON p.org_id = m.org_id) LEFT JOIN users u ON u.id = m.user_id WHERE u.id IS NULL;
SELECT c.code, count(o.id) FROM currencies c LEFT JOIN orders o ON o.status = c.code GROUP BY c.code;
SELECT o.id, o2.id FROM orders o JOIN orders o2 ON o.owner = o2.owner AND o.id < o2.id;
SELECT a.id, b.id FROM users a JOIN users b ON a.email = b.email AND a.id <> b.id;
SELECT p1.id, p2.id FROM projects p1 FULL OUTER JOIN projects p2 ON p1.org_id = p2.org_id + 1;
SELECT o.id FROM orders o JOIN users u ON u.id = o.owner JOIN memberships m ON m.user_id = u.id JOIN projects p ON p.org_id = m.org_id;

-- Subqueries: IN, EXISTS, scalar, FROM, HAVING.
SELECT id FROM users WHERE id IN (SELECT owner FROM orders);
SELECT id FROM users WHERE id NOT IN (SELECT owner FROM orders WHERE owner IS NOT NULL);
SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.owner = u.id);
SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.owner = u.id);
SELECT u.id, (SELECT sum(amount) FROM orders o WHERE o.owner = u.id) FROM users u;
SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM projects);
SELECT owner, count(*) FROM orders GROUP BY owner HAVING count(*) >= (SELECT count(*) FROM memberships);
SELECT owner, sum(amount) FROM orders GROUP BY owner HAVING sum(amount) > (SELECT min(org_id) FROM projects);
SELECT t.owner, t.n FROM (SELECT owner, count(*) AS n FROM orders GROUP BY owner) AS t;
SELECT t.owner FROM (SELECT * FROM (SELECT owner FROM orders WHERE amount > 1) AS a) AS t;
SELECT id FROM orders WHERE amount = (SELECT max(amount) FROM orders);
SELECT id FROM orders WHERE amount > ALL (SELECT amount FROM orders WHERE owner = 'ann');
SELECT id FROM orders WHERE amount = ANY (SELECT org_id FROM projects);
SELECT p.id FROM projects p WHERE p.org_id IN (SELECT m.org_id FROM memberships m WHERE m.user_id IN (SELECT id FROM users));
SELECT id, EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id) FROM users;

-- WITH, recursive included.
WITH big AS (SELECT * FROM orders WHERE amount > 2) SELECT count(*) FROM big;
WITH orders AS (SELECT 1 AS id) SELECT id FROM orders;
WITH a AS (SELECT owner FROM orders), b AS (SELECT * FROM a JOIN users ON users.id = a.owner) SELECT count(*) FROM b;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < (SELECT count(*) FROM orders)) SELECT count(*) FROM r;
WITH RECURSIVE chain(id, depth) AS (SELECT org_id, 0 FROM projects UNION SELECT c.id + 1, c.depth + 1 FROM chain c JOIN projects p ON p.org_id = c.id + 1 WHERE c.depth < 5) SELECT id, max(depth) FROM chain GROUP BY id;
WITH x AS MATERIALIZED (SELECT owner, amount FROM orders) SELECT owner, sum(amount) FROM x GROUP BY owner;
WITH x AS (SELECT id FROM users) SELECT * FROM x WHERE id IN (WITH y AS (SELECT owner FROM orders) SELECT owner FROM y);

-- Set operations.
SELECT owner FROM orders UNION SELECT id FROM users;
SELECT owner FROM orders UNION ALL SELECT user_id FROM memberships;
SELECT owner FROM orders INTERSECT SELECT user_id FROM memberships;
SELECT owner FROM orders INTERSECT ALL SELECT user_id FROM memberships;
SELECT id FROM users EXCEPT SELECT owner FROM orders;
SELECT id FROM users EXCEPT ALL SELECT owner FROM orders;
(SELECT org_id FROM projects UNION SELECT org_id FROM memberships) EXCEPT SELECT amount FROM orders;
SELECT tenant_id FROM users UNION SELECT tenant_id FROM orders UNION SELECT tenant_id FROM projects;
-- ordered
SELECT owner FROM orders UNION SELECT id FROM users ORDER BY 1;

-- LATERAL.
SELECT u.id, x.n FROM users u, LATERAL (SELECT count(*) AS n FROM orders o WHERE o.owner = u.id) AS x;
SELECT u.id, x.id FROM users u LEFT JOIN LATERAL (SELECT o.id FROM orders o WHERE o.owner = u.id ORDER BY o.id LIMIT 1) AS x ON TRUE;
SELECT p.id, l.user_id FROM projects p CROSS JOIN LATERAL (SELECT m.user_id FROM memberships m WHERE m.org_id = p.org_id) l;

-- Grouping, DISTINCT, aggregates.
SELECT DISTINCT status FROM orders;
SELECT DISTINCT ON (owner) owner, amount FROM orders ORDER BY owner, amount DESC, id;
SELECT max(amount), min(amount), count(*), sum(amount), avg(amount) FROM orders;
SELECT status, count(*), count(note), bool_and(amount > 1) FROM orders GROUP BY status;
SELECT owner, status, count(*) FROM orders GROUP BY ROLLUP (owner, status);
SELECT string_agg(id, ',' ORDER BY id) FROM users;
SELECT array_agg(DISTINCT org_id ORDER BY org_id) FROM memberships;
SELECT count(*) FILTER (WHERE amount > 2) FROM orders;
SELECT tenant_id, count(*) FROM orders GROUP BY tenant_id HAVING count(*) > 1;

-- Window functions.
SELECT id, owner, rank() OVER (PARTITION BY owner ORDER BY amount, id) FROM orders;
SELECT id, sum(amount) OVER (ORDER BY id, amount, status ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM orders;
SELECT owner, count(*) OVER () FROM orders;
SELECT org_id, row_number() OVER w FROM projects WINDOW w AS (PARTITION BY org_id ORDER BY id, name, archived);

-- ORDER BY, LIMIT, OFFSET.
-- ordered
SELECT id, amount FROM orders ORDER BY amount DESC, id, owner, status, note, created, tenant_id LIMIT 5;
-- ordered
SELECT id FROM users ORDER BY id;
-- ordered
SELECT DISTINCT owner FROM orders ORDER BY owner DESC NULLS LAST OFFSET 1;
-- ordered
SELECT org_id, count(*) FROM projects GROUP BY org_id ORDER BY org_id LIMIT 3 OFFSET 1;
SELECT count(*) FROM (SELECT * FROM orders ORDER BY id LIMIT 100) t;
-- ordered
SELECT u.id, count(o.id) AS n FROM users u LEFT JOIN orders o ON o.owner = u.id GROUP BY u.id ORDER BY n DESC, u.id FETCH FIRST 3 ROWS ONLY;

-- Locking.
SELECT * FROM orders FOR UPDATE;
SELECT * FROM orders FOR SHARE;
SELECT * FROM users FOR UPDATE;
SELECT o.id FROM orders o JOIN users u ON u.id = o.owner FOR UPDATE OF o;
SELECT o.id FROM orders o JOIN users u ON u.id = o.owner FOR SHARE OF u;
SELECT p.id FROM projects p FOR NO KEY UPDATE;
SELECT id FROM memberships m, projects p WHERE p.org_id = m.org_id FOR KEY SHARE OF p;
SELECT * FROM (SELECT * FROM orders) AS s FOR UPDATE;
SELECT id FROM projects FOR UPDATE SKIP LOCKED;

-- Expressions, VALUES, open tables, casts.
SELECT id, amount * 2 + 1, upper(status), coalesce(note, '-'), created IS NULL FROM orders;
SELECT id, CASE WHEN amount > 3 THEN 'big' ELSE 'small' END FROM orders;
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, s) JOIN orders o ON o.amount = v.n;
SELECT code FROM currencies WHERE code IN (SELECT status FROM orders);
SELECT id::text || '-' || owner FROM orders WHERE amount::float8 > 1.5;
SELECT name FROM projects WHERE archived AND name LIKE '%a%';
SELECT email FROM users WHERE lower(email) ILIKE 'B%';
SELECT 1;
SELECT count(*) FROM orders WHERE created > '2026-01-01T00:00:00Z'::timestamptz;
SELECT ctid, id FROM orders;
SELECT public.orders.id FROM public.orders;
SELECT public.orders.id, public.orders.amount FROM orders WHERE public.orders.amount > 2 AND length(public.orders.owner) > 0;
SELECT public.orders.id FROM orders o;
SELECT o.id FROM public.orders o JOIN public.users ON public.users.id = o.owner WHERE public.users.tenant_id = o.tenant_id;
TABLE orders;
SELECT * FROM ONLY orders;
SELECT * FROM secrets;
SELECT current_setting('rampart.tenant_id');
SELECT * FROM users u WHERE u.id = current_user;
SELECT * FROM pg_catalog.pg_class WHERE relname = 'orders';
