//! Declared types against the database (issue 6): `Engine::verify_schema`
//! names a column whose type does not store its declared type (42804), on
//! SQLite by affinity and on PostgreSQL by type (`RAMPART_PG_URL`); and a
//! value that does not fit its declared type where a session reads it (an
//! appended check, a row image for change events, the stored bytes) fails
//! with 22P02 naming it, the statement rolled back, the session usable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::{Arc, Mutex};

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{open, Backend, ChangeEvent, SqlValue};
use rampart::{Context, Engine, Error, Session};

use common::pg::TestDb;

const POLICIES: &str = "
context tenant { id: text }
table notes {
  id: int
  tenant_id: text = tenant.id
  amount: int
  done: bool
  score: float?
  at: timestamp?
}
policy isolation on notes for select, insert, delete
  using tenant_id == tenant.id check tenant_id == tenant.id;
# Alone, so the appended check is the column `done` itself.
policy finished on notes for update using tenant_id == tenant.id check done;
";

const ACME: &str = r#"{"tenant": {"id": "acme"}}"#;

fn engine() -> Engine {
    Engine::from_source("notes.policy", POLICIES).unwrap()
}

/// The same policies under a storage limit, so that every write reads the
/// tenant's stored bytes (without one, a session need not read them).
fn limited_engine() -> Engine {
    let source = format!("{POLICIES}tier big {{ storage 1 GB }}\nquota {{ tier big }}\n");
    Engine::from_source("notes.policy", &source).unwrap()
}

fn schema_error(engine: &Engine, backend: &mut dyn Backend, ddl: &str) -> Option<Error> {
    backend.batch("DROP TABLE IF EXISTS notes").unwrap();
    backend.batch(ddl).unwrap();
    engine.verify_schema(backend).err()
}

fn assert_mismatch(error: Option<Error>, column: &str, declared: &str, found: &str) {
    let error = error.unwrap_or_else(|| panic!("`{column}` as {found} was accepted"));
    let text = format!("{error} (`{column}` as {found})");
    assert_eq!(error.sqlstate(), "42804", "{text}");
    for words in [
        format!("column `{column}`"),
        "table `notes`".to_string(),
        format!("declared `{declared}`"),
        found.to_string(),
    ] {
        assert!(text.contains(&words), "{words:?} not in: {text}");
    }
}

#[test]
fn sqlite_column_affinity_must_store_the_declared_type() {
    let engine = engine();
    let mut backend = open("sqlite::memory:").unwrap();
    let good = "CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT, amount BIGINT, \
                done BOOLEAN, score DOUBLE PRECISION, at INTEGER)";
    assert!(schema_error(&engine, backend.as_mut(), good).is_none());
    for (column, declared, ddl_type, found) in [
        ("amount", "int", "TEXT", "`TEXT` (TEXT affinity)"),
        ("amount", "int", "REAL", "`REAL` (REAL affinity)"),
        ("amount", "int", "", "no type (BLOB affinity)"),
        (
            "tenant_id",
            "text",
            "NUMERIC",
            "`NUMERIC` (NUMERIC affinity)",
        ),
        ("score", "float", "INTEGER", "`INTEGER` (INTEGER affinity)"),
        ("done", "bool", "VARCHAR(5)", "`VARCHAR(5)` (TEXT affinity)"),
    ] {
        let ddl = good.replace(
            &format!(
                "{column} {}",
                match column {
                    "amount" => "BIGINT",
                    "tenant_id" => "TEXT",
                    "score" => "DOUBLE PRECISION",
                    _ => "BOOLEAN",
                }
            ),
            &format!("{column} {ddl_type}"),
        );
        assert_mismatch(
            schema_error(&engine, backend.as_mut(), &ddl),
            column,
            declared,
            found,
        );
    }
}

#[test]
fn postgres_column_types_must_be_the_declared_ones() {
    let Some(db) = TestDb::create() else {
        return;
    };
    let engine = engine();
    // A connection per schema: the backend keeps prepared statements, which
    // PostgreSQL refuses to run once a column's type changed under them.
    let backend = || PostgresBackend::connect(&db.url()).unwrap();
    let good = "CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id varchar(40), amount int8, \
                done boolean, score double precision, at timestamptz)";
    assert!(schema_error(&engine, &mut backend(), good).is_none());
    for (column, declared, ddl_type, found) in [
        ("amount", "int", "integer", "`integer`"),
        ("amount", "int", "smallint", "`smallint`"),
        ("amount", "int", "numeric", "`numeric`"),
        ("amount", "int", "text", "`text`"),
        ("score", "float", "real", "`real`"),
        ("tenant_id", "text", "char(4)", "`character(4)`"),
        ("done", "bool", "int8", "`bigint`"),
        (
            "at",
            "timestamp",
            "timestamp",
            "`timestamp without time zone`",
        ),
    ] {
        let original = match column {
            "amount" => "amount int8",
            "score" => "score double precision",
            "tenant_id" => "tenant_id varchar(40)",
            "done" => "done boolean",
            _ => "at timestamptz",
        };
        let ddl = good.replace(original, &format!("{column} {ddl_type}"));
        assert_mismatch(
            schema_error(&engine, &mut backend(), &ddl),
            column,
            declared,
            found,
        );
    }
}

fn session(engine: &Engine, backend: Box<dyn Backend>) -> Session {
    engine
        .connect(Context::from_json(ACME).unwrap(), backend)
        .unwrap()
}

fn amount_of_note_1(session: &mut Session) -> SqlValue {
    session
        .backend_mut()
        .run("SELECT amount FROM notes WHERE id = 1", true)
        .unwrap()
        .rows[0][0]
        .clone()
}

fn assert_unfit(error: Error, words: &[&str]) {
    let text = error.to_string();
    assert_eq!(error.sqlstate(), "22P02", "{text}");
    for w in words {
        assert!(text.contains(w), "{w:?} not in: {text}");
    }
}

/// A value that does not fit reaches the session's typed code: a check
/// reading a `bool` that holds something else (SQLite only: PostgreSQL's
/// `boolean` holds nothing else), a row image for change events. Each fails
/// with 22P02, nothing is changed, and the session goes on.
fn unfitting_image(session: &mut Session) {
    let events: Arc<Mutex<Vec<ChangeEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    session.subscribe(Box::new(move |e| sink.lock().unwrap().push(e.clone())));
    let error = session
        .execute("UPDATE notes SET score = 'high', amount = 13 WHERE id = 1")
        .unwrap_err();
    assert_unfit(
        error,
        &["column `score`", "table `notes`", "`high`", "`float`"],
    );
    assert!(events.lock().unwrap().is_empty());
    assert_eq!(amount_of_note_1(session), SqlValue::Int(12));
    session
        .execute("UPDATE notes SET score = NULL, amount = 14 WHERE id = 1")
        .unwrap();
    assert_eq!(events.lock().unwrap().len(), 1);
    assert_eq!(amount_of_note_1(session), SqlValue::Int(14));
}

#[test]
fn sqlite_values_that_do_not_fit_are_errors_where_read() {
    let engine = limited_engine();
    let mut backend = open("sqlite::memory:").unwrap();
    backend
        .batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT, amount INTEGER, \
             done INTEGER, score REAL, at INTEGER);
             INSERT INTO notes (id, tenant_id, amount, done) VALUES (1, 'acme', 10, 'maybe')",
        )
        .unwrap();
    engine.verify_schema(backend.as_mut()).unwrap();
    let mut session = session(&engine, backend);

    // The check `done` reads text where a boolean is declared.
    let error = session
        .execute("UPDATE notes SET amount = 11 WHERE id = 1")
        .unwrap_err();
    assert_unfit(error, &["table `notes`", "`maybe`", "not a boolean"]);
    assert_eq!(amount_of_note_1(&mut session), SqlValue::Int(10));
    session
        .backend_mut()
        .batch("UPDATE notes SET done = 1 WHERE id = 1")
        .unwrap();
    session
        .execute("UPDATE notes SET amount = 12 WHERE id = 1")
        .unwrap();

    // SQLite keeps text that a REAL column cannot convert.
    unfitting_image(&mut session);

    // Stored bytes that are no byte count are not read as one (the storage
    // limit makes the write read them).
    session
        .backend_mut()
        .batch("UPDATE rampart_usage SET bytes = 'lots' WHERE tenant = 'acme'")
        .unwrap();
    let error = session
        .execute("INSERT INTO notes (id, amount, done) VALUES (2, 1, 1)")
        .unwrap_err();
    assert_unfit(
        error,
        &["`rampart_usage`", "tenant `acme`", "`lots`", "--recompute"],
    );
    let rows = session.execute("SELECT id FROM notes").unwrap().rows;
    assert_eq!(rows, vec![vec![SqlValue::Int(1)]]);
    engine.recompute_usage(session.backend_mut()).unwrap();
    session
        .execute("INSERT INTO notes (id, amount, done) VALUES (2, 1, 1)")
        .unwrap();
}

#[test]
fn postgres_values_that_do_not_fit_are_errors_where_read() {
    let Some(db) = TestDb::create() else {
        return;
    };
    let engine = engine();
    let mut backend = PostgresBackend::connect(&db.url()).unwrap();
    // `score` as text: verify_schema refuses it, and a session used anyway
    // fails where it reads a value that is no float.
    backend
        .batch(
            "CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id text, amount bigint, \
             done boolean, score text, at timestamptz);
             INSERT INTO notes (id, tenant_id, amount, done) VALUES (1, 'acme', 12, true)",
        )
        .unwrap();
    assert_mismatch(
        engine.verify_schema(&mut backend).err(),
        "score",
        "float",
        "`text`",
    );
    let mut session = session(&engine, Box::new(backend));
    unfitting_image(&mut session);
}
