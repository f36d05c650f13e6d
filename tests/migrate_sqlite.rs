//! Tenant migration between two SQLite files (the snapshot method): a copy
//! while a writer keeps changing the tenant's rows, its change events
//! replayed, checksums, cutover, rollback, every step interrupted, and
//! refused input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
#[path = "migrate/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart::exec::sqlite::SqliteBackend;
use rampart::exec::{Backend, SqlValue};
use rampart::migrate::{Capture, Method, MigrateError, Migration, Options, Side, Step};
use rampart::Error;

use fixture::{engine, schema, seed, Writer};

struct Files {
    _dir: tempfile::TempDir,
    source: PathBuf,
    target: PathBuf,
}

impl Files {
    fn url(path: &Path) -> String {
        format!("sqlite:{}", path.display())
    }

    fn options(&self, tenant: &str) -> Options {
        Options::new(tenant, &Files::url(&self.source), &Files::url(&self.target))
    }
}

/// Two database files with the tables; the source (in WAL mode, so that
/// the writer and the copy run side by side) holds 200 orders of `acme`
/// (ids 1…200) and 100 of `globex` (1001…1100), two items each.
fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let target = dir.path().join("target.db");
    for path in [&source, &target] {
        let mut db = open(path);
        db.batch(&schema("INTEGER")).unwrap();
    }
    let mut db = open(&source);
    db.run("PRAGMA journal_mode = WAL", true).unwrap();
    seed(&mut db, "acme", 1, 200);
    seed(&mut db, "globex", 1001, 100);
    Files {
        _dir: dir,
        source,
        target,
    }
}

fn open(path: &Path) -> SqliteBackend {
    SqliteBackend::open(path.to_str().unwrap()).unwrap()
}

fn rows(path: &Path, sql: &str) -> Vec<Vec<SqlValue>> {
    open(path).run(sql, true).unwrap().rows
}

fn tenant_rows(path: &Path, tenant: &str) -> Vec<Vec<SqlValue>> {
    let mut all = rows(
        path,
        &format!("SELECT * FROM orders WHERE tenant_id = '{tenant}' ORDER BY id"),
    );
    all.extend(rows(
        path,
        &format!("SELECT * FROM items WHERE tenant_id = '{tenant}' ORDER BY id"),
    ));
    all
}

fn count(path: &Path, sql: &str) -> i64 {
    match rows(path, sql).first().and_then(|r| r.first()) {
        Some(SqlValue::Int(n)) => *n,
        other => panic!("{sql}: {other:?}"),
    }
}

/// Every row of both tables and the names in the schema.
fn fingerprint(path: &Path) -> String {
    let mut all = rows(path, "SELECT * FROM orders ORDER BY id");
    all.extend(rows(path, "SELECT * FROM items ORDER BY id"));
    all.extend(rows(path, "SELECT name FROM sqlite_master ORDER BY name"));
    format!("{all:?}")
}

fn state_table(path: &Path) -> i64 {
    count(
        path,
        "SELECT count(*) FROM sqlite_master WHERE name = 'rampart_migration'",
    )
}

fn stopped_at(result: Result<impl std::fmt::Debug, Error>) -> Step {
    match result {
        Err(Error::Migrate(MigrateError::Stopped(step))) => step,
        other => panic!("expected a stop by the test hook, got {other:?}"),
    }
}

#[test]
fn migrates_under_writes_cuts_over_then_rolls_back_another() {
    let files = files();
    let engine = engine();
    let capture = Capture::new("acme");
    let subscriber = capture.clone();
    let acme = Writer::start(
        &engine,
        "acme",
        Box::new(open(&files.source)),
        1,
        100_000,
        |s| s.subscribe(subscriber.subscriber()),
    );
    let globex = Writer::start(
        &engine,
        "globex",
        Box::new(open(&files.source)),
        1001,
        200_000,
        |_| {},
    );
    std::thread::sleep(Duration::from_millis(100));

    let migration = Migration::new(&engine, files.options("acme")).unwrap();
    assert_eq!(migration.method(), Method::Snapshot);
    migration.start(Some(&capture)).unwrap();
    let written_at_start = acme.written();
    std::thread::sleep(Duration::from_millis(300));
    migration.catch_up(&capture).unwrap();
    let checks = migration.cutover(Some(&capture)).unwrap();
    assert!(
        checks.iter().all(|c| c.matches() && c.source.rows > 0),
        "{checks:?}"
    );
    assert_eq!(capture.pending(), 0);
    let refused_at = acme.refused();
    std::thread::sleep(Duration::from_millis(100));
    assert!(acme.refused() > refused_at, "the writer was not refused");
    assert!(
        acme.written() > written_at_start,
        "no writes during the migration"
    );
    acme.finish();
    globex.finish();

    assert_eq!(
        tenant_rows(&files.source, "acme"),
        tenant_rows(&files.target, "acme")
    );
    assert!(tenant_rows(&files.target, "acme").len() > 400);
    assert_eq!(
        count(
            &files.target,
            "SELECT count(*) FROM orders WHERE tenant_id <> 'acme'"
        ),
        0
    );
    assert_eq!(
        count(
            &files.target,
            "SELECT count(*) FROM items WHERE tenant_id <> 'acme'"
        ),
        0
    );
    assert_eq!(migration.status().unwrap().as_deref(), Some("switched"));
    assert!(matches!(
        migration.rollback(),
        Err(Error::Migrate(MigrateError::AlreadyDone { .. }))
    ));

    // A second migration, of globex, rolled back.
    let source_before = fingerprint(&files.source);
    let target_before = fingerprint(&files.target);
    let second = Migration::new(&engine, files.options("globex")).unwrap();
    second.start(None).unwrap();
    assert!(second.verify().unwrap().iter().all(|c| c.matches()));
    assert!(
        count(
            &files.target,
            "SELECT count(*) FROM orders WHERE tenant_id = 'globex'"
        ) >= 100
    );
    second.rollback().unwrap();
    assert_eq!(fingerprint(&files.source), source_before);
    assert_eq!(fingerprint(&files.target), target_before);
    assert_eq!(
        count(
            &files.target,
            "SELECT count(*) FROM orders WHERE tenant_id = 'globex'"
        ),
        0
    );
}

#[test]
fn every_step_interrupted_then_rolled_back_or_finished() {
    let files = files();
    let engine = engine();
    let source_before = fingerprint(&files.source);
    let target_before = fingerprint(&files.target);
    for (i, step) in [Step::Recorded, Step::Copied].into_iter().enumerate() {
        let crashing = Migration::new(
            &engine,
            Options {
                stop_after: Some(step),
                ..files.options("acme")
            },
        )
        .unwrap();
        assert_eq!(stopped_at(crashing.start(None)), step);
        assert_eq!(crashing.status().unwrap().as_deref(), Some(step.name()));
        let migration = Migration::new(&engine, files.options("acme")).unwrap();
        if i == 0 {
            // Run again: it copies from where it stopped.
            migration.start(None).unwrap();
            assert!(migration.verify().unwrap().iter().all(|c| c.matches()));
        }
        migration.rollback().unwrap();
        assert_eq!(fingerprint(&files.source), source_before, "{step:?}");
        assert_eq!(fingerprint(&files.target), target_before, "{step:?}");
    }
    for step in [Step::WritesStopped, Step::CaughtUp, Step::Verified] {
        let migration = Migration::new(&engine, files.options("acme")).unwrap();
        migration.start(None).unwrap();
        let crashing = Migration::new(
            &engine,
            Options {
                stop_after: Some(step),
                ..files.options("acme")
            },
        )
        .unwrap();
        assert_eq!(stopped_at(crashing.cutover(None)), step);
        assert!(engine.writes_stopped("acme"));
        if step == Step::Verified {
            assert!(migration.cutover(None).unwrap().iter().all(|c| c.matches()));
            assert_eq!(migration.status().unwrap().as_deref(), Some("switched"));
        } else {
            migration.rollback().unwrap();
            assert!(!engine.writes_stopped("acme"));
            assert_eq!(fingerprint(&files.source), source_before, "{step:?}");
            assert_eq!(fingerprint(&files.target), target_before, "{step:?}");
        }
    }
    let migration = Migration::new(
        &engine,
        Options {
            stop_after: Some(Step::Switched),
            ..files.options("globex")
        },
    )
    .unwrap();
    assert_eq!(stopped_at(migration.cutover(None)), Step::Switched);
    assert_eq!(migration.status().unwrap().as_deref(), Some("switched"));
    assert_eq!(
        tenant_rows(&files.source, "globex"),
        tenant_rows(&files.target, "globex")
    );
}

#[test]
fn refuses_bad_input_and_changes_nothing() {
    let files = files();
    let engine = engine();
    let source_before = fingerprint(&files.source);
    let refused = |options: Options, capture: Option<&Capture>| -> Error {
        Migration::new(&engine, options)
            .and_then(|m| m.start(capture))
            .expect_err("expected a refusal")
    };
    let mut target = open(&files.target);

    target
        .batch("ALTER TABLE items RENAME TO items_old")
        .unwrap();
    let e = refused(files.options("acme"), None);
    assert!(
        matches!(
            &e,
            Error::Migrate(MigrateError::On {
                side: Side::Target,
                ..
            })
        ),
        "{e}"
    );
    assert_eq!(e.sqlstate(), "42P01");
    target
        .batch("ALTER TABLE items_old RENAME TO items")
        .unwrap();
    target
        .batch(
            "DROP TABLE orders; CREATE TABLE orders (id INTEGER PRIMARY KEY, \
             tenant_id TEXT NOT NULL, amount TEXT NOT NULL, note TEXT)",
        )
        .unwrap();
    // A target column that does not store its declared type (`amount: int`
    // as TEXT) is refused by the target's schema check, naming it.
    let e = refused(files.options("acme"), None);
    assert!(
        matches!(
            &e,
            Error::Migrate(MigrateError::On {
                side: Side::Target,
                ..
            })
        ) && e.to_string().contains("`amount`"),
        "{e}"
    );
    assert_eq!(e.sqlstate(), "42804");
    // Both store the declared type, but differently from the source.
    target
        .batch(
            "DROP TABLE orders; CREATE TABLE orders (id INTEGER PRIMARY KEY, \
             tenant_id VARCHAR(10) NOT NULL, amount INTEGER NOT NULL, note TEXT)",
        )
        .unwrap();
    let e = refused(files.options("acme"), None);
    assert!(
        matches!(&e, Error::Migrate(MigrateError::SchemaDiffers { column, .. }) if column == "tenant_id"),
        "{e}"
    );
    target
        .batch(
            "DROP TABLE orders; CREATE TABLE orders (id INTEGER PRIMARY KEY, \
             tenant_id TEXT NOT NULL, amount INTEGER NOT NULL, note TEXT)",
        )
        .unwrap();

    let e = refused(files.options("initech"), None);
    assert!(
        matches!(e, Error::Migrate(MigrateError::NoRows { .. })),
        "{e}"
    );

    target
        .batch("INSERT INTO orders VALUES (1, 'acme', 1, NULL)")
        .unwrap();
    let e = refused(files.options("acme"), None);
    assert!(
        matches!(e, Error::Migrate(MigrateError::TargetHasRows { .. })),
        "{e}"
    );
    target.batch("DELETE FROM orders").unwrap();

    let mut missing = files.options("acme");
    missing.from = "sqlite:/nonexistent/source.db".into();
    let e = refused(missing, None);
    assert!(
        matches!(
            &e,
            Error::Migrate(MigrateError::On {
                side: Side::Source,
                ..
            })
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("no such SQLite database file"),
        "{e}"
    );
    let mut replication = files.options("acme");
    replication.method = Some(Method::Replication);
    assert!(matches!(
        refused(replication, None),
        Error::Migrate(MigrateError::Usage(_))
    ));

    // Change events need a primary key to be replayed by.
    target
        .batch("DROP TABLE items; CREATE TABLE items (id INTEGER, tenant_id TEXT, order_id INTEGER, qty INTEGER)")
        .unwrap();
    let capture = Capture::new("acme");
    let e = refused(files.options("acme"), Some(&capture));
    assert!(
        matches!(e, Error::Migrate(MigrateError::NoPrimaryKey { .. })),
        "{e}"
    );
    assert_eq!(count(&files.target, "SELECT count(*) FROM orders"), 0);
    assert_eq!(state_table(&files.target), 0);
    assert_eq!(fingerprint(&files.source), source_before);
}

#[test]
fn a_tenant_id_with_quotes_is_a_literal() {
    let files = files();
    let engine = engine();
    let tenant = "x' OR '1'='1";
    open(&files.source)
        .batch(
            "INSERT INTO orders VALUES (5000, 'x'' OR ''1''=''1', 3, 'q');
             INSERT INTO items VALUES (50000, 'x'' OR ''1''=''1', 5000, 1)",
        )
        .unwrap();
    let migration = Migration::new(&engine, files.options(tenant)).unwrap();
    let checks = migration.cutover(None).unwrap();
    assert_eq!(
        checks.iter().map(|c| c.target.rows).collect::<Vec<_>>(),
        vec![1, 1]
    );
    assert_eq!(count(&files.target, "SELECT count(*) FROM orders"), 1);
    assert_eq!(count(&files.target, "SELECT count(*) FROM items"), 1);
    assert_eq!(migration.status().unwrap().as_deref(), Some("switched"));
}
