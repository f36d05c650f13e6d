//! Storage counted without a storage limit (issue 6's cheaper writes): a
//! session whose tier sets no `storage` stops reading the usage row once a
//! committed write recorded its limits, and SQLite's UPDATE trigger skips
//! fixed-size columns the database holds `NOT NULL`. Neither may change what
//! is counted: after every statement (inside and outside transactions,
//! committed and rolled back) the counted bytes equal a fresh recompute, on
//! SQLite and on PostgreSQL (when `RAMPART_PG_URL` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{open, Backend};
use rampart::{Context, Engine};

const POLICY: &str = "
context tenant { id: text }
table notes {
  id: int
  tenant_id: text = tenant.id
  amount: int
  done: bool
  note: text?
  score: float?
}
policy isolation on notes
  using tenant_id == tenant.id check tenant_id == tenant.id;
tier free { qps 100000 }
quota { tier free }
";

/// `amount` is nullable in the database although declared `int`: the
/// trigger must still count it when it goes from null to a value.
const SQLITE_DDL: &str = "CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, \
     amount INTEGER, done BOOLEAN NOT NULL, note TEXT, score REAL)";
const PG_DDL: &str = "CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id text NOT NULL, \
     amount bigint, done boolean NOT NULL, note text, score double precision)";

/// Statements for tenant `acme`, each followed by the comparison.
const STATEMENTS: &[&str] = &[
    "INSERT INTO notes (id, amount, done, note, score) VALUES (1, 10, true, 'a', 1.5), (2, 20, false, NULL, NULL)",
    "UPDATE notes SET done = NOT done",
    "UPDATE notes SET amount = amount + 1",
    "UPDATE notes SET note = 'longer text' WHERE id = 2",
    "UPDATE notes SET score = NULL WHERE id = 1",
    "BEGIN",
    "INSERT INTO notes (id, amount, done) VALUES (3, 3, true)",
    "ROLLBACK",
    "BEGIN",
    "UPDATE notes SET note = NULL, done = true",
    "COMMIT",
    "UPDATE notes SET amount = 5 WHERE amount IS NULL",
    "DELETE FROM notes WHERE id = 1",
    "INSERT INTO notes (id, amount, done, note) VALUES (4, 4, false, 'four')",
    "UPDATE notes SET id = id + 10, note = note || '!'",
];

fn engine() -> Engine {
    Engine::from_source("unlimited.policy", POLICY).unwrap()
}

/// Runs [`STATEMENTS`] in one session, a row with a null `amount` written by
/// the owner on another connection (and recomputed) half-way; after each,
/// the counted bytes must equal a recompute. At the end, with the session
/// gone, the usage row still records the tier it wrote under.
fn counted_equals_recompute(engine: &Engine, connect: &dyn Fn() -> Box<dyn Backend>) {
    let mut owner = connect();
    let mut session = engine
        .connect(
            Context::from_json(r#"{"tenant": {"id": "acme"}}"#).unwrap(),
            connect(),
        )
        .unwrap();
    let mut in_transaction = false;
    for (i, sql) in STATEMENTS.iter().enumerate() {
        if sql.starts_with("UPDATE notes SET amount = 5") {
            owner
                .batch("INSERT INTO notes (id, tenant_id, amount, done) VALUES (7, 'acme', NULL, true)")
                .unwrap();
            engine.recompute_usage(owner.as_mut()).unwrap();
        }
        session
            .execute(sql)
            .unwrap_or_else(|e| panic!("statement {i} `{sql}`: {e}"));
        match *sql {
            "BEGIN" => in_transaction = true,
            "COMMIT" | "ROLLBACK" => in_transaction = false,
            _ => {}
        }
        if in_transaction {
            continue;
        }
        let counted = engine.quota_usage("acme", owner.as_mut()).unwrap();
        let recomputed = engine.recompute_usage(owner.as_mut()).unwrap();
        assert_eq!(
            recomputed,
            vec![("acme".to_string(), counted.storage_bytes)],
            "after statement {i} `{sql}`"
        );
    }
    drop(session);
    let usage = engine.quota_usage("acme", owner.as_mut()).unwrap();
    assert_eq!(usage.tier.as_deref(), Some("free"));
    assert_eq!(usage.limits.and_then(|l| l.qps), Some(100_000));
}

#[test]
fn sqlite_counts_the_same_without_a_storage_limit() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
    open(&url).unwrap().batch(SQLITE_DDL).unwrap();
    counted_equals_recompute(&engine, &|| open(&url).unwrap());
}

#[test]
fn postgres_counts_the_same_without_a_storage_limit() {
    let Some(db) = common::pg::TestDb::create() else {
        return;
    };
    let engine = engine();
    db.superuser().batch_execute(PG_DDL).unwrap();
    counted_equals_recompute(&engine, &|| {
        Box::new(PostgresBackend::from_client(db.superuser()))
    });
}
