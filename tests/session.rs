//! `Session::execute` on embedded SQLite and on PostgreSQL (when
//! `RAMPART_PG_URL` is set): reads per tenant and role, writes with their
//! counts and RETURNING, refused writes leaving every table unchanged, user
//! transactions with savepoints and PostgreSQL's aborted-transaction rule,
//! and change events delivered on commit only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::{Arc, Mutex};

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{open, Backend, ChangeEvent, Operation, SqlValue};
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine, Session};

const ACME_BOB: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#;
const ACME_ANN: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#;
const GLOBEX_EVE: &str = r#"{"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["admin"]}}"#;

const ORDERS: &str = "INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES
    (1, 'acme', 'bob', 10, 'open'), (2, 'acme', 'bob', 20, 'paid'),
    (3, 'acme', 'ann', 30, 'open'), (4, 'globex', 'eve', 40, 'open'),
    (5, 'globex', 'eve', 50, 'open')";

const UNIQUE_ID: &str = "CREATE UNIQUE INDEX orders_id ON orders (id)";

fn engine() -> Engine {
    Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas")).unwrap()
}

/// A session per context, all on one database made by `connect`.
struct Harness {
    engine: Engine,
    connect: Box<dyn Fn() -> Box<dyn Backend>>,
}

impl Harness {
    fn session(&self, ctx: &str) -> Session {
        self.engine
            .connect(Context::from_json(ctx).unwrap(), (self.connect)())
            .unwrap()
    }

    /// Every orders row, as the owner sees it, in id order.
    fn orders(&self) -> Vec<Vec<SqlValue>> {
        let mut backend = (self.connect)();
        backend
            .run(
                "SELECT id, tenant_id, owner, amount, status, note FROM orders ORDER BY id",
                true,
            )
            .unwrap()
            .rows
    }
}

fn ints(rows: &[Vec<SqlValue>]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r[0] {
            SqlValue::Int(i) => i,
            ref other => panic!("expected an int, got {other:?}"),
        })
        .collect()
}

fn scenario(h: &Harness) {
    // Reads: tenant and role decide.
    let mut bob = h.session(ACME_BOB);
    let mut ann = h.session(ACME_ANN);
    let mut eve = h.session(GLOBEX_EVE);
    let q = "SELECT id FROM orders ORDER BY id";
    assert_eq!(ints(&bob.execute(q).unwrap().rows), [1, 2]);
    assert_eq!(ints(&ann.execute(q).unwrap().rows), [1, 2, 3]);
    assert_eq!(ints(&eve.execute(q).unwrap().rows), [4, 5]);
    let counted = ann.execute("SELECT count(*) AS n FROM orders").unwrap();
    assert_eq!(*counted.columns, ["n"]);
    assert_eq!(counted.affected, 1);

    // UPDATE: counts, RETURNING stripped to the user's items.
    let updated = bob
        .execute("UPDATE orders SET amount = amount + 1 WHERE amount < 100")
        .unwrap();
    assert_eq!(updated.affected, 1, "bob may update only his open order");
    assert!(updated.columns.is_empty() && updated.rows.is_empty());
    let returned = ann
        .execute("UPDATE orders SET status = 'paid' WHERE id = 3 RETURNING id, status")
        .unwrap();
    assert_eq!(*returned.columns, ["id", "status"]);
    assert_eq!(
        returned.rows,
        [vec![SqlValue::Int(3), SqlValue::Text("paid".into())]]
    );

    // A refused write changes nothing and names the table.
    let before = h.orders();
    let error = bob
        .execute("UPDATE orders SET amount = -5 WHERE id = 1")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501");
    assert_eq!(
        error.to_string(),
        "new row violates row-level security policy for table \"orders\""
    );
    assert_eq!(h.orders(), before);
    // Moving an order to another tenant is refused the same way.
    let error = ann
        .execute("UPDATE orders SET tenant_id = 'globex' RETURNING id")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501");
    assert_eq!(h.orders(), before);
    // The session is still usable.
    assert_eq!(ints(&bob.execute(q).unwrap().rows), [1, 2]);

    // DELETE: only admins, only their tenant.
    assert_eq!(bob.execute("DELETE FROM orders").unwrap().affected, 0);
    let deleted = eve
        .execute("DELETE FROM orders WHERE id = 5 RETURNING id")
        .unwrap();
    assert_eq!(ints(&deleted.rows), [5]);
    assert_eq!(ints(&h.orders()), [1, 2, 3, 4]);

    // A user transaction: a failed statement aborts it until ROLLBACK TO.
    let events = Arc::new(Mutex::new(Vec::<ChangeEvent>::new()));
    let sink = Arc::clone(&events);
    ann.subscribe(Box::new(move |e| sink.lock().unwrap().push(e.clone())));
    ann.execute("BEGIN").unwrap();
    ann.execute("UPDATE orders SET amount = 11 WHERE id = 1")
        .unwrap();
    ann.execute("SAVEPOINT before_bad").unwrap();
    ann.execute("UPDATE orders SET amount = 31 WHERE id = 3")
        .unwrap();
    let error = ann
        .execute("UPDATE orders SET amount = -1 WHERE id = 2")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501");
    let error = ann.execute("SELECT 1").unwrap_err();
    assert_eq!(error.sqlstate(), "25P02");
    ann.execute("ROLLBACK TO SAVEPOINT before_bad").unwrap();
    assert!(events.lock().unwrap().is_empty(), "nothing before commit");
    ann.execute("COMMIT").unwrap();
    {
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1, "the update rolled back to is not reported");
        let event = &events[0];
        assert_eq!(event.table, "orders");
        assert_eq!(event.operation, Operation::Update);
        assert_eq!(event.tenant.as_deref(), Some("acme"));
        assert_eq!(event.row[0], ("id".to_string(), SqlValue::Int(1)));
        assert_eq!(event.row[3], ("amount".to_string(), SqlValue::Int(11)));
    }
    let amounts = h.orders();
    assert_eq!(amounts[0][3], SqlValue::Int(11));
    assert_eq!(
        amounts[2][3],
        SqlValue::Int(30),
        "rolled back to the savepoint"
    );

    // A rolled-back transaction reports nothing and changes nothing.
    events.lock().unwrap().clear();
    ann.execute("BEGIN; DELETE FROM orders WHERE id = 2; ROLLBACK")
        .unwrap();
    assert!(events.lock().unwrap().is_empty());
    assert_eq!(ints(&h.orders()), [1, 2, 3, 4]);
    // Outside a transaction, each write reports as it commits.
    ann.execute("DELETE FROM orders WHERE id = 2").unwrap();
    assert_eq!(events.lock().unwrap().len(), 1);
    assert_eq!(events.lock().unwrap()[0].operation, Operation::Delete);

    // Savepoints need a transaction; COMMIT outside one is a no-op.
    assert_eq!(ann.execute("SAVEPOINT s").unwrap_err().sqlstate(), "25P01");
    ann.execute("COMMIT").unwrap();
    // Several statements stop at the first error; the earlier ones stay.
    let (results, error) = ann.execute_each(
        "UPDATE orders SET note = 'a' WHERE id = 1; UPDATE orders SET amount = -1; UPDATE orders SET note = 'c'",
    );
    assert_eq!(results.len(), 1);
    assert_eq!(error.unwrap().sqlstate(), "42501");
    let rows = h.orders();
    assert_eq!(rows[0][5], SqlValue::Text("a".into()));
    assert_eq!(rows[1][5], SqlValue::Null);

    // INSERT: presets fill the tenant and owner; rows known when rewriting
    // are checked then, others through the appended checks.
    let inserted = bob
        .execute("INSERT INTO orders (id, amount, status) VALUES (10, 5, 'open') RETURNING id, tenant_id, owner")
        .unwrap();
    assert_eq!(
        inserted.rows,
        [vec![
            SqlValue::Int(10),
            SqlValue::Text("acme".into()),
            SqlValue::Text("bob".into())
        ]]
    );
    let before = h.orders();
    let error = bob
        .execute("INSERT INTO orders (id, amount, status) VALUES (11, 5, 'paid')")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501");
    let copied = bob
        .execute("INSERT INTO orders (id, amount, status) SELECT id + 100, amount, 'open' FROM orders WHERE id = 10")
        .unwrap();
    assert_eq!(copied.affected, 1);
    let after_copy = h.orders();
    assert_eq!(after_copy.len(), before.len() + 1);
    let error = bob
        .execute(
            "INSERT INTO orders (id, amount, status) SELECT id + 200, -amount, 'open' FROM orders",
        )
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501", "{error}");
    assert_eq!(
        h.orders(),
        after_copy,
        "a failed INSERT … SELECT adds nothing"
    );
    // ON CONFLICT DO UPDATE: the updated row must pass UPDATE check.
    events.lock().unwrap().clear();
    let error = ann
        .execute("INSERT INTO orders (id, amount, status) VALUES (1, 0, 'open') ON CONFLICT (id) DO UPDATE SET amount = -1")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501", "{error}");
    assert_eq!(h.orders(), after_copy);
    let upserted = ann
        .execute("INSERT INTO orders (id, amount, status) VALUES (1, 0, 'open') ON CONFLICT (id) DO UPDATE SET note = 'up'")
        .unwrap();
    assert_eq!(upserted.affected, 1);
    {
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].operation, Operation::Upsert);
        assert_eq!(
            events[0].row[5],
            ("note".to_string(), SqlValue::Text("up".into()))
        );
    }

    // Refused statements: named, nothing run.
    let error = ann.execute("DROP TABLE orders").unwrap_err();
    assert!(error.to_string().contains("DROP"), "{error}");
    let error = ann.execute("SELECT * FROM nowhere").unwrap_err();
    assert!(!error.sqlstate().is_empty());
    assert_eq!(ints(&h.orders()), [1, 3, 4, 10, 110]);
}

/// `INSERT … ON CONFLICT DO UPDATE` is a write: its appended checks are
/// verified and stripped, a bad row is 42501 and changes nothing, its count
/// is the rows written. A refused statement aborts the user's transaction.
fn upserts_and_refusals(h: &Harness) {
    let mut bob = h.session(ACME_BOB);
    bob.backend_mut()
        .batch("CREATE UNIQUE INDEX orders_id ON orders (id)")
        .unwrap();
    let upsert = "INSERT INTO orders (id, amount, status) VALUES (1, 5, 'open') \
                  ON CONFLICT (id) DO UPDATE SET amount = ";
    let before = h.orders();
    let error = bob.execute(&format!("{upsert}-1")).unwrap_err();
    assert_eq!(error.sqlstate(), "42501", "{error}");
    assert_eq!(h.orders(), before);
    let done = bob.execute(&format!("{upsert}12")).unwrap();
    assert_eq!((done.affected, done.columns.len()), (1, 0));
    let done = bob
        .execute(&format!("{upsert}13 RETURNING id, amount"))
        .unwrap();
    assert_eq!(done.rows, [vec![SqlValue::Int(1), SqlValue::Int(13)]]);
    assert_eq!(done.affected, 1);
    // Inside a transaction, a failing upsert aborts it as any failure does.
    bob.execute("BEGIN").unwrap();
    assert!(bob.execute(&format!("{upsert}-1")).is_err());
    assert_eq!(bob.execute("SELECT 1").unwrap_err().sqlstate(), "25P02");
    bob.execute("ROLLBACK").unwrap();
    // So does a statement refused while rewriting (a bad constant row).
    bob.execute("BEGIN").unwrap();
    let error = bob
        .execute("INSERT INTO orders (id, amount, status) VALUES (9, -5, 'open')")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "42501");
    assert_eq!(bob.execute("SELECT 1").unwrap_err().sqlstate(), "25P02");
    bob.execute("ROLLBACK").unwrap();
    assert_eq!(ints(&bob.execute("SELECT 1").unwrap().rows), [1]);
    // `DEFAULT` for a preset column is the preset, in UPDATE and DO UPDATE
    // alike (Rampart's tables have no default of their own for it).
    let mut ann = h.session(ACME_ANN);
    let done = ann
        .execute("UPDATE orders SET owner = DEFAULT WHERE id = 1 RETURNING owner")
        .unwrap();
    assert_eq!(done.rows, [vec![SqlValue::Text("ann".into())]]);
    let done = bob
        .execute(&format!("{upsert}14, owner = DEFAULT RETURNING owner"))
        .unwrap_err();
    // The row is ann's now: bob's DO UPDATE meets it as a conflict his
    // UPDATE policies do not admit.
    assert_eq!(done.sqlstate(), "42501", "{done}");
    let done = ann
        .execute(&format!(
            "{upsert}15, owner = DEFAULT RETURNING owner, amount"
        ))
        .unwrap();
    assert_eq!(
        done.rows,
        [vec![SqlValue::Text("ann".into()), SqlValue::Int(15)]]
    );
}

#[test]
fn sqlite_upserts_and_refusals() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
    let mut setup = open(&url).unwrap();
    setup
        .batch(&create_tables(engine.policy_set(), Dialect::Sqlite))
        .unwrap();
    setup.batch(ORDERS).unwrap();
    drop(setup);
    upserts_and_refusals(&Harness {
        engine,
        connect: Box::new(move || open(&url).unwrap()),
    });
}

#[test]
fn postgres_upserts_and_refusals() {
    let Some(db) = common::pg::TestDb::create() else {
        return;
    };
    let engine = engine();
    let mut owner = db.superuser();
    owner
        .batch_execute(&create_tables(engine.policy_set(), Dialect::Postgres))
        .unwrap();
    owner.batch_execute(ORDERS).unwrap();
    let db = Arc::new(db);
    upserts_and_refusals(&Harness {
        engine,
        connect: Box::new(move || Box::new(PostgresBackend::from_client(db.superuser()))),
    });
}

#[test]
fn sqlite_file() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
    let mut setup = open(&url).unwrap();
    setup
        .batch(&create_tables(engine.policy_set(), Dialect::Sqlite))
        .unwrap();
    setup.batch(ORDERS).unwrap();
    setup.batch(UNIQUE_ID).unwrap();
    drop(setup);
    let harness = Harness {
        engine,
        connect: Box::new(move || open(&url).unwrap()),
    };
    scenario(&harness);
}

#[test]
fn postgres() {
    let Some(db) = common::pg::TestDb::create() else {
        return;
    };
    let engine = engine();
    let mut owner = db.superuser();
    owner
        .batch_execute(&create_tables(engine.policy_set(), Dialect::Postgres))
        .unwrap();
    owner.batch_execute(ORDERS).unwrap();
    owner.batch_execute(UNIQUE_ID).unwrap();
    let db = Arc::new(db);
    let for_sessions = Arc::clone(&db);
    let harness = Harness {
        engine,
        connect: Box::new(move || Box::new(PostgresBackend::from_client(for_sessions.superuser()))),
    };
    scenario(&harness);
}

#[test]
fn a_schema_unlike_the_declared_tables_is_named() {
    let engine = engine();
    let mut backend = open("sqlite::memory:").unwrap();
    backend
        .batch(&create_tables(engine.policy_set(), Dialect::Sqlite))
        .unwrap();
    engine.verify_schema(backend.as_mut()).unwrap();
    backend.batch("DROP TABLE projects; CREATE TABLE projects (id INTEGER, tenant_id TEXT, org_id INTEGER, name TEXT)").unwrap();
    let error = engine.verify_schema(backend.as_mut()).unwrap_err();
    assert_eq!(error.sqlstate(), "42703");
    assert!(
        error.to_string().contains("`projects`") && error.to_string().contains("`archived`"),
        "{error}"
    );
    backend.batch("DROP TABLE projects").unwrap();
    let error = engine.verify_schema(backend.as_mut()).unwrap_err();
    assert_eq!(error.sqlstate(), "42P01");
    assert!(error.to_string().contains("no table `projects`"), "{error}");
    // A statement against the missing table fails cleanly; the session goes on.
    let mut session = engine
        .connect(Context::from_json(ACME_ANN).unwrap(), backend)
        .unwrap();
    assert_eq!(
        session
            .execute("SELECT * FROM projects")
            .unwrap_err()
            .sqlstate(),
        "42P01"
    );
    session.execute("SELECT * FROM orders").unwrap();
}

#[test]
fn bad_urls_are_clear_errors() {
    for (url, sqlstate, words) in [
        ("mysql://x", "08001", "expected `sqlite::memory:`"),
        ("sqlite:", "08001", "no file"),
        ("sqlite:/nonexistent/dir/db", "08001", "cannot open"),
        (
            "postgres://nobody@127.0.0.1:1/db",
            "08001",
            "cannot connect",
        ),
    ] {
        let error = open(url).err().unwrap_or_else(|| panic!("{url} opened"));
        assert_eq!(error.sqlstate(), sqlstate, "{url}: {error}");
        assert!(error.to_string().contains(words), "{url}: {error}");
    }
}

#[test]
fn sqlite_column_names_follow_a_schema_change() {
    let mut backend = open("sqlite::memory:").unwrap();
    backend
        .batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)")
        .unwrap();
    for _ in 0..3 {
        let raw = backend.run("SELECT * FROM t", true).unwrap();
        assert_eq!(raw.columns.as_ref(), ["a"]);
    }
    backend
        .batch("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'")
        .unwrap();
    for _ in 0..3 {
        let raw = backend.run("SELECT * FROM t", true).unwrap();
        assert_eq!(raw.columns.as_ref(), ["a", "b"]);
        assert_eq!(
            raw.rows,
            vec![vec![SqlValue::Int(1), SqlValue::Text("x".into())]]
        );
    }
    let raw = backend.run("SELECT a AS c FROM t", true).unwrap();
    assert_eq!(raw.columns.as_ref(), ["c"]);
}

/// A session reads which columns the database fills with null on its
/// first INSERT, on SQLite and PostgreSQL alike: a row leaving such a
/// column to the database, which the policies read, is checked in the
/// statement (42501 before NOT NULL's 23502, and `ON CONFLICT` rewritten,
/// not refused); a column with a default of the database's own is never
/// taken as null; `backend_mut` makes the session read them again.
fn null_defaults(connect: Box<dyn Fn() -> Box<dyn Backend>>, dialect: Dialect) {
    let engine = Engine::from_source(
        "d.policy",
        "context tenant { id: text }
         table t { id: int, k: int?, tag: text? }
         policy t_read on t for select using true;
         policy t_insert on t for insert check k > 0 and tag != 'bad';",
    )
    .unwrap();
    let ctx = Context::from_json(r#"{"tenant": {"id": "x"}}"#).unwrap();
    let mut session = engine.connect(ctx.clone(), connect()).unwrap();
    let ddl = match dialect {
        Dialect::Postgres => {
            "CREATE TABLE t (id bigint PRIMARY KEY, k bigint NOT NULL, tag text DEFAULT 'bad')"
        }
        Dialect::Sqlite => {
            // Column names in another case: SQLite's are case-blind.
            "CREATE TABLE t (id INTEGER PRIMARY KEY, K INTEGER NOT NULL, Tag TEXT DEFAULT 'bad')"
        }
    };
    session.backend_mut().batch(ddl).unwrap();
    let state = |sql: &str, session: &mut Session| match session.execute(sql) {
        Ok(r) => format!("ok {}", r.affected),
        Err(e) => e.sqlstate().to_string(),
    };
    // `k` left out: null breaks the policy, which is checked first.
    assert_eq!(
        state("INSERT INTO t (id, tag) VALUES (1, 'ok')", &mut session),
        "42501"
    );
    assert_eq!(
        state(
            "INSERT INTO t (id, k, tag) VALUES (1, DEFAULT, 'ok') ON CONFLICT DO NOTHING",
            &mut session
        ),
        "42501"
    );
    // `tag` left out: its default is the database's own, checked after the
    // plain INSERT runs; `ON CONFLICT` cannot be, and is refused.
    assert_eq!(
        state("INSERT INTO t (id, k) VALUES (1, 5)", &mut session),
        "42501"
    );
    assert_eq!(
        state(
            "INSERT INTO t (id, k) VALUES (1, 5) ON CONFLICT DO NOTHING",
            &mut session
        ),
        "0A000"
    );
    assert_eq!(
        state(
            "INSERT INTO t (id, k, tag) VALUES (1, 5, 'ok') ON CONFLICT DO NOTHING",
            &mut session
        ),
        "ok 1"
    );
    // A default given to `k` is read again after `backend_mut`.
    session.backend_mut().batch("DELETE FROM t").unwrap();
    let alter = match dialect {
        Dialect::Postgres => "ALTER TABLE t ALTER COLUMN k SET DEFAULT 7",
        // SQLite cannot change a default: the table is made again.
        Dialect::Sqlite => {
            "DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL DEFAULT 7, tag TEXT DEFAULT 'bad')"
        }
    };
    session.backend_mut().batch(alter).unwrap();
    assert_eq!(
        state("INSERT INTO t (id, tag) VALUES (2, 'ok')", &mut session),
        "ok 1"
    );
    assert_eq!(
        state(
            "INSERT INTO t (id, tag) VALUES (3, 'ok') ON CONFLICT DO NOTHING",
            &mut session
        ),
        "0A000"
    );
    let rows = session.execute("SELECT id, k FROM t").unwrap().rows;
    assert_eq!(rows, vec![vec![SqlValue::Int(2), SqlValue::Int(7)]]);
}

#[test]
fn sqlite_null_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("d.sqlite").display());
    null_defaults(Box::new(move || open(&url).unwrap()), Dialect::Sqlite);
}

#[test]
fn postgres_null_defaults() {
    let Some(db) = common::pg::TestDb::create() else {
        return;
    };
    let db = Arc::new(db);
    null_defaults(
        Box::new(move || Box::new(PostgresBackend::from_client(db.superuser()))),
        Dialect::Postgres,
    );
}
