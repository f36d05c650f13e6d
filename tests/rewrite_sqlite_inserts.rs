//! Rewritten INSERTs executed on in-memory SQLite: the table ends as the
//! interpreter says PostgreSQL's RLS would leave it (presets filled in, a
//! bad new row failing the statement whole, through a refusal when
//! rewriting or the appended check columns), and `ON CONFLICT DO UPDATE`
//! raises 42501 for a conflicting or updated row the policies refuse.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::exec::sqlite_functions::{eval_error_from_message, register};
use rampart::lang::model::{PolicySet, TExpr, Value};
use rampart::policy::combine::{conditions, OnFail, RowImage, StatementKind};
use rampart::policy::interp::{admits, Env};
use rampart::policy::specialise;
use rampart::sql::rewrite::violation_in_message;
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

const CONTEXTS: &[&str] = &[
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#,
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#,
    r#"{"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["admin"]}}"#,
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "dan", "roles": []}}"#,
];

/// `orders` rows: id, tenant_id, owner, amount, status, note, created.
fn orders() -> Vec<Vec<Value>> {
    let tenants = ["acme", "globex"];
    let owners = ["bob", "ann", "eve"];
    let statuses = ["open", "paid", "cancelled"];
    (0..12i64)
        .map(|id| {
            let i = usize::try_from(id).unwrap();
            vec![
                Value::Int(id),
                Value::Text(tenants[i % 2].into()),
                Value::Text(owners[i % 3].into()),
                Value::Int(id * 7 % 100 + 1),
                Value::Text(statuses[(i / 2) % 3].into()),
                Value::Null,
                Value::Null,
            ]
        })
        .collect()
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
    conn.execute_batch("CREATE UNIQUE INDEX orders_id ON orders (id)")
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

fn table(conn: &Connection) -> Vec<Vec<SqlValue>> {
    let mut stmt = conn.prepare("SELECT * FROM orders ORDER BY id").unwrap();
    stmt.query_map([], |r| (0..7).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Stands in for the executor: rewrites, runs in a transaction, and rolls
/// back with 42501 if any appended check column is not true; errors come
/// back as their SQLSTATE (a marked violation as 42501).
fn execute_verified(
    conn: &Connection,
    engine: &Engine,
    ctx: &Context,
    sql: &str,
) -> Result<(), String> {
    let out = engine
        .rewrite_planned(ctx, Dialect::Sqlite, sql)
        .map_err(|e| e.sqlstate().to_string())?;
    let plan = &out.plan[0];
    conn.execute_batch("BEGIN").unwrap();
    let result = (|| -> Result<bool, rusqlite::Error> {
        let mut stmt = conn.prepare(&out.sql)?;
        let width = stmt.column_count();
        let mut failed = false;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for k in width - plan.checks.len()..width {
                failed |= row.get::<_, SqlValue>(k)? != SqlValue::Integer(1);
            }
        }
        Ok(failed)
    })();
    let outcome = match result {
        Ok(false) => Ok(()),
        Ok(true) => Err("42501".to_string()),
        Err(e) => {
            let message = e.to_string();
            Err(if violation_in_message(&message).is_some() {
                "42501".into()
            } else if let Some(eval) = eval_error_from_message(&message) {
                eval.sqlstate().into()
            } else {
                format!("other: {message}")
            })
        }
    };
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    conn.execute_batch(end).unwrap();
    outcome
}

/// The conditions of `kind` on `image` that raise, specialised.
fn raising(
    set: &PolicySet,
    kind: StatementKind,
    reads: bool,
    image: RowImage,
    known: &[Option<Value>],
) -> Vec<TExpr> {
    conditions(set, orders_index(set), kind, reads)
        .into_iter()
        .filter(|c| c.image == image && c.on_fail == OnFail::Error)
        .map(|c| specialise(&c.combined.expr, known).unwrap())
        .collect()
}

fn orders_index(set: &PolicySet) -> usize {
    set.tables
        .iter()
        .position(|t| t.name.name == "orders")
        .unwrap()
}

fn passes(checks: &[TExpr], row: &[Value], context: &[Value]) -> bool {
    checks
        .iter()
        .all(|c| admits(c, &Env { row, context }).unwrap())
}

/// One INSERT case: its SQL, whether it reads the table (RETURNING), and
/// its new rows given the context's tenant id and user (the presets).
type NewRows = fn(&[Vec<Value>], &[Value], &dyn Fn(&[Value]) -> bool) -> Vec<Vec<Value>>;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn order(id: i64, ctx: &[Value], amount: i64, status: &str, note: Value) -> Vec<Value> {
    vec![
        Value::Int(id),
        ctx[0].clone(),
        ctx[2].clone(),
        Value::Int(amount),
        text(status),
        note,
        Value::Null,
    ]
}

#[test]
fn insert_matches_the_interpreter_and_fails_whole_on_a_bad_new_row() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let cases: &[(&str, bool, NewRows)] = &[
        (
            "INSERT INTO orders (id, amount, status) VALUES (100, 5, 'open')",
            false,
            |_, c, _| vec![order(100, c, 5, "open", Value::Null)],
        ),
        (
            "INSERT INTO orders (id, amount, status) VALUES (100, 5 + 1, 'open'), (101, 3, 'paid')",
            false,
            |_, c, _| {
                vec![
                    order(100, c, 6, "open", Value::Null),
                    order(101, c, 3, "paid", Value::Null),
                ]
            },
        ),
        (
            "INSERT INTO orders (id, amount, status) VALUES (100, rampart_sub(0, 5), 'open') RETURNING id",
            true,
            |_, c, _| vec![order(100, c, -5, "open", Value::Null)],
        ),
        (
            "INSERT INTO orders (id, amount, status, note) VALUES (100, 2, 'open', 'n') RETURNING *",
            true,
            |_, c, _| vec![order(100, c, 2, "open", text("n"))],
        ),
        (
            "INSERT INTO orders (id, tenant_id, amount, status) VALUES (100, 'globex', 5, 'open')",
            false,
            |_, c, _| {
                let mut row = order(100, c, 5, "open", Value::Null);
                row[1] = text("globex");
                vec![row]
            },
        ),
        (
            "INSERT INTO orders (id, amount, status) SELECT id + 100, amount, status FROM orders WHERE id < 6",
            false,
            |data, c, visible| {
                data.iter()
                    .filter(|r| visible(r) && matches!(r[0], Value::Int(i) if i < 6))
                    .map(|r| {
                        let Value::Int(id) = r[0] else { unreachable!() };
                        let Value::Int(amount) = r[3] else { unreachable!() };
                        let Value::Text(status) = &r[4] else { unreachable!() };
                        order(id + 100, c, amount, status, Value::Null)
                    })
                    .collect()
            },
        ),
    ];
    for ctx_text in CONTEXTS {
        let ctx = Context::from_json(ctx_text).unwrap();
        let values = engine.context_values(&ctx).unwrap();
        let known: Vec<Option<Value>> = values.iter().cloned().map(Some).collect();
        let select = raising_or_hiding(set, &known);
        let visible = |row: &[Value]| passes(&select, row, &values);
        for (sql, reads, new_rows) in cases {
            let data = orders();
            let conn = database(set, &data);
            let got = execute_verified(&conn, &engine, &ctx, sql);
            let rows = new_rows(
                &data,
                &[values[0].clone(), values[1].clone(), values[2].clone()],
                &visible,
            );
            let checks = raising(
                set,
                StatementKind::Insert,
                *reads,
                RowImage::Inserted,
                &known,
            );
            let violated = rows.iter().any(|r| !passes(&checks, r, &values));
            let mut expected = data.clone();
            if !violated {
                expected.extend(rows);
            }
            expected.sort_by_key(|r| match r[0] {
                Value::Int(i) => i,
                _ => 0,
            });
            let expected: Vec<Vec<SqlValue>> = expected
                .iter()
                .map(|r| r.iter().map(to_sql).collect())
                .collect();
            assert_eq!(got.is_err(), violated, "{ctx_text}\n{sql}\n{got:?}");
            if let Err(state) = &got {
                assert_eq!(state, "42501", "{ctx_text}\n{sql}");
            }
            assert_eq!(table(&conn), expected, "{ctx_text}\n{sql}");
        }
    }
}

/// SELECT `using` of `orders`, specialised.
fn raising_or_hiding(set: &PolicySet, known: &[Option<Value>]) -> Vec<TExpr> {
    conditions(set, orders_index(set), StatementKind::Select, true)
        .into_iter()
        .map(|c| specialise(&c.combined.expr, known).unwrap())
        .collect()
}

#[test]
fn on_conflict_do_update_raises_for_rows_the_policies_refuse() {
    let engine = Engine::load("policies/saas").unwrap();
    let set = engine.policy_set();
    let kind = StatementKind::InsertOnConflictUpdate;
    // (id, amount of the proposed row and of the update)
    let cases: &[(i64, i64)] = &[(0, 9), (3, 9), (6, 9), (100, 9), (0, -1), (1, 4)];
    for ctx_text in CONTEXTS {
        let ctx = Context::from_json(ctx_text).unwrap();
        let values = engine.context_values(&ctx).unwrap();
        let known: Vec<Option<Value>> = values.iter().cloned().map(Some).collect();
        let c3 = [values[0].clone(), values[1].clone(), values[2].clone()];
        // The amount as a constant (checked when rewriting) or an expression
        // (a guard around the proposed row).
        let forms = cases.iter().flat_map(|&(id, amount)| {
            [format!("{amount}"), format!("rampart_add({amount}, 0)")]
                .map(|value| (id, amount, value))
        });
        for (id, amount, value) in forms {
            let sql = format!(
                "INSERT INTO orders (id, amount, status) VALUES ({id}, {value}, 'open') \
                 ON CONFLICT (id) DO UPDATE SET amount = excluded.amount"
            );
            let data = orders();
            let conn = database(set, &data);
            let got = execute_verified(&conn, &engine, &ctx, &sql);
            let proposed = order(id, &c3, amount, "open", Value::Null);
            let inserted = raising(set, kind, true, RowImage::Inserted, &known);
            let existing_checks = raising(set, kind, true, RowImage::Existing, &known);
            let updated_checks = raising(set, kind, true, RowImage::Updated, &known);
            let mut expected = data.clone();
            let violated = if !passes(&inserted, &proposed, &values) {
                true
            } else if let Some(old) = expected.iter_mut().find(|r| r[0] == Value::Int(id)) {
                let mut new = old.clone();
                new[3] = Value::Int(amount);
                let bad = !passes(&existing_checks, old, &values)
                    || !passes(&updated_checks, &new, &values);
                *old = new;
                bad
            } else {
                expected.push(proposed);
                false
            };
            let expected: Vec<Vec<SqlValue>> = if violated { data } else { expected }
                .iter()
                .map(|r| r.iter().map(to_sql).collect())
                .collect();
            assert_eq!(got.is_err(), violated, "{ctx_text}\n{sql}\n{got:?}");
            if let Err(state) = &got {
                assert_eq!(state, "42501", "{ctx_text}\n{sql}");
            }
            assert_eq!(table(&conn), expected, "{ctx_text}\n{sql}");
        }
    }
}
