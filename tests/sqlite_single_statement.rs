//! A write on SQLite outside a transaction, with nothing to check after it
//! (no storage limit, no subscriber), runs as one statement of its own: its
//! appended checks raise inside it (`rampart_check`), so SQLite undoes a
//! refused write by itself. Refused writes (42501, and 22P02 for a check
//! that reads a value that is no boolean) must change nothing and leave no
//! transaction or lock behind; the same writes inside a transaction, or with
//! a subscriber, keep their transactional path and the same answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::{Arc, Mutex};

use rampart::exec::{open, ChangeEvent, SqlValue};
use rampart::{Context, Engine, Session};

const POLICY: &str = "
context tenant { id: text }
table notes {
  id: int
  tenant_id: text = tenant.id
  amount: int
  done: bool
}
policy isolation on notes as restrictive
  using tenant_id == tenant.id check tenant_id == tenant.id;
policy everyone on notes for select, insert, delete using true check true;
policy small on notes for update using true check amount < 100;
";

const DDL: &str = "CREATE TABLE notes (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, \
                   amount INTEGER NOT NULL, done BOOLEAN NOT NULL);
     INSERT INTO notes VALUES (1, 'acme', 10, 0), (2, 'acme', 50, 0), (3, 'globex', 90, 0)";

struct Db {
    engine: Engine,
    url: String,
    _dir: tempfile::TempDir,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
        open(&url).unwrap().batch(DDL).unwrap();
        Db {
            engine: Engine::from_source("notes.policy", POLICY).unwrap(),
            url,
            _dir: dir,
        }
    }

    fn session(&self) -> Session {
        let ctx = Context::from_json(r#"{"tenant": {"id": "acme"}}"#).unwrap();
        let mut session = self.engine.connect(ctx, open(&self.url).unwrap()).unwrap();
        // The first write records the tenant's limits (in a transaction).
        session
            .execute("UPDATE notes SET done = done WHERE id = 1")
            .unwrap();
        session
    }

    /// Every row, read on a connection of its own.
    fn rows(&self) -> Vec<Vec<SqlValue>> {
        open(&self.url)
            .unwrap()
            .run("SELECT id, amount, done FROM notes ORDER BY id", true)
            .unwrap()
            .rows
    }

    /// Another connection can write at once: no transaction or lock is left.
    fn unlocked(&self) {
        let mut other = open(&self.url).unwrap();
        other.batch("BEGIN IMMEDIATE").unwrap();
        other.batch("ROLLBACK").unwrap();
    }
}

fn refused(session: &mut Session, sql: &str, sqlstate: &str, words: &str) {
    let error = session.execute(sql).unwrap_err();
    assert_eq!(error.sqlstate(), sqlstate, "{sql}: {error}");
    assert!(error.to_string().contains(words), "{sql}: {error}");
}

#[test]
fn refused_single_statements_change_nothing() {
    let db = Db::new();
    let before = db.rows();
    let mut session = db.session();
    // The second row's new amount breaks `small`: neither row changes.
    let violation = "new row violates row-level security policy for table \"notes\"";
    refused(
        &mut session,
        "UPDATE notes SET amount = amount * 2",
        "42501",
        violation,
    );
    refused(
        &mut session,
        "UPDATE notes SET amount = 200 WHERE id = 2 RETURNING id",
        "42501",
        violation,
    );
    assert_eq!(db.rows(), before);
    db.unlocked();

    // A check that reads text where a boolean is declared.
    open(&db.url)
        .unwrap()
        .batch("UPDATE notes SET done = 'maybe' WHERE id = 2")
        .unwrap();
    // Alone, so that the appended check is the column `done` itself.
    let policies = "context tenant { id: text }
        table notes { id: int, tenant_id: text = tenant.id, amount: int, done: bool }
        policy everyone on notes for select using true;
        policy finished on notes for update using tenant_id == tenant.id check done;";
    let engine = Engine::from_source("odd.policy", policies).unwrap();
    let ctx = Context::from_json(r#"{"tenant": {"id": "acme"}}"#).unwrap();
    let mut odd = engine.connect(ctx, open(&db.url).unwrap()).unwrap();
    odd.execute("UPDATE notes SET done = 1 WHERE id = 1")
        .unwrap();
    let before = db.rows();
    refused(
        &mut odd,
        "UPDATE notes SET amount = amount + 1",
        "22P02",
        "gave `maybe`, not a boolean",
    );
    assert_eq!(db.rows(), before);
    db.unlocked();

    // Allowed writes go through, and the session goes on.
    let done = session
        .execute("UPDATE notes SET amount = amount + 1 RETURNING id, amount")
        .unwrap();
    assert_eq!(
        done.rows,
        vec![
            vec![SqlValue::Int(1), SqlValue::Int(11)],
            vec![SqlValue::Int(2), SqlValue::Int(51)]
        ]
    );
    assert_eq!(done.columns.as_ref(), ["id", "amount"]);
    db.unlocked();
}

#[test]
fn in_a_transaction_or_with_a_subscriber_the_answers_are_the_same() {
    let db = Db::new();
    let before = db.rows();
    let mut session = db.session();
    session.execute("BEGIN").unwrap();
    session
        .execute("UPDATE notes SET amount = 20 WHERE id = 1")
        .unwrap();
    refused(
        &mut session,
        "UPDATE notes SET amount = amount * 2",
        "42501",
        "row-level security",
    );
    refused(&mut session, "SELECT 1", "25P02", "transaction is aborted");
    session.execute("ROLLBACK").unwrap();
    assert_eq!(db.rows(), before);
    db.unlocked();

    let events: Arc<Mutex<Vec<ChangeEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    session.subscribe(Box::new(move |e| sink.lock().unwrap().push(e.clone())));
    refused(
        &mut session,
        "UPDATE notes SET amount = amount * 2",
        "42501",
        "row-level security",
    );
    assert!(events.lock().unwrap().is_empty());
    session
        .execute("UPDATE notes SET amount = 12 WHERE id = 1")
        .unwrap();
    assert_eq!(events.lock().unwrap().len(), 1);
    assert_eq!(
        db.rows()[0],
        vec![SqlValue::Int(1), SqlValue::Int(12), SqlValue::Int(0)]
    );
    db.unlocked();
}
