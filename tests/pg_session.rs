//! The rewriter's PostgreSQL differential corpora through `Session::execute`
//! (`RAMPART_PG_URL`): every statement runs once natively under RLS as the
//! non-owner role and once through a session on the owner's connection, each
//! in a transaction that is rolled back. Errors must agree by SQLSTATE (a
//! statement the rewriter refuses is reported, not compared), rows as
//! multisets (as sequences when ordered), counts, whether the transaction is
//! still usable afterwards, and, for writes, every declared table's contents
//! inside the transaction; a write that fails must leave them unchanged.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "pg_rewrite/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "pg_rewrite/data.rs"]
mod data;
#[path = "pg_rewrite/generated.rs"]
mod generated;
#[allow(dead_code)]
#[path = "pg_native/inputs.rs"]
mod inputs;
#[allow(dead_code)]
#[path = "pg_native/random_sets.rs"]
mod random_sets;
#[path = "pg_rewrite/setup.rs"]
mod setup;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{Backend, SqlValue};
use rampart::lang::model::Limits;
use rampart::quota::{QuotaError, QuotaState, QuotaStore};
use rampart::sql::rewrite::{PlanKind, RewriteError};
use rampart::{Context, Engine, Error, Session};

use common::pg::TestDb;
use corpus::Statement;
use generated::Generator;
use random_sets::Rng;
use setup::{load, native_presets, set_context, table_names};

/// Generated queries added to each query corpus (fixed seed).
const GENERATED: usize = 150;
const SEED: u64 = 0x5EED_0F5E_1EC7;

/// Rows as comparable text, one string per value.
type Rows = Vec<Vec<String>>;

/// What a statement gave: columns, rows and the count, or `SQLSTATE: message`.
type Answer = Result<(std::sync::Arc<[String]>, Rows, u64), String>;

/// A quota store that admits everything: the example tiers' rates would
/// refuse a corpus run at full speed.
struct Unlimited;

impl QuotaStore for Unlimited {
    fn set_limits(&self, _: &str, _: &Limits) -> Result<(), QuotaError> {
        Ok(())
    }
    fn check_qps(&self, _: &str) -> Result<(), QuotaError> {
        Ok(())
    }
    fn acquire_connection(&self, _: &str) -> Result<(), QuotaError> {
        Ok(())
    }
    fn release_connection(&self, _: &str) {}
    fn add_storage(&self, _: &str, _: i64) -> Result<u64, QuotaError> {
        Ok(0)
    }
    fn storage_used(&self, _: &str) -> Result<u64, QuotaError> {
        Ok(0)
    }
    fn state(&self, _: &str) -> Result<Option<QuotaState>, QuotaError> {
        Ok(None)
    }
}

/// One side's run of a statement inside its transaction.
#[derive(Debug)]
struct Outcome {
    answer: Answer,
    /// What `SELECT 1` gives next in the same transaction: `ok` or a SQLSTATE.
    after: String,
    /// Every declared table's rows (sorted) after a write, in the transaction,
    /// or the SQLSTATE reading them gave.
    tables: Option<Result<Vec<Rows>, String>>,
}

fn text_rows(rows: &[Vec<SqlValue>]) -> Rows {
    rows.iter()
        .map(|r| r.iter().map(|v| format!("{v:?}")).collect())
        .collect()
}

fn sorted(mut rows: Rows) -> Rows {
    rows.sort();
    rows
}

/// Every declared table's rows, sorted, read as is on `backend`.
fn contents(backend: &mut dyn Backend, names: &[String]) -> Result<Vec<Rows>, String> {
    names
        .iter()
        .map(|name| {
            let raw = backend
                .run(&format!("SELECT * FROM {name}"), true)
                .map_err(|e| e.sqlstate)?;
            Ok(sorted(text_rows(&raw.rows)))
        })
        .collect()
}

/// What `SELECT 1` gives on `backend` now.
fn probe(result: Result<(), String>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(e) => e.get(..5).unwrap_or(&e).to_string(),
    }
}

/// How the statement is run natively: whether it returns rows (a query or
/// RETURNING) and whether it writes.
#[derive(Clone, Copy)]
struct Shape {
    returns_rows: bool,
    write: bool,
}

/// Runs `sql` natively: the owner's connection as the non-owner role
/// (`SET LOCAL ROLE`), so that the tables can be read whole afterwards.
fn native(
    backend: &mut PostgresBackend,
    role: &str,
    names: &[String],
    sql: &str,
    shape: Shape,
) -> Outcome {
    backend.batch("BEGIN").unwrap();
    backend.batch(&format!("SET LOCAL ROLE {role}")).unwrap();
    let answer = backend
        .run(sql, shape.returns_rows)
        .map(|raw| (raw.columns, text_rows(&raw.rows), raw.affected))
        .map_err(|e| format!("{}: {}", e.sqlstate, e.message));
    let after = probe(
        backend
            .run("SELECT 1", true)
            .map(|_| ())
            .map_err(|e| e.sqlstate.clone()),
    );
    let tables = (shape.write && answer.is_ok()).then(|| {
        backend.batch("RESET ROLE").unwrap();
        contents(backend, names)
    });
    backend.batch("ROLLBACK").unwrap();
    Outcome {
        answer,
        after,
        tables,
    }
}

/// Runs `sql` through the session inside `BEGIN` … `ROLLBACK`.
fn through_session(session: &mut Session, names: &[String], sql: &str, write: bool) -> Outcome {
    session.execute("BEGIN").unwrap();
    let answer = session
        .execute(sql)
        .map(|r| (r.columns, text_rows(&r.rows), r.affected))
        .map_err(|e| format!("{}: {e}", e.sqlstate()));
    let after = probe(
        session
            .execute("SELECT 1")
            .map(|_| ())
            .map_err(|e| e.sqlstate().to_string()),
    );
    // Read even after a failure: the statement must have changed nothing.
    let tables = write.then(|| contents(session.backend_mut(), names));
    session.execute("ROLLBACK").unwrap();
    Outcome {
        answer,
        after,
        tables,
    }
}

/// Where the two outcomes differ, if they do.
fn difference(
    native: &Outcome,
    session: &Outcome,
    ordered: bool,
    before: &[Rows],
) -> Option<String> {
    match (&native.answer, &session.answer) {
        (Ok((nc, nr, na)), Ok((sc, sr, sa))) => {
            if !nr.is_empty() && nc != sc {
                return Some(format!("columns {nc:?} / {sc:?}"));
            }
            let same = if ordered {
                nr == sr
            } else {
                sorted(nr.clone()) == sorted(sr.clone())
            };
            if !same {
                return Some("rows".into());
            }
            if na != sa {
                return Some(format!("count {na} / {sa}"));
            }
            if native.tables != session.tables {
                return Some("table contents".into());
            }
        }
        (Err(a), Err(b)) => {
            if a.get(..5) != b.get(..5) {
                return Some("SQLSTATE".into());
            }
            if session
                .tables
                .as_ref()
                .is_some_and(|t| t.as_deref() != Ok(before))
            {
                return Some("a failed write changed the tables".into());
            }
        }
        _ => return Some("outcome".into()),
    }
    (native.after != session.after).then(|| {
        format!(
            "the transaction afterwards: {} / {}",
            native.after, session.after
        )
    })
}

fn brief(outcome: &Outcome) -> String {
    let answer = match &outcome.answer {
        Ok((columns, rows, affected)) => {
            let mut first = sorted(rows.clone());
            first.truncate(6);
            format!(
                "{affected} affected, {} rows {columns:?}, first sorted: {first:?}",
                rows.len()
            )
        }
        Err(e) => format!("error {e}"),
    };
    let tables = outcome
        .tables
        .as_ref()
        .map(|t| match t {
            Ok(t) => format!(
                ", table sizes {:?}",
                t.iter().map(Vec::len).collect::<Vec<_>>()
            ),
            Err(e) => format!(", the tables cannot be read: {e}"),
        })
        .unwrap_or_default();
    format!("{answer}; then {}{tables}", outcome.after)
}

/// What one corpus file's run compared and found.
#[derive(Default)]
struct Report {
    compared: usize,
    rows_seen: usize,
    errors_agreed: usize,
    refusals: usize,
    /// Refused statements: the rewriter's message, and whether PostgreSQL ran it.
    refused: BTreeMap<String, (String, bool)>,
    divergences: BTreeMap<String, String>,
    mismatches: Vec<String>,
}

/// Runs one corpus file (plus generated queries for query corpora) under
/// each of its contexts.
fn run(file: &str, generated: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tests/pg_rewrite").join(file);
    let corpus = corpus::parse(file, &std::fs::read_to_string(&path).unwrap());
    let engine = Engine::load(root.join(&corpus.policies))
        .unwrap()
        .with_quota_store(Arc::new(Unlimited));
    let Some(db) = TestDb::create() else { return };
    let mut su = db.superuser();
    load(&db, &mut su, &engine, &corpus, &mut Rng::new(SEED));
    for setup in &corpus.setup {
        su.batch_execute(setup).unwrap();
    }
    native_presets(&mut su, &engine);
    let mut statements: Vec<Statement> = corpus.statements.clone();
    let hand_written = statements.len();
    statements
        .extend(Generator::new(engine.policy_set(), &corpus.pools, SEED).statements(generated));
    let names = table_names(&engine);
    let timed = || {
        let mut c = db.superuser();
        c.batch_execute("SET statement_timeout = '10s'").unwrap();
        c
    };
    let mut session: Option<Session> = None;
    let mut report = Report::default();
    for ctx_json in &corpus.contexts {
        let ctx = Context::from_json(ctx_json).unwrap();
        // A native connection with the context's settings; one session,
        // switched from context to context.
        let mut client = timed();
        set_context(&mut client, &engine, &ctx);
        let mut native = PostgresBackend::from_client(client);
        let session = match &mut session {
            Some(s) => {
                s.switch_context(ctx).unwrap();
                s
            }
            None => session.insert(
                engine
                    .connect(ctx, Box::new(PostgresBackend::from_client(timed())))
                    .unwrap(),
            ),
        };
        let before = contents(session.backend_mut(), &names).unwrap();
        for s in &statements {
            compare(
                session,
                &mut native,
                &db.role,
                &names,
                &before,
                s,
                ctx_json,
                &mut report,
            );
        }
    }
    eprintln!(
        "{file} through Session: {} contexts × {} statements ({hand_written} hand-written, \
         {} generated): {} compared ({} rows, {} agreeing errors), {} refusals of {} distinct statements",
        corpus.contexts.len(),
        statements.len(),
        statements.len() - hand_written,
        report.compared,
        report.rows_seen,
        report.errors_agreed,
        report.refusals,
        report.refused.len()
    );
    for (sql, (why, accepted)) in &report.refused {
        let pg = if *accepted {
            "PostgreSQL accepts it"
        } else {
            "PostgreSQL fails too"
        };
        eprintln!("  refused ({pg}): {sql}\n    {why}");
    }
    for (sql, what) in &report.divergences {
        eprintln!("  known divergence: {sql}\n    {what}");
    }
    assert!(
        report.mismatches.is_empty(),
        "{} mismatches between Session and native RLS:\n\n{}",
        report.mismatches.len(),
        report.mismatches.join("\n\n")
    );
}

/// Runs one statement on both sides under the current context.
#[allow(clippy::too_many_arguments)]
fn compare(
    session: &mut Session,
    user: &mut PostgresBackend,
    role: &str,
    names: &[String],
    before: &[Rows],
    s: &Statement,
    ctx_json: &str,
    report: &mut Report,
) {
    let shape = match session.rewritten(&s.sql) {
        Ok(rewritten) => {
            let plan = &rewritten.plan[0];
            let write = !matches!(plan.kind, PlanKind::Query | PlanKind::Transaction(_));
            Some(Shape {
                returns_rows: !write || plan.had_returning,
                write,
            })
        }
        // A bad row or a failing policy found when rewriting: an outcome.
        Err(e)
            if matches!(e, Error::Rewrite(RewriteError::RowViolation { .. }))
                || e.sqlstate().starts_with("22") =>
        {
            None
        }
        Err(e) => {
            let native = native(
                user,
                role,
                names,
                &s.sql,
                Shape {
                    returns_rows: true,
                    write: false,
                },
            );
            report.refusals += 1;
            report
                .refused
                .entry(s.sql.clone())
                .or_insert_with(|| (format!("{} {e}", e.sqlstate()), native.answer.is_ok()));
            return;
        }
    };
    // Refused while rewriting: a write (only writes have rows to check then).
    let shape = shape.unwrap_or(Shape {
        returns_rows: false,
        write: true,
    });
    let native = native(user, role, names, &s.sql, shape);
    let got = through_session(session, names, &s.sql, shape.write);
    if let Some(why) = &s.diverges {
        report.divergences.insert(
            s.sql.clone(),
            format!(
                "{why}\n    native RLS: {}\n    session:    {}",
                brief(&native),
                brief(&got)
            ),
        );
        return;
    }
    report.compared += 1;
    match &native.answer {
        Ok((_, rows, _)) => report.rows_seen += rows.len(),
        Err(_) => report.errors_agreed += 1,
    }
    if let Some(what) = difference(&native, &got, s.ordered, before) {
        report.mismatches.push(format!(
            "{}: {what}\ncontext: {ctx_json}\nstatement: {}\nnative RLS: {}\nsession:    {}",
            s.origin,
            s.sql,
            brief(&native),
            brief(&got)
        ));
    }
}

#[test]
fn saas_queries_through_session_agree_with_native_rls() {
    run("saas.sql", GENERATED);
}

#[test]
fn healthcare_queries_through_session_agree_with_native_rls() {
    run("healthcare.sql", GENERATED);
}

#[test]
fn blog_queries_through_session_agree_with_native_rls() {
    run("blog.sql", GENERATED);
}

#[test]
fn saas_inserts_through_session_agree_with_native_rls() {
    run("saas_inserts.sql", 0);
}

#[test]
fn blog_inserts_through_session_agree_with_native_rls() {
    run("blog_inserts.sql", 0);
}

#[test]
fn cell_by_cell_inserts_through_session_agree_with_native_rls() {
    run("cells_inserts.sql", 0);
}

#[test]
fn saas_updates_and_deletes_through_session_agree_with_native_rls() {
    run("saas_writes.sql", 0);
}

#[test]
fn blog_updates_and_deletes_through_session_agree_with_native_rls() {
    run("blog_writes.sql", 0);
}
