//! Limits of the rewriter: size, nesting and long operator chains are
//! refused with an error (or handled), never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rampart::sql::rewrite::{rewrite, RewriteError, MAX_SQL_BYTES};
use rampart::{Context, Dialect, Engine};

fn engine() -> (Engine, Vec<rampart::lang::model::Value>) {
    let engine = Engine::load("policies/saas").unwrap();
    let ctx = Context::from_json(
        r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#,
    )
    .unwrap();
    let values = engine.context_values(&ctx).unwrap();
    (engine, values)
}

#[test]
fn too_large_input_is_refused() {
    let (engine, values) = engine();
    let sql = format!("SELECT '{}'", "x".repeat(MAX_SQL_BYTES));
    let err = rewrite(engine.policy_set(), &values, Dialect::Postgres, &sql).unwrap_err();
    assert!(matches!(err, RewriteError::TooLarge { .. }), "{err}");
    assert_eq!(err.sqlstate(), "54000");
}

#[test]
fn deep_nesting_is_refused() {
    let (engine, values) = engine();
    let sql = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
    let err = rewrite(engine.policy_set(), &values, Dialect::Postgres, &sql).unwrap_err();
    assert!(matches!(err, RewriteError::TooDeep { .. }), "{err}");
    let sql = format!(
        "SELECT * FROM {}orders{}",
        "(SELECT * FROM ".repeat(200),
        ") AS x".repeat(200)
    );
    let err = rewrite(engine.policy_set(), &values, Dialect::Postgres, &sql).unwrap_err();
    assert!(matches!(err, RewriteError::TooDeep { .. }), "{err}");
}

#[test]
fn long_operator_chains_do_not_crash() {
    let (engine, values) = engine();
    for n in [1_000, 100_000] {
        let sql = format!(
            "SELECT id FROM orders WHERE id = 0{}",
            " OR id = 1".repeat(n)
        );
        let result = rewrite(engine.policy_set(), &values, Dialect::Postgres, &sql);
        if let Err(e) = result {
            assert!(matches!(e, RewriteError::TooManyOperators { .. }), "{e}");
        }
    }
}
