//! A session whose database fails under it (issue 6): a PostgreSQL
//! connection killed by the server (`RAMPART_PG_URL`), an SQLite file locked
//! by another writer or removed with its folder. Each gives a clear error with
//! a SQLSTATE, never a panic, and the session still drops and frees its slot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{open, Backend, SqlValue};
use rampart::sql::schema::create_tables;
use rampart::{Context, Engine, Error, Session};

use common::pg::TestDb;

const ACME_ANN: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#;

/// `policies/saas` with tenant `acme` limited to one connection.
fn engine_one_connection(dir: &Path) -> Engine {
    let saas = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/saas");
    for entry in std::fs::read_dir(saas).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "quota tenant 'acme' { qps 2000 }",
            "quota tenant 'acme' { qps 2000; connections 1 }",
        );
        std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
    }
    Engine::load(dir).unwrap()
}

fn session(engine: &Engine, backend: Box<dyn Backend>) -> Result<Session, Error> {
    engine.connect(Context::from_json(ACME_ANN).unwrap(), backend)
}

fn with_tables(engine: &Engine, mut backend: Box<dyn Backend>) -> Box<dyn Backend> {
    backend
        .batch(&create_tables(engine.policy_set(), backend.dialect()))
        .unwrap();
    backend
        .batch("INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES (1, 'acme', 'ann', 10, 'open')")
        .unwrap();
    backend
}

fn backend_pid(session: &mut Session) -> i64 {
    let rows = session
        .backend_mut()
        .run("SELECT pg_backend_pid()::bigint", true)
        .unwrap()
        .rows;
    match rows[0][0] {
        SqlValue::Int(pid) => pid,
        ref other => panic!("pid: {other:?}"),
    }
}

#[test]
fn postgres_connection_killed_under_a_session() {
    let Some(db) = TestDb::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_one_connection(dir.path());
    let backend = with_tables(
        &engine,
        Box::new(PostgresBackend::connect(&db.url()).unwrap()),
    );
    let mut ann = session(&engine, backend).unwrap();
    assert_eq!(ann.execute("SELECT id FROM orders").unwrap().rows.len(), 1);
    // The tenant's one slot is taken.
    let refused = session(
        &engine,
        Box::new(PostgresBackend::connect(&db.url()).unwrap()),
    );
    assert_eq!(
        refused.err().map(|e| e.sqlstate().to_string()).as_deref(),
        Some("53300")
    );

    let pid = backend_pid(&mut ann);
    let mut other = db.superuser();
    let killed: bool = other
        .query_one(
            "SELECT pg_terminate_backend($1::int)",
            &[&i32::try_from(pid).unwrap()],
        )
        .unwrap()
        .get(0);
    assert!(killed, "pg_terminate_backend({pid})");
    // The server says why it closed the connection (57P01 admin_shutdown)
    // or, once the client has seen the close, 08006 connection_failure.
    let first = ann.execute("SELECT id FROM orders").unwrap_err();
    assert!(
        ["57P01", "08006"].contains(&first.sqlstate()),
        "{}: {first}",
        first.sqlstate()
    );
    eprintln!("after the kill: {}: {first}", first.sqlstate());
    // From then on the connection is gone for good, and says so.
    for sql in [
        "SELECT id FROM orders",
        "BEGIN",
        "UPDATE orders SET amount = 1",
    ] {
        let err = ann.execute(sql).unwrap_err();
        assert_eq!(err.sqlstate(), "08006", "{sql}: {err}");
        assert!(err.to_string().contains("closed"), "{sql}: {err}");
    }
    // Dropping the dead session gives its slot back.
    drop(ann);
    let mut again = session(
        &engine,
        Box::new(PostgresBackend::connect(&db.url()).unwrap()),
    )
    .unwrap();
    assert_eq!(
        again.execute("SELECT id FROM orders").unwrap().rows.len(),
        1
    );
}

#[test]
fn sqlite_file_locked_by_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let policy = tempfile::tempdir().unwrap();
    let engine = engine_one_connection(policy.path());
    let url = format!("sqlite:{}", dir.path().join("app.db").display());
    let mut ann = session(&engine, with_tables(&engine, open(&url).unwrap())).unwrap();
    let mut other = open(&url).unwrap();
    other.batch("BEGIN EXCLUSIVE").unwrap();
    for sql in ["SELECT id FROM orders", "UPDATE orders SET amount = 2"] {
        let err = ann.execute(sql).unwrap_err();
        assert_eq!(err.sqlstate(), "55P03", "{sql}: {err}");
        assert!(err.to_string().contains("locked"), "{sql}: {err}");
    }
    other.batch("ROLLBACK").unwrap();
    // The lock gone, the session works again.
    assert_eq!(ann.execute("SELECT id FROM orders").unwrap().rows.len(), 1);
    drop(ann);
    session(&engine, open(&url).unwrap()).unwrap();
}

#[test]
fn sqlite_file_removed_under_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let policy = tempfile::tempdir().unwrap();
    let engine = engine_one_connection(policy.path());
    let url = format!("sqlite:{}", dir.path().join("app.db").display());
    let mut ann = session(&engine, with_tables(&engine, open(&url).unwrap())).unwrap();
    // The file and its folder go: a write cannot create its journal.
    dir.close().unwrap();
    let err = ann
        .execute("UPDATE orders SET amount = 3 WHERE id = 1")
        .unwrap_err();
    assert_eq!(err.sqlstate(), "58030", "{err}");
    assert!(err.to_string().contains("moved or removed"), "{err}");
    drop(ann);
    session(&engine, open("sqlite::memory:").unwrap()).unwrap();
}
