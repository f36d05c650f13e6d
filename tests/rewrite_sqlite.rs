//! The rewriter executed on in-memory SQLite: every query, rewritten and run
//! over all rows, gives what it gives unrewritten over only the rows the
//! policies admit (the interpreter decides; `exists` policies through the
//! emitted predicate); and a user condition never runs on hidden rows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::exec::sqlite_functions::register;
use rampart::lang::model::{PolicySet, TExprKind, Ty, Value};
use rampart::policy::combine::{combine, Clause};
use rampart::policy::interp::{admits, Env};
use rampart::policy::specialise;
use rampart::sql::schema::create_tables;
use rampart::{Command, Context, Dialect, Engine};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

const QUERIES: &[&str] = &[
    "SELECT * FROM orders",
    "SELECT id, amount FROM orders WHERE amount > 50",
    "SELECT * FROM users",
    "SELECT * FROM memberships",
    "SELECT * FROM projects",
    "SELECT u.id, o.id FROM users u JOIN orders o ON o.owner = u.id",
    "SELECT u.id, o.id FROM users u LEFT JOIN orders o ON o.owner = u.id",
    "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.owner = u.id GROUP BY u.id",
    "SELECT o.id, u.email FROM orders o, users u WHERE o.owner = u.id AND u.tenant_id = o.tenant_id",
    "SELECT id FROM users WHERE id IN (SELECT owner FROM orders)",
    "SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.owner = u.id)",
    "SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.owner = u.id)",
    "SELECT u.id, (SELECT sum(amount) FROM orders o WHERE o.owner = u.id) FROM users u",
    "SELECT owner, count(*) FROM orders GROUP BY owner HAVING count(*) >= (SELECT count(*) FROM memberships)",
    "SELECT owner FROM orders UNION SELECT id FROM users",
    "SELECT owner FROM orders UNION ALL SELECT user_id FROM memberships",
    "SELECT owner FROM orders INTERSECT SELECT user_id FROM memberships",
    "SELECT id FROM users EXCEPT SELECT owner FROM orders",
    "WITH big AS (SELECT * FROM orders WHERE amount > 20) SELECT count(*) FROM big",
    "WITH orders AS (SELECT 1 AS id) SELECT id FROM orders",
    "WITH a AS (SELECT owner FROM orders), b AS (SELECT * FROM a JOIN users ON users.id = a.owner) SELECT count(*) FROM b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < (SELECT count(*) FROM orders)) SELECT count(*) FROM r",
    "SELECT t.owner, t.n FROM (SELECT owner, count(*) AS n FROM orders GROUP BY owner) AS t",
    "SELECT p.name, m.user_id FROM projects p JOIN memberships m ON m.org_id = p.org_id",
    "SELECT c.code, count(o.id) FROM currencies c LEFT JOIN orders o ON o.status = c.code GROUP BY c.code",
    "SELECT DISTINCT status FROM orders",
    "SELECT max(amount), min(amount), count(*) FROM orders",
    "SELECT id FROM orders ORDER BY amount DESC, id LIMIT 3",
    "SELECT * FROM memberships m JOIN projects p USING (org_id, tenant_id)",
    "SELECT o.id, o2.id FROM orders o JOIN orders o2 ON o.owner = o2.owner AND o.id < o2.id",
    "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM projects)",
    "SELECT * FROM users NATURAL JOIN memberships",
    "SELECT count(*) FROM orders WHERE note IS NULL",
];

const CONTEXTS: &[&str] = &[
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#,
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#,
    r#"{"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["member"]}}"#,
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "dan", "roles": []}}"#,
];

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i64 {
        i64::try_from(self.next() % n).unwrap()
    }
    fn pick(&mut self, items: &[&str]) -> Value {
        Value::Text(items[usize::try_from(self.next()).unwrap() % items.len()].to_string())
    }
}

fn random_value(rng: &mut Rng, table: &str, column: &str, ty: Ty, nullable: bool, n: i64) -> Value {
    if nullable && rng.below(5) == 0 {
        return Value::Null;
    }
    match (table, column, ty) {
        (_, "tenant_id", _) => rng.pick(&["acme", "globex"]),
        ("users", "id", _) | (_, "owner" | "user_id", _) => rng.pick(&["bob", "ann", "eve", "dan"]),
        (_, "status", _) => rng.pick(&["open", "paid", "shipped", "cancelled"]),
        (_, "code", _) => rng.pick(&["open", "paid", "EUR"]),
        (_, "org_id", _) => Value::Int(rng.below(3) + 1),
        (_, "id", Ty::Int) => Value::Int(n),
        (_, _, Ty::Int) => Value::Int(rng.below(100)),
        (_, _, Ty::Bool) => Value::Bool(rng.below(2) == 0),
        (_, _, Ty::Timestamp) => Value::Timestamp(rng.below(1_000_000)),
        (_, _, Ty::Float) => Value::Float(0.5),
        _ => rng.pick(&["x", "y", "z"]),
    }
}

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Int(i) | Value::Timestamp(i) => SqlValue::Integer(*i),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Float(f) => SqlValue::Real(*f),
        Value::Text(s) => SqlValue::Text(s.clone()),
        other => panic!("no column of this type: {other:?}"),
    }
}

fn database(set: &PolicySet) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    register(&conn).unwrap();
    conn.execute_batch(&create_tables(set, Dialect::Sqlite))
        .unwrap();
    conn
}

fn insert(conn: &Connection, table: &str, row: &[Value]) {
    let marks = vec!["?"; row.len()].join(", ");
    let params: Vec<SqlValue> = row.iter().map(to_sql).collect();
    conn.execute(
        &format!("INSERT INTO \"{table}\" VALUES ({marks})"),
        rusqlite::params_from_iter(params),
    )
    .unwrap();
}

fn rows(conn: &Connection, sql: &str) -> Result<Vec<String>, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let width = stmt.column_count();
    let mut out: Vec<String> = stmt
        .query_map([], |r| {
            (0..width)
                .map(|i| r.get::<_, SqlValue>(i))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| format!("{v:?}"))
        })
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    out.sort();
    Ok(out)
}

fn uses_exists(set: &PolicySet, table: usize) -> bool {
    fn walk(e: &rampart::lang::model::TExpr) -> bool {
        matches!(e.kind, TExprKind::Exists { .. }) || e.kind.children().into_iter().any(walk)
    }
    walk(&combine(set, table, Command::Select, Clause::Using).expr)
}

#[test]
fn rewritten_queries_see_exactly_the_admitted_rows() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut data: Vec<(String, Vec<Value>)> = Vec::new();
    for table in &set.tables {
        for n in 0..25 {
            let row = table
                .columns
                .iter()
                .map(|c| {
                    random_value(
                        &mut rng,
                        &table.name.name,
                        &c.name,
                        c.ty.ty,
                        c.ty.nullable,
                        n,
                    )
                })
                .collect();
            data.push((table.name.name.clone(), row));
        }
    }
    let full = database(set);
    for (table, row) in &data {
        insert(&full, table, row);
    }
    for ctx_text in CONTEXTS {
        let ctx = Context::from_json(ctx_text).unwrap();
        let values = engine.context_values(&ctx).unwrap();
        let known: Vec<Option<Value>> = values.iter().cloned().map(Some).collect();
        let admitted = database(set);
        for (index, table) in set.tables.iter().enumerate() {
            let name = &table.name.name;
            if uses_exists(set, index) {
                // The interpreter has no tables: use the emitted predicate.
                let pred = engine.explain(&ctx, name, Command::Select).unwrap();
                let sql = format!(
                    "SELECT * FROM \"{name}\" WHERE {}",
                    pred.using.unwrap().sqlite
                );
                let mut stmt = full.prepare(&sql).unwrap();
                let width = stmt.column_count();
                let kept: Vec<Vec<SqlValue>> = stmt
                    .query_map([], |r| (0..width).map(|i| r.get(i)).collect())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                for row in kept {
                    let marks = vec!["?"; row.len()].join(", ");
                    admitted
                        .execute(
                            &format!("INSERT INTO \"{name}\" VALUES ({marks})"),
                            rusqlite::params_from_iter(row),
                        )
                        .unwrap();
                }
                continue;
            }
            let policy = combine(set, index, Command::Select, Clause::Using);
            let policy = specialise(&policy.expr, &known).unwrap();
            for (_, row) in data.iter().filter(|(t, _)| t == name) {
                let env = Env {
                    row,
                    context: &values,
                };
                if admits(&policy, &env).unwrap() {
                    insert(&admitted, name, row);
                }
            }
        }
        for query in QUERIES {
            let rewritten = engine.rewrite(&ctx, Dialect::Sqlite, query).unwrap();
            let got = rows(&full, &rewritten);
            let want = rows(&admitted, query);
            assert_eq!(
                got, want,
                "context {ctx_text}\nquery {query}\nrewritten {rewritten}"
            );
        }
    }
}

#[test]
fn user_conditions_never_run_on_hidden_rows() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let conn = database(set);
    let order = |id: i64, tenant: &str, owner: &str, amount: i64| {
        vec![
            Value::Int(id),
            Value::Text(tenant.into()),
            Value::Text(owner.into()),
            Value::Int(amount),
            Value::Text("open".into()),
            Value::Null,
            Value::Null,
        ]
    };
    insert(&conn, "orders", &order(1, "acme", "bob", 10));
    insert(&conn, "orders", &order(2, "acme", "bob", 20));
    // Hidden from bob: another tenant's and another user's, amount 0.
    insert(&conn, "orders", &order(3, "globex", "bob", 0));
    insert(&conn, "orders", &order(4, "acme", "ann", 0));
    for user in ["bob", "ann"] {
        let row = [
            Value::Text(user.into()),
            Value::Text("acme".into()),
            Value::Text(format!("{user}@acme")),
            Value::Text(user.into()),
        ];
        insert(&conn, "users", &row);
    }
    let ctx = Context::from_json(CONTEXTS[0]).unwrap();
    for query in [
        "SELECT id FROM orders WHERE rampart_div(100, amount) > 0",
        "SELECT o.id FROM users u JOIN orders o ON o.owner = u.id WHERE rampart_div(100, o.amount) > 0",
        "SELECT id FROM orders o WHERE rampart_div(100, o.amount) > 0 AND o.id > 0",
        "SELECT id FROM (SELECT * FROM orders) AS x WHERE rampart_div(100, x.amount) > 0",
        // Leakproof conditions run inside the fence, or drop it.
        "SELECT id FROM orders WHERE status = 'open' AND rampart_div(100, amount) > 0",
        "SELECT rampart_div(100, amount) FROM orders WHERE status = 'open'",
        "SELECT id FROM orders WHERE status = 'open' ORDER BY rampart_div(100, amount)",
        "SELECT id FROM orders WHERE id IN (SELECT id FROM orders WHERE rampart_div(100, amount) > 0)",
    ] {
        // Unrewritten, the condition meets a hidden row and fails …
        assert!(rows(&conn, query).is_err(), "{query} should fail on all rows");
        // … rewritten, it only ever sees bob's orders.
        let rewritten = engine.rewrite(&ctx, Dialect::Sqlite, query).unwrap();
        let got = rows(&conn, &rewritten).unwrap_or_else(|e| panic!("{rewritten}: {e}"));
        assert_eq!(got.len(), 2, "{rewritten}");
    }
}
