//! Fuzz target: every `using` and `check` of a policy set (generated, or text
//! from the seeds) × generated rows and contexts. The interpreter, the
//! compiled predicate and the SQL emitted for SQLite (run on an in-memory
//! database with Rampart's functions) agree on every row, errors included.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::gen::{typed, values};
use rampart::jit::{compile, CompiledPredicate, JitError};
use rampart::lang::model::{PolicySet, TExpr, TExprKind, Value};
use rampart::policy::interp::{evaluate, Env};
use rampart::policy::{specialise, EvalError};
use rampart::sql::{ContextSource, Dialect, Emitter, Scope};
use rampart_fuzz::scenario;
use rampart_fuzz::sqlite::{eval_error, to_sql, Db};
use rusqlite::types::Value as SqlValue;

fn uses_exists(e: &TExpr) -> bool {
    matches!(e.kind, TExprKind::Exists { .. }) || e.kind.children().into_iter().any(uses_exists)
}

fn as_bool(v: Result<Value, EvalError>) -> Result<Option<bool>, EvalError> {
    Ok(match v? {
        Value::Bool(b) => Some(b),
        _ => None,
    })
}

fn same(a: &SqlValue, b: &SqlValue) -> bool {
    match (a, b) {
        (SqlValue::Real(x), SqlValue::Real(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// One expression on one row: the three evaluators agree.
fn check_row(
    set: &PolicySet,
    db: &Db,
    table: usize,
    e: &TExpr,
    compiled: Option<&CompiledPredicate>,
    row: &[Value],
    context: &[Value],
    text: &str,
) {
    let env = Env { row, context };
    let interpreted = evaluate(e, &env);
    let show =
        || format!("expression {e:?}\nrow {row:?}\ncontext {context:?}\n--- policies:\n{text}");

    // The compiled predicate: exactly the interpreter's answer.
    if let Some(p) = compiled {
        assert_eq!(
            p.decide(row, context),
            as_bool(interpreted.clone()),
            "compiled vs interpreter\n{}",
            show()
        );
    }

    // The SQL: specialised on the whole context (as the rewriter does), which
    // may raise an error earlier but never changes a value.
    let known: Vec<Option<Value>> = context.iter().cloned().map(Some).collect();
    let special = match specialise(e, &known) {
        Ok(s) => s,
        // Folding may meet an error the row never reaches, as PostgreSQL's
        // planner would on the rewritten SQL.
        Err(_) => return,
    };
    let oracle = evaluate(&special, &Env { row, context: &[] });
    if let (Ok(a), Ok(b)) = (&interpreted, &oracle) {
        assert_eq!(a, b, "specialised {special:?}\n{}", show());
    }
    let emitter = Emitter::new(set, Dialect::Sqlite, ContextSource::Literals, &known);
    let qualifier = vec![set.tables[table].name.name.clone()];
    let qualifier = match &set.tables[table].name.schema {
        Some(schema) => vec![schema.clone(), qualifier[0].clone()],
        None => qualifier,
    };
    let sql = match emitter.expr(&special, &Scope::new(table, qualifier)) {
        Ok(sql) => sql.to_string(),
        Err(err) => panic!("emit failed: {err}\n{}", show()),
    };
    db.clear(table);
    db.insert(table, row);
    let got = db.value(table, &sql);
    match (&oracle, &got) {
        (Ok(v), Ok(g)) => assert!(
            same(&to_sql(v), g),
            "{sql}: interpreter {v:?}, sqlite {g:?}\n{}",
            show()
        ),
        (Err(e), Err(message)) => assert_eq!(
            eval_error(message).as_ref(),
            Some(e),
            "{sql}: {message}\n{}",
            show()
        ),
        _ => panic!("{sql}: interpreter {oracle:?}, sqlite {got:?}\n{}", show()),
    }
}

fuzz_target!(|data: &[u8]| {
    let options = typed::Options {
        exists: false,
        max_policies: 2,
    };
    let Some(mut s) = scenario(data, options) else {
        return;
    };
    let set = &s.set;
    let Some(db) = Db::new(set) else {
        assert!(!s.generated, "SQLite refused the tables\n{}", s.text);
        return;
    };
    let hints = rampart_fuzz::hints(set);
    let Ok(context) = values::context(&mut s.u, set, &hints) else {
        return;
    };
    for (table, t) in set.tables.iter().enumerate() {
        let exprs: Vec<&TExpr> = t
            .policies
            .iter()
            .flat_map(|p| p.using.iter().chain(&p.check))
            .filter(|e| !uses_exists(e))
            .collect();
        if exprs.is_empty() {
            continue;
        }
        let mut rows = Vec::new();
        for _ in 0..3 {
            match values::row(&mut s.u, t, &hints) {
                Ok(row) => rows.push(row),
                Err(_) => break,
            }
        }
        for e in &exprs {
            let compiled = match compile(set, table, e) {
                Ok(p) => Some(p),
                Err(JitError::TooLarge | JitError::TooDeep) => None,
                Err(err) => panic!("compile failed: {err}\n{e:?}\n--- policies:\n{}", s.text),
            };
            for row in &rows {
                check_row(
                    set,
                    &db,
                    table,
                    e,
                    compiled.as_ref(),
                    row,
                    &context,
                    &s.text,
                );
            }
        }
    }
});
