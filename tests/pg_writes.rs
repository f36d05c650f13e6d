//! Generated writes through `Session::execute` against native RLS
//! (`RAMPART_PG_URL`): random policy sets (permissive and restrictive, per
//! command, `to` roles), random INSERT (VALUES, SELECT, ON CONFLICT), UPDATE
//! (… FROM), DELETE (… USING) and SELECT … FOR UPDATE / SHARE, each run
//! natively as the non-owner role and through a session, in rolled-back
//! transactions; SQLSTATEs, rows (multisets), counts and every table's
//! contents afterwards must agree. A statement the rewriter refuses is
//! counted, not compared. `RAMPART_PG_WRITES_SEED=<n>` runs the one set of
//! seed `n` (as a failure names it); `RAMPART_PG_WRITES_SETS` sets how many.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "pg_writes/changes.rs"]
mod changes;
mod common;
#[allow(dead_code)]
#[path = "pg_rewrite/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "pg_rewrite/data.rs"]
mod data;
#[allow(dead_code)]
#[path = "pg_native/inputs.rs"]
mod inputs;
#[path = "pg_writes/inserts.rs"]
mod inserts;
#[path = "pg_rewrite/outcome.rs"]
mod outcome;
#[path = "pg_writes/policies.rs"]
mod policies;
#[allow(dead_code)]
#[path = "pg_native/random_sets.rs"]
mod random_sets;
#[path = "pg_writes/sets.rs"]
mod sets;
#[allow(dead_code)]
#[path = "pg_rewrite/setup.rs"]
mod setup;
#[path = "pg_writes/writes.rs"]
mod writes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use rampart::exec::pg::PostgresBackend;
use rampart::{Context, Session};

use common::pg::TestDb;
use outcome::{brief, contents, difference, native, through_session, Rows, Unlimited};
use random_sets::Rng;
use writes::Writes;

/// The first set's seed; set `i` has seed `SEED + i`.
const SEED: u64 = 0x0057_1FE5;
/// Sets per test function (two functions, run side by side).
const SETS: u64 = 24;
const CONTEXTS: usize = 3;
const STATEMENTS: usize = 25;
/// Mismatches shown in full; the rest are counted.
const SHOWN: usize = 12;

/// What the run compared and found.
#[derive(Default)]
struct Report {
    sets: usize,
    /// Generated sets that do not check (left out).
    unchecked: usize,
    compared: usize,
    rows_seen: usize,
    native_errors: BTreeMap<String, usize>,
    refusals: usize,
    /// A sample refused statement per distinct message.
    refused: BTreeMap<String, String>,
    mismatches: Vec<String>,
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
    )
}

/// The seeds this shard (`0` or `1` of two) runs.
fn seeds(shard: u64) -> Vec<u64> {
    if let Some(seed) = env_number("RAMPART_PG_WRITES_SEED") {
        return if shard == 0 { vec![seed] } else { Vec::new() };
    }
    let sets = env_number("RAMPART_PG_WRITES_SETS").unwrap_or(SETS * 2);
    (0..sets)
        .filter(|i| i % 2 == shard)
        .map(|i| SEED + i)
        .collect()
}

fn run(shard: u64) {
    let seeds = seeds(shard);
    if seeds.is_empty() {
        return;
    }
    let Some(db) = TestDb::create() else { return };
    let started = Instant::now();
    let mut su = db.superuser();
    let mut report = Report::default();
    for seed in seeds {
        run_set(&db, &mut su, seed, &mut report);
    }
    eprintln!(
        "pg_writes shard {shard}: {} sets ({} more did not check) × {CONTEXTS} contexts × \
         {STATEMENTS} statements in {:.1?}: {} compared ({} rows), native errors {:?}, {} refusals",
        report.sets,
        report.unchecked,
        started.elapsed(),
        report.compared,
        report.rows_seen,
        report.native_errors,
        report.refusals,
    );
    for (why, sql) in &report.refused {
        eprintln!("  refused: {why}\n    e.g. {sql}");
    }
    let total = report.mismatches.len();
    assert!(
        total == 0,
        "{total} mismatches between Session and native RLS (first {}):\n\n{}",
        total.min(SHOWN),
        report
            .mismatches
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// One policy set under `CONTEXTS` contexts, `STATEMENTS` statements each.
fn run_set(db: &TestDb, su: &mut postgres::Client, seed: u64, report: &mut Report) {
    let mut rng = Rng::new(seed);
    let Some(loaded) = sets::load(db, su, &mut rng) else {
        report.unchecked += 1;
        return;
    };
    report.sets += 1;
    let engine = loaded.engine.with_quota_store(Arc::new(Unlimited));
    let set = engine.policy_set();
    let names = sets::names(set);
    let timed = || {
        let mut c = db.superuser();
        c.batch_execute("SET statement_timeout = '10s'").unwrap();
        c
    };
    let mut writes = Writes::new(set, seed);
    let mut session: Option<Session> = None;
    for _ in 0..CONTEXTS {
        let values = random_sets::context(&mut rng, set);
        let (json, _) = inputs::context_json(set, &values);
        let ctx = Context::from_json(&json).unwrap();
        let mut client = timed();
        setup::set_context(&mut client, &engine, &ctx);
        let mut user = PostgresBackend::from_client(client);
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
        for _ in 0..STATEMENTS {
            let sql = writes.statement();
            let case = Case {
                seed,
                policies: &loaded.text,
                context: &json,
                sql: &sql,
            };
            compare(session, &mut user, &db.role, &names, &before, &case, report);
        }
    }
}

/// What a mismatch report names.
struct Case<'a> {
    seed: u64,
    policies: &'a str,
    context: &'a str,
    sql: &'a str,
}

/// Runs one statement on both sides under the current context.
fn compare(
    session: &mut Session,
    user: &mut PostgresBackend,
    role: &str,
    names: &[String],
    before: &[Rows],
    case: &Case<'_>,
    report: &mut Report,
) {
    let shape = match outcome::shape(session, case.sql) {
        Ok(shape) => shape,
        Err(e) => {
            report.refusals += 1;
            let why = format!("{} {e}", e.sqlstate());
            report
                .refused
                .entry(why)
                .or_insert_with(|| case.sql.to_string());
            return;
        }
    };
    let native = native(user, role, names, case.sql, shape);
    let got = through_session(session, names, case.sql, shape.write);
    report.compared += 1;
    match &native.answer {
        Ok((_, rows, _)) => report.rows_seen += rows.len(),
        Err(e) => {
            let code = e.get(..5).unwrap_or(e).to_string();
            *report.native_errors.entry(code).or_default() += 1;
        }
    }
    if let Some(what) = difference(&native, &got, false, before) {
        report.mismatches.push(format!(
            "{what} (RAMPART_PG_WRITES_SEED={})\n{}context: {}\nstatement: {}\nnative RLS: {}\nsession:    {}",
            case.seed,
            case.policies,
            case.context,
            case.sql,
            brief(&native),
            brief(&got)
        ));
    }
}

#[test]
fn generated_writes_through_session_agree_with_native_rls_even_seeds() {
    run(0);
}

#[test]
fn generated_writes_through_session_agree_with_native_rls_odd_seeds() {
    run(1);
}
