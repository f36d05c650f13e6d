-- Hand-written corpus for policies/healthcare (see corpus.rs for the format):
-- `exists` policies through care_team, nullable columns, a schema-qualified table.
-- policies: policies/healthcare
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "drlee", "roles": ["clinician"]}}
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "kim", "roles": ["nurse"]}}
-- context: {"tenant": {"id": "general"}, "request": {"user": "drlee", "roles": ["clinician", "nurse"]}}
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "root", "roles": ["admin"]}}
-- context: {"tenant": {"id": "general"}, "request": {"user": "aud", "roles": ["auditor"]}}
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "kim", "roles": []}}
-- tenants: st-marys | general
-- users: drlee | kim | root | aud
-- words: attending | consultant | nurse | read | update | export | pulse | temperature | O'Neil | Ünï

-- Single tables.
SELECT * FROM patients;
SELECT * FROM care_team;
SELECT * FROM observations;
SELECT * FROM audit.access_log;
SELECT id, name FROM patients WHERE discharged_at IS NULL;
SELECT id FROM patients WHERE weight_kg > 50.0 OR weight_kg IS NULL;
SELECT count(*), count(notes), count(discharged_at) FROM patients;
SELECT a.actor, a.action FROM audit.access_log a WHERE a.action IN ('read', 'export');
SELECT "id", "name" FROM "patients";
SELECT * FROM AUDIT.ACCESS_LOG;
SELECT * FROM "audit"."access_log" l;
SELECT * FROM "Audit".access_log;
SELECT * FROM public.care_team;
SELECT * FROM access_log;
SELECT audit.access_log.actor FROM audit.access_log;
SELECT p.xmin, p.id FROM patients p;

-- Joins.
SELECT p.id, p.name, ct.clinician FROM patients p JOIN care_team ct ON ct.patient_id = p.id;
SELECT p.id, ct.role FROM patients p LEFT JOIN care_team ct ON ct.patient_id = p.id;
SELECT p.id, ct.role FROM patients p RIGHT JOIN care_team ct ON ct.patient_id = p.id;
SELECT p.id, o.kind FROM patients p FULL JOIN observations o ON o.patient_id = p.id;
SELECT p.id, o.kind, o.value FROM patients p JOIN observations o ON o.patient_id = p.id AND o.hospital_id = p.hospital_id;
SELECT o.id, l.id FROM observations o JOIN audit.access_log l ON l.patient_id = o.patient_id;
SELECT p.name, l.actor FROM patients p, audit.access_log l WHERE l.patient_id = p.id;
SELECT p1.id, p2.id FROM patients p1 JOIN patients p2 ON p1.weight_kg = p2.weight_kg AND p1.id < p2.id;
SELECT c1.clinician, c2.clinician FROM care_team c1 JOIN care_team c2 ON c1.patient_id = c2.patient_id AND c1.clinician <> c2.clinician;
SELECT * FROM care_team NATURAL JOIN observations;
SELECT * FROM patients p CROSS JOIN care_team ct WHERE ct.role = 'nurse';

-- Subqueries.
SELECT id FROM patients WHERE id IN (SELECT patient_id FROM observations WHERE kind = 'pulse');
SELECT id FROM patients p WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.patient_id = p.id);
SELECT p.id, (SELECT max(value) FROM observations o WHERE o.patient_id = p.id) FROM patients p;
SELECT patient_id, count(*) FROM observations GROUP BY patient_id HAVING count(*) > (SELECT count(*) FROM care_team WHERE role = 'nurse');
SELECT x.kind, x.n FROM (SELECT kind, count(*) AS n FROM observations GROUP BY kind) AS x;
SELECT id FROM audit.access_log WHERE patient_id = ANY (SELECT id FROM patients);
SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM audit.access_log);

-- WITH and set operations.
WITH team AS (SELECT patient_id FROM care_team WHERE clinician = 'drlee') SELECT p.id FROM patients p JOIN team t ON t.patient_id = p.id;
WITH RECURSIVE ids(n) AS (SELECT min(id) FROM patients UNION ALL SELECT n + 1 FROM ids WHERE n < (SELECT max(id) FROM patients)) SELECT n FROM ids;
WITH care_team AS (SELECT 1 AS patient_id) SELECT * FROM patients;
WITH log AS (SELECT * FROM audit.access_log) SELECT actor, count(*) FROM log GROUP BY actor;
SELECT patient_id FROM care_team UNION SELECT patient_id FROM observations;
SELECT patient_id FROM care_team INTERSECT SELECT id FROM patients;
SELECT patient_id FROM observations EXCEPT ALL SELECT patient_id FROM audit.access_log;
SELECT clinician FROM care_team UNION ALL SELECT recorded_by FROM observations UNION ALL SELECT actor FROM audit.access_log;

-- LATERAL, windows, aggregates, ordering, locking.
SELECT p.id, last.value FROM patients p LEFT JOIN LATERAL (SELECT o.value FROM observations o WHERE o.patient_id = p.id ORDER BY o.recorded_at DESC, o.value, o.id LIMIT 1) last ON TRUE;
SELECT patient_id, kind, value, avg(value) OVER (PARTITION BY patient_id, kind) FROM observations;
SELECT id, dense_rank() OVER (ORDER BY admitted_at, id) FROM patients;
SELECT kind, min(value), max(value), avg(value), stddev_pop(value) FROM observations GROUP BY kind;
SELECT DISTINCT role FROM care_team;
-- ordered
SELECT id, name FROM patients ORDER BY admitted_at DESC, id, name LIMIT 4;
-- ordered
SELECT patient_id, count(*) FROM observations GROUP BY patient_id ORDER BY patient_id OFFSET 2;
SELECT * FROM patients FOR UPDATE;
SELECT * FROM patients FOR SHARE;
SELECT * FROM observations FOR UPDATE;
SELECT p.id FROM patients p JOIN care_team ct ON ct.patient_id = p.id FOR UPDATE OF p;
SELECT * FROM audit.access_log FOR SHARE;
SELECT id, date_trunc('day', admitted_at), extract(year FROM admitted_at) FROM patients;
SELECT id, coalesce(notes, 'none'), length(name) FROM patients WHERE name LIKE '%e%';
SELECT count(*) FROM patients WHERE discharged_at >= admitted_at;
SELECT * FROM patients WHERE admitted_at < now();
