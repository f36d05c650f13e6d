//! The interpreter (the oracle) against the SQL emitted for SQLite and run on
//! an in-memory database: random well-typed expressions × random rows, NULLs,
//! extremes and errors included; and specialisation never changes an answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use rampart::exec::sqlite_functions::{eval_error_from_message, register};
use rampart::lang::model::*;
use rampart::policy::interp::{evaluate, Env};
use rampart::policy::{specialise, EvalError};
use rampart::sql::{ContextSource, Dialect, Emitter, Scope};
use rusqlite::types::Value as SqlValue;

#[path = "common/texpr_gen.rs"]
mod texpr_gen;

use texpr_gen::*;

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null | Value::TextSet(_) | Value::IntSet(_) => SqlValue::Null,
        Value::Int(i) | Value::Timestamp(i) => SqlValue::Integer(*i),
        Value::Float(x) => SqlValue::Real(*x),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Text(s) => SqlValue::Text(s.clone()),
    }
}

/// The interpreter's answer in SQLite's terms, for comparison.
fn expected(v: &Value) -> SqlValue {
    to_sql(v)
}

fn same(a: &SqlValue, b: &SqlValue) -> bool {
    match (a, b) {
        (SqlValue::Real(x), SqlValue::Real(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

struct Db {
    conn: rusqlite::Connection,
}

impl Db {
    fn new() -> Db {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE r (i INTEGER, j INTEGER, f REAL, t TEXT, u TEXT, b INTEGER, ts INTEGER)",
        )
        .unwrap();
        Db { conn }
    }

    fn run(&self, row: &[Value], sql: &str) -> Result<SqlValue, String> {
        self.conn.execute("DELETE FROM r", []).unwrap();
        let params: Vec<SqlValue> = row.iter().map(to_sql).collect();
        self.conn
            .execute(
                "INSERT INTO r VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params_from_iter(params),
            )
            .unwrap();
        self.conn
            .query_row(&format!("SELECT {sql} FROM \"r\""), [], |r| {
                r.get::<_, SqlValue>(0)
            })
            .map_err(|e| e.to_string())
    }
}

fn check_case(
    db: &Db,
    set: &PolicySet,
    e: &TExpr,
    row: &[Value],
    ctx: &[Value],
) -> Result<(), TestCaseError> {
    let env = Env { row, context: ctx };
    let native = evaluate(e, &env);
    // Specialising on the whole context folds more constants, which may
    // raise an error earlier (as PostgreSQL's planner would on the rewritten
    // SQL), but never changes a value.
    let known: Vec<Option<Value>> = ctx.iter().cloned().map(Some).collect();
    let special = match specialise(e, &known) {
        Ok(special) => special,
        Err(_) => return Ok(()),
    };
    let oracle = evaluate(&special, &Env { row, context: &[] });
    if let (Ok(a), Ok(b)) = (&native, &oracle) {
        prop_assert_eq!(a, b, "specialised: {:?}", special);
    }
    let emitter = Emitter::new(set, Dialect::Sqlite, ContextSource::Literals, &known);
    let sql = emitter
        .expr(&special, &Scope::new(0, vec!["r".into()]))
        .map(|s| s.to_string());
    let sql = match sql {
        Ok(sql) => sql,
        // Text with NUL cannot be a literal; the generators make none.
        Err(err) => return Err(TestCaseError::fail(format!("emit failed: {err}"))),
    };
    let got = db.run(row, &sql);
    match (&oracle, &got) {
        (Ok(v), Ok(g)) => prop_assert!(same(&expected(v), g), "{sql}: oracle {v:?}, sqlite {g:?}"),
        (Err(e), Err(msg)) => {
            let kind = msg
                .split_once("rampart[")
                .and_then(|(_, rest)| eval_error_from_message(&format!("rampart[{rest}")));
            prop_assert_eq!(kind.as_ref(), Some(e), "{}: {}", sql, msg);
        }
        _ => prop_assert!(false, "{sql}: oracle {oracle:?}, sqlite {got:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn interpreter_agrees_with_sqlite(
        e in expr(Ty::Bool, 4),
        row in row(),
        ctx in context(),
    ) {
        thread_local!(static DB: Db = Db::new());
        let set = policy_set();
        DB.with(|db| check_case(db, &set, &e, &row, &ctx))?;
    }

    #[test]
    fn interpreter_agrees_with_sqlite_on_values(
        ty in proptest::sample::select(vec![Ty::Int, Ty::Float, Ty::Text]),
        seed in any::<u64>(),
        row in row(),
        ctx in context(),
    ) {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        let e = expr(ty, 3).new_tree(&mut runner).unwrap().current();
        thread_local!(static DB: Db = Db::new());
        let set = policy_set();
        DB.with(|db| check_case(db, &set, &e, &row, &ctx))?;
    }
}

#[test]
fn errors_keep_postgres_sqlstates() {
    assert_eq!(EvalError::DivisionByZero.sqlstate(), "22012");
    assert_eq!(EvalError::IntOverflow.sqlstate(), "22003");
    let _ = BTreeSet::<String>::new();
}
