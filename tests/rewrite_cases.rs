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

/// A `TenantRewriter` keeps the policy subqueries it made for earlier
/// statements and lends them to later ones: every case rewritten through
/// one shared per (policies, context, dialect), in order, in reverse and in
/// order again (so copies given back by every kind of statement are lent
/// again), must come out as the uncached rewrite does.
#[test]
fn tenant_rewriter_matches_uncached_rewrite() {
    use std::collections::BTreeMap;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rewrite");
    let mut groups: BTreeMap<(String, String, bool), Vec<(String, String)>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let case = read_case(&name, &std::fs::read_to_string(&path).unwrap());
        let key = (case.policies, case.context, case.dialect == Dialect::Sqlite);
        groups.entry(key).or_default().push((name, case.sql));
    }
    let mut compared = 0;
    for ((policies, context, sqlite), cases) in &groups {
        let engine = Engine::load(policies).unwrap();
        let ctx = Context::from_json(context).unwrap();
        let dialect = if *sqlite {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        };
        let Ok(tenant) = engine.tenant_rewriter(&ctx, dialect) else {
            // A context the policies refuse: so does every uncached rewrite.
            assert!(engine.rewrite(&ctx, dialect, "SELECT 1").is_err());
            continue;
        };
        for (name, sql) in cases.iter().chain(cases.iter().rev()).chain(cases) {
            let uncached = engine
                .rewrite(&ctx, dialect, sql)
                .map_err(|e| e.to_string());
            let cached = tenant
                .rewrite(sql, Default::default())
                .map(|r| r.sql)
                .map_err(|e| rampart::Error::from(e).to_string());
            assert_eq!(cached, uncached, "{name}");
            compared += 1;
        }
    }
    assert!(compared > 300, "only {compared} cases compared");
}

/// A tenant's kept parts of a write target are kept for a few aliases of a
/// table only: statements naming it by ever new aliases are rewritten as
/// the uncached rewrite does, those past the limit included, and the first
/// aliases are still served after them.
#[test]
fn tenant_rewriter_serves_many_aliases_as_uncached() {
    let engine = Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas")).unwrap();
    let ctx = Context::from_json(
        r#"{"tenant": {"id": "acme", "plan": "pro"},
            "request": {"user": "bob", "roles": ["member"]}}"#,
    )
    .unwrap();
    let tenant = engine.tenant_rewriter(&ctx, Dialect::Postgres).unwrap();
    let statements = |alias: usize| {
        [
            format!("SELECT a{alias}.id FROM orders a{alias} WHERE a{alias}.status = 'open'"),
            format!(
                "UPDATE orders a{alias} SET amount = a{alias}.amount + 1 \
                 WHERE a{alias}.id = 1 RETURNING a{alias}.id"
            ),
            format!("DELETE FROM orders a{alias} WHERE a{alias}.id = {alias} RETURNING id"),
        ]
    };
    for alias in (0..40).chain(0..3) {
        for sql in statements(alias) {
            let uncached = engine.rewrite(&ctx, Dialect::Postgres, &sql).unwrap();
            let cached = tenant.rewrite(&sql, Default::default()).unwrap();
            assert_eq!(cached.sql, uncached, "{sql}");
            // (A member deletes nothing: DELETE's predicate is `false`.)
            if !sql.starts_with("DELETE") {
                assert!(
                    cached.sql.contains(&format!("\"a{alias}\".")),
                    "{}",
                    cached.sql
                );
            }
        }
    }
}

/// A script's rewrite holds one text: its statements joined by `";\n"`,
/// each part the statement's own rewrite, one per plan (a string literal
/// holding `;` does not split a statement).
#[test]
fn each_statement_is_its_part_of_the_text() {
    let root = env!("CARGO_MANIFEST_DIR");
    let engine = Engine::load(format!("{root}/policies/saas")).unwrap();
    let ctx = Context::from_json(
        r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#,
    )
    .unwrap();
    let tenant = engine.tenant_rewriter(&ctx, Dialect::Postgres).unwrap();
    let parts = [
        "SELECT id FROM orders WHERE status = 'a;\nb'",
        "UPDATE orders SET amount = amount + 1 WHERE status = 'open' RETURNING id",
        "BEGIN",
        "DELETE FROM orders WHERE id = 3",
    ];
    let script = tenant
        .rewrite(&parts.join("; "), Default::default())
        .unwrap();
    let alone: Vec<String> = parts
        .iter()
        .map(|sql| tenant.rewrite(sql, Default::default()).unwrap().sql)
        .collect();
    assert_eq!(script.statements().collect::<Vec<_>>(), alone);
    assert_eq!(script.statements().len(), script.plan.len());
    assert_eq!(script.sql, alone.join(";\n"));
}
