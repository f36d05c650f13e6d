//! Rewritten writes executed on in-memory SQLite: a DELETE removes and an
//! UPDATE changes exactly the rows the interpreter says PostgreSQL's RLS
//! would (an UPDATE with a bad new row fails whole, verified through its
//! appended check columns), and a user condition never runs on a hidden row.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::exec::sqlite_functions::register;
use rampart::lang::model::{PolicySet, Value};
use rampart::policy::combine::{and, conditions, OnFail, RowImage, StatementKind};
use rampart::policy::interp::{admits, Env};
use rampart::policy::specialise;
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

const CONTEXTS: &[&str] = &[
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#,
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#,
    r#"{"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["admin"]}}"#,
];

/// `orders` rows: id, tenant_id, owner, amount, status, note, created.
fn orders() -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let tenants = ["acme", "globex"];
    let owners = ["bob", "ann", "eve"];
    let statuses = ["open", "paid", "cancelled"];
    for id in 0..18i64 {
        let i = usize::try_from(id).unwrap();
        out.push(vec![
            Value::Int(id),
            Value::Text(tenants[i % 2].into()),
            Value::Text(owners[i % 3].into()),
            Value::Int(id * 7 % 100 + 1),
            Value::Text(statuses[(i / 2) % 3].into()),
            Value::Null,
            Value::Null,
        ]);
    }
    out
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

fn database(set: &PolicySet, rows: &[Vec<Value>]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    register(&conn).unwrap();
    conn.execute_batch(&create_tables(set, Dialect::Sqlite))
        .unwrap();
    for row in rows {
        let params: Vec<SqlValue> = row.iter().map(to_sql).collect();
        conn.execute(
            "INSERT INTO \"orders\" VALUES (?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params_from_iter(params),
        )
        .unwrap();
    }
    conn
}

fn ids(conn: &Connection) -> Vec<i64> {
    let mut stmt = conn.prepare("SELECT id FROM orders ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The existing-row conditions PostgreSQL hides rows with, specialised.
fn hiding(
    set: &PolicySet,
    kind: StatementKind,
    reads: bool,
    values: &[Value],
) -> rampart::lang::model::TExpr {
    let known: Vec<Option<Value>> = values.iter().cloned().map(Some).collect();
    let table = set
        .tables
        .iter()
        .position(|t| t.name.name == "orders")
        .unwrap();
    let mut acc = None;
    for c in conditions(set, table, kind, reads) {
        if c.image == RowImage::Existing && c.on_fail == OnFail::Hide {
            acc = Some(match acc {
                None => c.combined.expr,
                Some(a) => and(a, c.combined.expr),
            });
        }
    }
    specialise(&acc.unwrap(), &known).unwrap()
}

type UserCond = fn(&[Value]) -> bool;

#[test]
fn delete_removes_exactly_the_rows_the_policies_let_it() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let cases: &[(&str, bool, UserCond)] = &[
        ("DELETE FROM orders", false, |_| true),
        ("DELETE FROM orders WHERE 1 = 1", false, |_| true),
        (
            "DELETE FROM orders WHERE amount > 50",
            true,
            |r| matches!(r[3], Value::Int(a) if a > 50),
        ),
        (
            "DELETE FROM orders AS o WHERE o.status = 'paid' RETURNING id",
            true,
            |r| r[4] == Value::Text("paid".into()),
        ),
    ];
    for ctx_text in CONTEXTS {
        let ctx = Context::from_json(ctx_text).unwrap();
        let values = engine.context_values(&ctx).unwrap();
        for (sql, reads, user) in cases {
            let data = orders();
            let conn = database(set, &data);
            let rewritten = engine.rewrite(&ctx, Dialect::Sqlite, sql).unwrap();
            let mut stmt = conn.prepare(&rewritten).unwrap();
            let mut rows = stmt.query([]).unwrap();
            while rows.next().unwrap().is_some() {}
            drop(rows);
            drop(stmt);
            let policy = hiding(set, StatementKind::Delete, *reads, &values);
            let want: Vec<i64> = data
                .iter()
                .filter(|row| {
                    let env = Env {
                        row,
                        context: &values,
                    };
                    !(admits(&policy, &env).unwrap() && user(row))
                })
                .map(|row| match row[0] {
                    Value::Int(i) => i,
                    _ => unreachable!(),
                })
                .collect();
            assert_eq!(ids(&conn), want, "{ctx_text}\n{sql}\n{rewritten}");
        }
    }
}

#[test]
fn delete_condition_never_runs_on_hidden_rows() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let mut data = orders();
    // A hidden row (another tenant's) with amount 0: dividing by it fails.
    data.push(vec![
        Value::Int(100),
        Value::Text("globex".into()),
        Value::Text("ann".into()),
        Value::Int(0),
        Value::Text("open".into()),
        Value::Null,
        Value::Null,
    ]);
    let conn = database(set, &data);
    let sql = "DELETE FROM orders WHERE rampart_div(100, amount) > 1";
    let plain: Result<Vec<i64>, _> = conn
        .prepare("SELECT id FROM orders WHERE rampart_div(100, amount) > 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect();
    assert!(
        plain.is_err(),
        "unrewritten, the condition meets the hidden row"
    );
    let ctx = Context::from_json(CONTEXTS[1]).unwrap();
    let rewritten = engine.rewrite(&ctx, Dialect::Sqlite, sql).unwrap();
    conn.execute(&rewritten, [])
        .unwrap_or_else(|e| panic!("{rewritten}: {e}"));
    assert!(ids(&conn).contains(&100));
}

/// Stands in for the executor: runs a rewritten write in a transaction and
/// rolls it back with 42501 if any appended check fails: on SQLite each is
/// `rampart_check(…)`, which raises the violation inside the statement (and
/// is 1 otherwise).
fn execute_verified(
    conn: &Connection,
    engine: &Engine,
    ctx: &Context,
    sql: &str,
) -> Result<(), String> {
    let out = engine.rewrite_planned(ctx, Dialect::Sqlite, sql).unwrap();
    let plan = &out.plan[0];
    conn.execute_batch("BEGIN").unwrap();
    let mut stmt = conn.prepare(&out.sql).unwrap();
    let width = stmt.column_count();
    let mut failed = false;
    let mut rows = stmt.query([]).unwrap();
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                for k in width - plan.checks.len()..width {
                    assert_eq!(row.get::<_, SqlValue>(k).unwrap(), SqlValue::Integer(1));
                }
            }
            Ok(None) => break,
            Err(e)
                if e.to_string()
                    .starts_with("rampart[42501]: new row violates") =>
            {
                failed = true;
                break;
            }
            Err(e) => panic!("{}: {e}", out.sql),
        }
    }
    drop(rows);
    drop(stmt);
    if failed {
        conn.execute_batch("ROLLBACK").unwrap();
        return Err("42501".into());
    }
    conn.execute_batch("COMMIT").unwrap();
    Ok(())
}

fn table(conn: &Connection) -> Vec<Vec<SqlValue>> {
    let mut stmt = conn.prepare("SELECT * FROM orders ORDER BY id").unwrap();
    stmt.query_map([], |r| (0..7).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

type SetFn = fn(&mut Vec<Value>);

#[test]
fn update_matches_the_interpreter_and_fails_whole_on_a_bad_new_row() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let index = set
        .tables
        .iter()
        .position(|t| t.name.name == "orders")
        .unwrap();
    let cases: &[(&str, bool, UserCond, SetFn)] = &[
        (
            "UPDATE orders SET amount = 0",
            false,
            |_| true,
            |r| r[3] = Value::Int(0),
        ),
        (
            "UPDATE orders SET status = 'paid'",
            false,
            |_| true,
            |r| {
                r[4] = Value::Text("paid".into());
            },
        ),
        (
            "UPDATE orders SET status = 'shipped' WHERE amount > 50",
            true,
            |r| matches!(r[3], Value::Int(a) if a > 50),
            |r| r[4] = Value::Text("shipped".into()),
        ),
        (
            "UPDATE orders SET amount = amount - 200 WHERE amount > 50",
            true,
            |r| matches!(r[3], Value::Int(a) if a > 50),
            |r| {
                if let Value::Int(a) = r[3] {
                    r[3] = Value::Int(a - 200);
                }
            },
        ),
        (
            "UPDATE orders SET tenant_id = 'globex'",
            false,
            |_| true,
            |r| {
                r[1] = Value::Text("globex".into());
            },
        ),
        (
            "UPDATE orders SET note = 'seen' WHERE rampart_div(100, amount) > 1 RETURNING id",
            true,
            |r| matches!(r[3], Value::Int(a) if 100 / a > 1),
            |r| r[5] = Value::Text("seen".into()),
        ),
    ];
    for ctx_text in CONTEXTS {
        let ctx = Context::from_json(ctx_text).unwrap();
        let values = engine.context_values(&ctx).unwrap();
        let known: Vec<Option<Value>> = values.iter().cloned().map(Some).collect();
        for (sql, reads, user, assign) in cases {
            let data = orders();
            let conn = database(set, &data);
            let got = execute_verified(&conn, &engine, &ctx, sql);
            let policy = hiding(set, StatementKind::Update, *reads, &values);
            let mut after = data.clone();
            let mut violated = false;
            for row in &mut after {
                let env = Env {
                    row,
                    context: &values,
                };
                if !(admits(&policy, &env).unwrap() && user(row)) {
                    continue;
                }
                assign(row);
                for c in conditions(set, index, StatementKind::Update, *reads) {
                    if c.image == RowImage::Updated {
                        let check = specialise(&c.combined.expr, &known).unwrap();
                        let env = Env {
                            row,
                            context: &values,
                        };
                        violated |= !admits(&check, &env).unwrap();
                    }
                }
            }
            let expected = if violated { data.clone() } else { after };
            let expected_table: Vec<Vec<SqlValue>> = expected
                .iter()
                .map(|r| r.iter().map(to_sql).collect())
                .collect();
            assert_eq!(got.is_err(), violated, "{ctx_text}\n{sql}");
            assert_eq!(table(&conn), expected_table, "{ctx_text}\n{sql}");
        }
    }
}
