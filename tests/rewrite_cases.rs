//! Rewriter cases as data: each `tests/rewrite/*.sql` names its policy set,
//! context and dialect in `-- key: value` header lines, then the SQL; the
//! rewritten SQL (or the refusal with its SQLSTATE) is snapshotted, and
//! every rewritten output must parse again in its dialect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::{Context, Dialect, Engine};
use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

struct Case {
    policies: String,
    context: String,
    dialect: Dialect,
    sql: String,
}

fn read_case(name: &str, text: &str) -> Case {
    let mut policies = None;
    let mut context = None;
    let mut dialect = Dialect::Postgres;
    let mut sql = String::new();
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        let header = line
            .trim_end()
            .strip_prefix("-- ")
            .and_then(|l| l.split_once(": "));
        match header {
            Some(("policies", v)) if in_header => policies = Some(v.to_string()),
            Some(("context", v)) if in_header => context = Some(v.to_string()),
            Some(("dialect", "postgres")) if in_header => dialect = Dialect::Postgres,
            Some(("dialect", "sqlite")) if in_header => dialect = Dialect::Sqlite,
            _ => {
                in_header = false;
                sql.push_str(line);
            }
        }
    }
    Case {
        policies: policies.unwrap_or_else(|| panic!("{name}: no `-- policies:` line")),
        context: context.unwrap_or_else(|| panic!("{name}: no `-- context:` line")),
        dialect,
        sql: sql.trim_end().to_string(),
    }
}

fn run_case(name: &str, case: &Case) -> String {
    let engine = Engine::load(&case.policies).unwrap();
    let ctx = Context::from_json(&case.context).unwrap();
    match engine.rewrite(&ctx, case.dialect, &case.sql) {
        Ok(sql) => {
            let reparsed = match case.dialect {
                Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, &sql),
                Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, &sql),
            };
            assert!(reparsed.is_ok(), "{name}: output does not parse: {sql}");
            format!("ok\n{sql}\n")
        }
        Err(e) => format!("error[{}]: {e}\n", e.sqlstate()),
    }
}

#[test]
fn rewrite_cases() {
    insta::glob!("rewrite/*.sql", |path| {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let case = read_case(&name, &text);
        let out = run_case(&name, &case);
        insta::assert_snapshot!(format!("{}\n---\n{out}", case.sql));
    });
}
