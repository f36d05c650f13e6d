//! INSERT statements against PostgreSQL 15: each runs in a rolled-back
//! transaction, natively under RLS as the non-owner role (`SET LOCAL ROLE`)
//! and rewritten as the owner with its appended checks verified as an
//! executor would (any value but true, or a marked violation error, is
//! 42501); the SQLSTATE, the RETURNING rows and every table's contents must agree.

use std::path::Path;

use postgres::Client;
use rampart::sql::rewrite::violation_in_message;
use rampart::{Context, Dialect, Engine};

use crate::common::pg::TestDb;
use crate::random_sets::Rng;
use crate::setup::{load, set_context, table_names};
use crate::{answer, brief, Answer, Report};

/// What a statement did: its RETURNING rows (sorted) and then every
/// table's rows (sorted), or its SQLSTATE and message.
type Outcome = Result<Vec<Vec<Vec<Option<String>>>>, String>;

fn sorted(mut rows: Vec<Vec<Option<String>>>) -> Vec<Vec<Option<String>>> {
    rows.sort();
    rows
}

/// Every declared table's rows, sorted.
fn contents(client: &mut Client, engine: &Engine) -> Result<Vec<Vec<Vec<Option<String>>>>, String> {
    let mut out = Vec::new();
    for name in table_names(engine) {
        let (_, rows) = answer(client, &format!("SELECT * FROM {name}"))?;
        out.push(sorted(rows));
    }
    Ok(out)
}

/// Runs `sql` in a transaction that is rolled back, then reads the tables.
fn in_transaction(
    su: &mut Client,
    engine: &Engine,
    role: Option<&str>,
    sql: &str,
    checks: usize,
) -> Outcome {
    su.batch_execute("BEGIN").unwrap();
    if let Some(role) = role {
        su.batch_execute(&format!("SET LOCAL ROLE {role}")).unwrap();
    }
    let got: Answer = answer(su, sql);
    let outcome = match got {
        Err(e) => Err(match violation_in_message(&e) {
            Some(text) => format!("42501: {text}"),
            None => e,
        }),
        Ok((columns, rows)) => {
            let width = columns.len();
            let violated = rows.iter().any(|row| {
                row.iter()
                    .skip(width - checks)
                    .any(|v| v.as_deref() != Some("t"))
            });
            if violated {
                Err("42501: an appended check is not true".into())
            } else {
                // Only appended checks: the user wrote no RETURNING.
                let user_rows = if width == checks { Vec::new() } else { rows };
                let user: Vec<Vec<Option<String>>> = user_rows
                    .into_iter()
                    .map(|mut r| {
                        r.truncate(width - checks);
                        r
                    })
                    .collect();
                let _ = su.batch_execute("RESET ROLE");
                contents(su, engine).map(|mut tables| {
                    tables.insert(0, sorted(user));
                    tables
                })
            }
        }
    };
    su.batch_execute("ROLLBACK").unwrap();
    outcome
}

fn agree(native: &Outcome, rewritten: &Outcome) -> bool {
    match (native, rewritten) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.get(..5) == b.get(..5),
        _ => false,
    }
}

fn short(outcome: &Outcome) -> String {
    match outcome {
        Ok(tables) => format!(
            "ok, returning {:?}",
            tables.first().map(|t| brief(&Ok((Vec::new(), t.clone()))))
        ),
        Err(e) => format!("error {e}"),
    }
}

/// Runs one INSERT corpus file under each of its contexts.
pub fn run(file: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tests/pg_rewrite").join(file);
    let corpus = crate::corpus::parse(file, &std::fs::read_to_string(&path).unwrap());
    let engine = Engine::load(root.join(&corpus.policies)).unwrap();
    let Some(db) = TestDb::create() else { return };
    let mut su = db.superuser();
    let mut rng = Rng::new(crate::FIXED_SEED);
    load(&db, &mut su, &engine, &corpus, &mut rng);
    for setup in &corpus.setup {
        su.batch_execute(setup).unwrap();
    }
    su.batch_execute("SET statement_timeout = '10s'").unwrap();
    let mut report = Report::default();
    for ctx_json in &corpus.contexts {
        let ctx = Context::from_json(ctx_json).unwrap();
        set_context(&mut su, &engine, &ctx);
        report.contexts += 1;
        for s in &corpus.statements {
            let native = in_transaction(&mut su, &engine, Some(&db.role), &s.sql, 0);
            let rewritten = match engine.rewrite_planned(&ctx, Dialect::Postgres, &s.sql) {
                Ok(out) => {
                    let checks = out.plan.first().map_or(0, |p| p.checks.len());
                    in_transaction(&mut su, &engine, None, &out.sql, checks)
                }
                // A bad row or a failing policy found when rewriting: an outcome.
                Err(e) if e.sqlstate() == "42501" || e.sqlstate().starts_with("22") => {
                    Err(format!("{}: {e}", e.sqlstate()))
                }
                Err(e) => {
                    report.refusals += 1;
                    report
                        .refused
                        .entry(s.sql.clone())
                        .or_insert_with(|| (format!("{} {e}", e.sqlstate()), native.is_ok()));
                    continue;
                }
            };
            if let Some(why) = s.diverges.as_ref().or(s.diverges_without_defaults.as_ref()) {
                report.divergences.insert(
                    s.sql.clone(),
                    format!(
                        "{why}\n    native RLS: {}\n    rewriter:   {}",
                        short(&native),
                        short(&rewritten)
                    ),
                );
                continue;
            }
            report.compared += 1;
            if native.is_err() {
                report.errors_agreed += 1;
            }
            if !agree(&native, &rewritten) {
                report.mismatches.push(format!(
                    "{}\ncontext: {ctx_json}\nstatement: {}\nnative RLS: {}\nrewriter:   {}",
                    s.origin,
                    s.sql,
                    short(&native),
                    short(&rewritten)
                ));
            }
        }
    }
    eprintln!(
        "{file}: {} contexts × {} statements: {} compared ({} agreeing errors), {} refusals",
        corpus.contexts.len(),
        corpus.statements.len(),
        report.compared,
        report.errors_agreed,
        report.refusals
    );
    for (sql, (why, accepted)) in &report.refused {
        eprintln!("  refused (PostgreSQL accepts it: {accepted}): {sql}\n    {why}");
    }
    for (sql, what) in &report.divergences {
        eprintln!("  known divergence: {sql}\n    {what}");
    }
    assert!(
        report.mismatches.is_empty(),
        "{} mismatches with native RLS:\n\n{}",
        report.mismatches.len(),
        report.mismatches.join("\n\n")
    );
}
