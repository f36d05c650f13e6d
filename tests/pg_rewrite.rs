//! The rewriter against PostgreSQL 15 (`RAMPART_PG_URL`): for each example
//! policy set and several contexts, every corpus statement run as a
//! non-owner under native RLS must give what its rewrite gives as the owner;
//! INSERTs (`saas_inserts.sql`) are compared by outcome and table contents.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "pg_rewrite/corpus.rs"]
mod corpus;
#[path = "pg_rewrite/data.rs"]
mod data;
#[path = "pg_rewrite/generated.rs"]
mod generated;
#[allow(dead_code)]
#[path = "pg_native/inputs.rs"]
mod inputs;
#[path = "pg_rewrite/inserts.rs"]
mod inserts;
#[path = "pg_rewrite/leak.rs"]
mod leak;
#[allow(dead_code)]
#[path = "pg_native/random_sets.rs"]
mod random_sets;
#[path = "pg_rewrite/setup.rs"]
mod setup;

use std::collections::BTreeMap;
use std::path::Path;

use postgres::{Client, SimpleQueryMessage};
use rampart::{Context, Dialect, Engine};

use common::pg::{describe, TestDb};
use corpus::Statement;
use generated::Generator;
use random_sets::Rng;
use setup::{load, set_context};

const GENERATED_FIXED: usize = 150;
const GENERATED_VARYING: usize = 60;
const FIXED_SEED: u64 = 0x5EED_0F5E_1EC7;

/// A statement's result: column names and rows as text, or `SQLSTATE: message`.
pub type Answer = Result<(Vec<String>, Vec<Vec<Option<String>>>), String>;

/// Runs one statement with the simple protocol (every value as text).
pub fn answer(client: &mut Client, sql: &str) -> Answer {
    let messages = client.simple_query(sql).map_err(|e| describe(&e))?;
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for m in messages {
        if let SimpleQueryMessage::Row(row) = m {
            if columns.is_empty() {
                columns = row.columns().iter().map(|c| c.name().to_string()).collect();
            }
            rows.push(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            );
        }
    }
    Ok((columns, rows))
}

/// Whether two answers agree: rows as multisets (as sequences when
/// `ordered`), errors by SQLSTATE.
pub fn agree(native: &Answer, rewritten: &Answer, ordered: bool) -> bool {
    match (native, rewritten) {
        (Ok((nc, nr)), Ok((rc, rr))) => {
            let sorted = |rows: &Vec<Vec<Option<String>>>| {
                let mut rows = rows.clone();
                rows.sort();
                rows
            };
            (nr.is_empty() || nc == rc)
                && if ordered {
                    nr == rr
                } else {
                    sorted(nr) == sorted(rr)
                }
        }
        (Err(a), Err(b)) => a.get(..5) == b.get(..5),
        _ => false,
    }
}

/// [`agree`], where the tenant's quota tier caps a query's rows at
/// `max_rows` (a `LIMIT` the rewriter adds): a native answer with more rows
/// agrees with exactly `max_rows` of them (its first ones when `ordered`).
pub fn agree_capped(
    native: &Answer,
    rewritten: &Answer,
    ordered: bool,
    max_rows: Option<u64>,
) -> bool {
    let cap = max_rows.and_then(|m| usize::try_from(m).ok());
    match (native, rewritten, cap) {
        (Ok((nc, nr)), Ok((rc, rr)), Some(cap)) if nr.len() > cap => {
            if nc != rc || rr.len() != cap {
                return false;
            }
            if ordered {
                return nr.get(..cap) == Some(rr.as_slice());
            }
            // Each returned row taken out of the native multiset once.
            let mut left = nr.clone();
            left.sort();
            rr.iter().all(|row| match left.binary_search(row) {
                Ok(i) => {
                    left.remove(i);
                    true
                }
                Err(_) => false,
            })
        }
        _ => agree(native, rewritten, ordered),
    }
}

/// Short text of an answer, for reports.
pub fn brief(answer: &Answer) -> String {
    match answer {
        Ok((columns, rows)) => {
            let mut first = rows.clone();
            first.sort();
            first.truncate(8);
            format!("{} rows {columns:?}, first sorted: {first:?}", rows.len())
        }
        Err(e) => format!("error {e}"),
    }
}

/// What one corpus file's run compared and found.
#[derive(Default)]
pub struct Report {
    pub contexts: usize,
    pub compared: usize,
    pub rows_seen: usize,
    pub errors_agreed: usize,
    /// Refused statements: the rewriter's message, and whether PostgreSQL
    /// ran the statement under native RLS.
    pub refused: BTreeMap<String, (String, bool)>,
    pub refusals: usize,
    /// Statements marked `-- diverges:` (known, documented differences) and what they gave.
    pub divergences: BTreeMap<String, String>,
    pub mismatches: Vec<String>,
}

/// Compares every statement under one context.
fn compare(
    engine: &Engine,
    ctx_json: &str,
    user: &mut Client,
    su: &mut Client,
    statements: &[Statement],
    report: &mut Report,
) {
    let ctx = Context::from_json(ctx_json).unwrap();
    set_context(user, engine, &ctx);
    report.contexts += 1;
    // The quota tier's `max_rows`, which the rewriter adds as a LIMIT.
    let values = engine.context_values(&ctx).unwrap();
    let max_rows = rampart::policy::quota::resolve(engine.policy_set(), &values)
        .limits
        .max_rows;
    for s in statements {
        let native = answer(user, &s.sql);
        let rewritten = match engine.rewrite(&ctx, Dialect::Postgres, &s.sql) {
            Ok(sql) => sql,
            Err(e) => {
                report.refusals += 1;
                report
                    .refused
                    .entry(s.sql.clone())
                    .or_insert_with(|| (format!("{} {e}", e.sqlstate()), native.is_ok()));
                continue;
            }
        };
        let got = answer(su, &rewritten);
        if let Some(why) = s.diverges.as_ref().or(s.diverges_without_defaults.as_ref()) {
            report.divergences.insert(
                s.sql.clone(),
                format!(
                    "{why}\n    native RLS: {}\n    rewriter:   {}",
                    brief(&native),
                    brief(&got)
                ),
            );
            continue;
        }
        report.compared += 1;
        match &native {
            Ok((_, rows)) => report.rows_seen += rows.len(),
            Err(_) => report.errors_agreed += 1,
        }
        if !agree_capped(&native, &got, s.ordered, max_rows) {
            report.mismatches.push(format!(
                "{}\ncontext: {ctx_json}\nstatement: {}\nrewritten: {rewritten}\nnative RLS: {}\nrewriter:   {}",
                s.origin,
                s.sql,
                brief(&native),
                brief(&got)
            ));
        }
    }
}

/// The seed of the varying part: `RAMPART_PG_REWRITE_SEED`, else the time.
fn varying_seed() -> u64 {
    std::env::var("RAMPART_PG_REWRITE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_secs())
        })
}

/// Runs one corpus file: hand-written and generated statements under each
/// of its contexts, then the leak test.
fn run_corpus(file: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tests/pg_rewrite").join(file);
    let corpus = corpus::parse(file, &std::fs::read_to_string(&path).unwrap());
    let engine = Engine::load(root.join(&corpus.policies)).unwrap();
    let Some(db) = TestDb::create() else { return };
    let mut su = db.superuser();
    let mut rng = Rng::new(FIXED_SEED);
    load(&db, &mut su, &engine, &corpus, &mut rng);
    let set = engine.policy_set();
    let seed = varying_seed();
    let mut statements = corpus.statements.clone();
    let hand_written = statements.len();
    statements.extend(Generator::new(set, &corpus.pools, FIXED_SEED).statements(GENERATED_FIXED));
    statements.extend(Generator::new(set, &corpus.pools, seed).statements(GENERATED_VARYING));
    let mut user = db.unprivileged();
    for c in [&mut su, &mut user] {
        c.batch_execute("SET statement_timeout = '10s'").unwrap();
    }
    let mut report = Report::default();
    for ctx in &corpus.contexts {
        compare(&engine, ctx, &mut user, &mut su, &statements, &mut report);
    }
    let leaks = leak::run(&engine, &corpus.contexts, &mut user, &mut su, &mut report);
    eprintln!(
        "{file}: {} contexts × {} statements ({hand_written} hand-written, {} generated, \
         varying seed {seed}): {} compared ({} rows, {} agreeing errors), {} leak queries; \
         {} refusals of {} distinct statements",
        corpus.contexts.len(),
        statements.len(),
        statements.len() - hand_written,
        report.compared,
        report.rows_seen,
        report.errors_agreed,
        leaks,
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
        "{} mismatches with native RLS (RAMPART_PG_REWRITE_SEED={seed} replays the varying part):\n\n{}",
        report.mismatches.len(),
        report.mismatches.join("\n\n")
    );
}

#[test]
fn saas_queries_agree_with_native_rls() {
    run_corpus("saas.sql");
}

#[test]
fn healthcare_queries_agree_with_native_rls() {
    run_corpus("healthcare.sql");
}

#[test]
fn blog_queries_agree_with_native_rls() {
    run_corpus("blog.sql");
}

#[test]
fn saas_inserts_agree_with_native_rls() {
    inserts::run("saas_inserts.sql");
}

#[test]
fn blog_inserts_agree_with_native_rls() {
    inserts::run("blog_inserts.sql");
}

#[test]
fn cell_by_cell_inserts_agree_with_native_rls() {
    inserts::run("cells_inserts.sql");
}

#[test]
fn inserts_leaving_read_columns_to_the_database_agree_with_native_rls() {
    inserts::run("defaults_inserts.sql");
}

#[test]
fn saas_updates_and_deletes_agree_with_native_rls() {
    inserts::run("saas_writes.sql");
}

#[test]
fn blog_updates_and_deletes_agree_with_native_rls() {
    inserts::run("blog_writes.sql");
}
