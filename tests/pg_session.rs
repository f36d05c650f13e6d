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
// `diverges_without_defaults` is not read here: a session knows the defaults.
#[allow(dead_code)]
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
#[path = "pg_rewrite/outcome.rs"]
mod outcome;
#[allow(dead_code)]
#[path = "pg_native/random_sets.rs"]
mod random_sets;
#[path = "pg_rewrite/setup.rs"]
mod setup;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rampart::exec::pg::PostgresBackend;
use rampart::{Context, Engine, Session};

use common::pg::TestDb;
use corpus::Statement;
use generated::Generator;
use outcome::{brief, contents, difference, native, through_session, Rows, Shape, Unlimited};
use random_sets::Rng;
use setup::{load, set_context, table_names};

/// Generated queries added to each query corpus (fixed seed).
const GENERATED: usize = 150;
const SEED: u64 = 0x5EED_0F5E_1EC7;

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
    let shape = match outcome::shape(session, &s.sql) {
        Ok(shape) => shape,
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
fn guard_copy_inserts_through_session_agree_with_native_rls() {
    run("guards_inserts.sql", 0);
}

#[test]
fn saas_updates_and_deletes_through_session_agree_with_native_rls() {
    run("saas_writes.sql", 0);
}

#[test]
fn blog_updates_and_deletes_through_session_agree_with_native_rls() {
    run("blog_writes.sql", 0);
}

/// Rows leaving to the database a column their policies read: the session
/// reads the columns' defaults and guards them (no known divergence left).
#[test]
fn inserts_leaving_read_columns_to_the_database_through_session_agree_with_native_rls() {
    run("defaults_inserts.sql", 0);
}
