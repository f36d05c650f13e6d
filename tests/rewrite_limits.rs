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

/// sqlparser prints a quote that follows a backslash or another quote as
/// is, so such text would end its literal early when printed back: a user
/// literal `'\'' OR 1=1)) AS orders UNION ALL SELECT … --'` would become SQL
/// the rewriter never saw. Such literals and identifiers are refused; plain
/// doubled quotes (`'it''s'`) print back correctly and are kept.
#[test]
fn literals_that_cannot_be_printed_back_are_refused() {
    let (engine, values) = engine();
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        for sql in [
            r"SELECT id FROM orders WHERE note = '\'' OR 1=1)) AS orders UNION ALL SELECT id FROM orders --'",
            "SELECT id FROM orders WHERE note = ''''''",
            r#"SELECT 1 AS "a\""" FROM orders"#,
            r#"SELECT 1 AS "a""""b" FROM orders"#,
        ] {
            let error = rewrite(engine.policy_set(), &values, dialect, sql).unwrap_err();
            assert!(
                matches!(&error, RewriteError::Unsupported { construct } if construct.contains("cannot be printed back")),
                "{dialect:?} {sql}: {error}"
            );
        }
        let kept = rewrite(
            engine.policy_set(),
            &values,
            dialect,
            r#"SELECT id AS "a""b" FROM orders WHERE note = 'it''s' OR note = 'C:\dir'"#,
        )
        .unwrap();
        assert!(kept.sql.contains(r#""a""b""#), "{}", kept.sql);
        assert!(
            kept.sql.contains("'it''s'") && kept.sql.contains(r"'C:\dir'"),
            "{}",
            kept.sql
        );
    }
}
