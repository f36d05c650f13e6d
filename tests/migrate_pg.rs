//! Tenant migration between two PostgreSQL clusters (`RAMPART_PG_URL` is
//! the source's server, `RAMPART_PG_URL_2` the target's; each test makes
//! databases of its own): logical replication while a writer keeps
//! changing the tenant's rows, checksums, cutover, rollback leaving the
//! source as it was, every step interrupted, and refused input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "migrate/fixture.rs"]
mod fixture;

use std::time::Duration;

use postgres::Client;
use rampart::exec::pg::PostgresBackend;
use rampart::migrate::{Method, MigrateError, Migration, Options, Side, Step};
use rampart::{Engine, Error};

use common::pg::TestDb;
use fixture::{engine, schema, seed, Writer};

/// A source database on cluster 1 and a target on cluster 2, both with
/// the tables; the source holds 200 orders of `acme` (ids 1…200) and 100 of
/// `globex` (1001…1100), two items each.
fn databases() -> Option<(TestDb, TestDb)> {
    let source = TestDb::create_in("RAMPART_PG_URL")?;
    let target = TestDb::create_in("RAMPART_PG_URL_2")?;
    for db in [&source, &target] {
        db.superuser().batch_execute(&schema("bigint")).unwrap();
    }
    let mut backend = PostgresBackend::connect(&source.url()).unwrap();
    seed(&mut backend, "acme", 1, 200);
    seed(&mut backend, "globex", 1001, 100);
    Some((source, target))
}

fn backend(db: &TestDb) -> Box<PostgresBackend> {
    Box::new(PostgresBackend::connect(&db.url()).unwrap())
}

fn options(tenant: &str, source: &TestDb, target: &TestDb) -> Options {
    Options {
        timeout: Duration::from_secs(60),
        ..Options::new(tenant, &source.url(), &target.url())
    }
}

fn text(client: &mut Client, sql: &str) -> String {
    client
        .query_one(sql, &[])
        .unwrap()
        .get::<_, Option<String>>(0)
        .unwrap_or_default()
}

/// Everything a migration may touch on the source: the rows, and the
/// publications, slots and replica identities of this database.
fn source_fingerprint(db: &TestDb) -> String {
    text(
        &mut db.superuser(),
        "SELECT concat_ws(' | ',
            (SELECT string_agg(o::text, ';' ORDER BY o.id) FROM orders o),
            (SELECT string_agg(i::text, ';' ORDER BY i.id) FROM items i),
            'publications: ' || (SELECT count(*) FROM pg_publication),
            'slots: ' || (SELECT count(*) FROM pg_replication_slots WHERE database = current_database()),
            (SELECT string_agg(relname || '=' || relreplident::text, ',' ORDER BY relname)
               FROM pg_class WHERE relname IN ('orders', 'items')))",
    )
}

/// A tenant's rows of both tables, in order.
fn tenant_rows(db: &TestDb, tenant: &str) -> String {
    let mut client = db.superuser();
    let rows = client
        .query(
            "SELECT concat_ws(' | ',
                (SELECT string_agg(o::text, ';' ORDER BY o.id) FROM orders o WHERE tenant_id = $1),
                (SELECT string_agg(i::text, ';' ORDER BY i.id) FROM items i WHERE tenant_id = $1))",
            &[&tenant],
        )
        .unwrap();
    rows[0].get::<_, Option<String>>(0).unwrap_or_default()
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.superuser().query_one(sql, &[]).unwrap().get(0)
}

/// No subscription, and no state table or only the rows of `kept`.
fn target_objects(db: &TestDb) -> (i64, String) {
    let subscriptions = count(
        db,
        "SELECT count(*) FROM pg_subscription \
         WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    let state = text(
        &mut db.superuser(),
        "SELECT CASE WHEN to_regclass('rampart_migration') IS NULL THEN 'no state table' END",
    );
    let state = if state.is_empty() {
        text(
            &mut db.superuser(),
            "SELECT string_agg(tenant || '=' || step, ',' ORDER BY tenant) FROM rampart_migration",
        )
    } else {
        state
    };
    (subscriptions, state)
}

fn stopped_at(result: Result<impl std::fmt::Debug, Error>) -> Step {
    match result {
        Err(Error::Migrate(MigrateError::Stopped(step))) => step,
        other => panic!("expected a stop by the test hook, got {other:?}"),
    }
}

#[test]
fn migrates_under_writes_cuts_over_then_rolls_back_another() {
    let Some((source, target)) = databases() else {
        return;
    };
    let engine = engine();
    let acme = Writer::start(&engine, "acme", backend(&source), 1, 100_000, |_| {});
    let globex = Writer::start(&engine, "globex", backend(&source), 1001, 200_000, |_| {});
    std::thread::sleep(Duration::from_millis(200));

    let migration = Migration::new(&engine, options("acme", &source, &target)).unwrap();
    assert_eq!(migration.method(), Method::Replication);
    migration.start(None).unwrap();
    assert_eq!(migration.status().unwrap().as_deref(), Some("synced"));
    let written_at_start = acme.written();
    // The source stays online: the writer goes on while changes stream.
    std::thread::sleep(Duration::from_millis(500));
    assert!(migration.verify().unwrap().len() == 2);
    let checks = migration.cutover(None).unwrap();
    assert!(checks.iter().all(|c| c.matches()), "{checks:?}");
    assert!(checks.iter().all(|c| c.source.rows > 0));
    assert!(engine.writes_stopped("acme") && !engine.writes_stopped("globex"));
    // Writes of acme are refused from now on; globex writes on.
    let refused_at = acme.refused();
    std::thread::sleep(Duration::from_millis(100));
    assert!(acme.refused() > refused_at, "the writer was not refused");
    assert!(
        acme.written() > written_at_start,
        "no writes during the migration"
    );
    let globex_written = globex.written();
    acme.finish();
    std::thread::sleep(Duration::from_millis(50));
    assert!(globex.written() > globex_written);
    globex.finish();

    assert_eq!(tenant_rows(&source, "acme"), tenant_rows(&target, "acme"));
    assert!(tenant_rows(&target, "acme").len() > 1000);
    // Other tenants' rows never reach the target.
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM orders WHERE tenant_id <> 'acme'"
        ),
        0
    );
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM items WHERE tenant_id <> 'acme'"
        ),
        0
    );
    let fingerprint = source_fingerprint(&source);
    assert!(
        fingerprint.contains("publications: 0 | slots: 0 | items=d,orders=d"),
        "{fingerprint}"
    );
    assert_eq!(target_objects(&target), (0, "acme=switched".to_string()));
    // A cut-over migration is not rolled back, nor started again.
    assert!(matches!(
        migration.rollback(),
        Err(Error::Migrate(MigrateError::AlreadyDone { .. }))
    ));
    assert!(matches!(
        migration.start(None),
        Err(Error::Migrate(MigrateError::AlreadyDone { .. }))
    ));

    // A second migration, of globex, rolled back.
    let before = source_fingerprint(&source);
    let second = Migration::new(&engine, options("globex", &source, &target)).unwrap();
    second.start(None).unwrap();
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM orders WHERE tenant_id = 'globex'"
        ),
        100 + globex_rows_added(&source)
    );
    assert_ne!(
        source_fingerprint(&source),
        before,
        "replication objects expected"
    );
    let undone = second.rollback().unwrap();
    assert!(
        undone.iter().any(|l| l.contains("publication")),
        "{undone:?}"
    );
    assert_eq!(source_fingerprint(&source), before);
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM orders WHERE tenant_id = 'globex'"
        ),
        0
    );
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM items WHERE tenant_id = 'globex'"
        ),
        0
    );
    assert_eq!(target_objects(&target), (0, "acme=switched".to_string()));
    assert_eq!(tenant_rows(&source, "acme"), tenant_rows(&target, "acme"));
}

/// Orders the globex writer inserted beyond the 100 seeded.
fn globex_rows_added(source: &TestDb) -> i64 {
    count(
        source,
        "SELECT count(*) FROM orders WHERE tenant_id = 'globex'",
    ) - 100
}

#[test]
fn every_step_interrupted_then_rolled_back_or_finished() {
    let Some((source, target)) = databases() else {
        return;
    };
    let engine = engine();
    let before = source_fingerprint(&source);
    let clean = (0, "no state table".to_string());
    let start_steps = [
        Step::Recorded,
        Step::ReplicaIdentity,
        Step::Published,
        Step::Subscribed,
        Step::Synced,
    ];
    for (i, step) in start_steps.into_iter().enumerate() {
        let crashing = Migration::new(
            &engine,
            Options {
                stop_after: Some(step),
                ..options("acme", &source, &target)
            },
        )
        .unwrap();
        assert_eq!(stopped_at(crashing.start(None)), step);
        assert_eq!(crashing.status().unwrap().as_deref(), Some(step.name()));
        let migration = Migration::new(&engine, options("acme", &source, &target)).unwrap();
        if i % 2 == 1 && step != Step::Synced {
            // Run again: it finishes from where it stopped.
            migration.start(None).unwrap();
            assert!(migration.verify().unwrap().iter().all(|c| c.matches()));
        }
        migration.rollback().unwrap();
        assert_eq!(
            source_fingerprint(&source),
            before,
            "after a stop at {step:?}"
        );
        assert_eq!(count(&target, "SELECT count(*) FROM orders"), 0, "{step:?}");
        assert_eq!(count(&target, "SELECT count(*) FROM items"), 0, "{step:?}");
        assert_eq!(target_objects(&target), clean, "{step:?}");
    }
    for step in [Step::WritesStopped, Step::CaughtUp, Step::Verified] {
        let migration = Migration::new(&engine, options("acme", &source, &target)).unwrap();
        migration.start(None).unwrap();
        let crashing = Migration::new(
            &engine,
            Options {
                stop_after: Some(step),
                ..options("acme", &source, &target)
            },
        )
        .unwrap();
        assert_eq!(stopped_at(crashing.cutover(None)), step);
        assert!(engine.writes_stopped("acme"));
        if step == Step::Verified {
            // Cutover again: it finishes.
            let checks = migration.cutover(None).unwrap();
            assert!(checks.iter().all(|c| c.matches()));
            assert_eq!(target_objects(&target), (0, "acme=switched".to_string()));
            assert!(source_fingerprint(&source)
                .contains("publications: 0 | slots: 0 | items=d,orders=d"));
        } else {
            migration.rollback().unwrap();
            assert!(!engine.writes_stopped("acme"));
            assert_eq!(
                source_fingerprint(&source),
                before,
                "after a stop at {step:?}"
            );
            assert_eq!(target_objects(&target), clean, "{step:?}");
        }
    }
    // A stop right after the switch leaves a finished migration.
    let migration = Migration::new(
        &engine,
        Options {
            stop_after: Some(Step::Switched),
            ..options("globex", &source, &target)
        },
    )
    .unwrap();
    assert_eq!(stopped_at(migration.cutover(None)), Step::Switched);
    assert_eq!(
        target_objects(&target),
        (0, "acme=switched,globex=switched".to_string())
    );
    assert_eq!(
        tenant_rows(&source, "globex"),
        tenant_rows(&target, "globex")
    );
}

#[test]
fn refuses_bad_input_and_changes_nothing() {
    let Some((source, target)) = databases() else {
        return;
    };
    let engine = engine();
    let before = source_fingerprint(&source);
    let clean = (0, "no state table".to_string());
    let refused = |options: Options| -> Error {
        Migration::new(&engine, options)
            .and_then(|m| m.start(None))
            .expect_err("expected a refusal")
    };

    // A table missing on the target, then a column.
    target
        .superuser()
        .batch_execute("ALTER TABLE items RENAME TO items_old")
        .unwrap();
    let e = refused(options("acme", &source, &target));
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
    assert!(e.to_string().contains("`items`"), "{e}");
    target
        .superuser()
        .batch_execute("ALTER TABLE items_old RENAME TO items; ALTER TABLE items RENAME COLUMN qty TO quantity")
        .unwrap();
    let e = refused(options("acme", &source, &target));
    assert_eq!(e.sqlstate(), "42703");
    assert!(
        e.to_string().contains("`qty`") && e.to_string().contains("target"),
        "{e}"
    );
    target
        .superuser()
        .batch_execute("ALTER TABLE items RENAME COLUMN quantity TO qty")
        .unwrap();

    // A tenant without rows.
    let e = refused(options("initech", &source, &target));
    assert!(
        matches!(e, Error::Migrate(MigrateError::NoRows { .. })),
        "{e}"
    );

    // The tenant's rows already on the target.
    target
        .superuser()
        .batch_execute("INSERT INTO orders VALUES (1, 'acme', 1, NULL)")
        .unwrap();
    let e = refused(options("acme", &source, &target));
    assert!(
        matches!(e, Error::Migrate(MigrateError::TargetHasRows { .. })),
        "{e}"
    );
    target
        .superuser()
        .batch_execute("DELETE FROM orders")
        .unwrap();

    // Unreachable or malformed URLs, the same database twice.
    let mut closed = options("acme", &source, &target);
    closed.from = "postgres://rampart@127.0.0.1:1/nowhere".into();
    let e = refused(closed);
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
    assert_eq!(e.sqlstate(), "08001");
    let mut odd = options("acme", &source, &target);
    odd.to = "mysql://x".into();
    assert!(refused(odd).to_string().contains("target"));
    let mut same = options("acme", &source, &target);
    same.to = same.from.clone();
    assert!(matches!(
        refused(same),
        Error::Migrate(MigrateError::Usage(_))
    ));

    // A predicate no row filter can express: refused before any change.
    let exists = Engine::from_source("exists.policy", fixture::POLICY_WITH_EXISTS).unwrap();
    let e = Migration::new(&exists, options("acme", &source, &target))
        .and_then(|m| m.start(None))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Migrate(MigrateError::RowFilter { table, .. }) if table == "items"),
        "{e}"
    );
    assert!(e.to_string().contains("--method snapshot"), "{e}");

    assert_eq!(source_fingerprint(&source), before);
    assert_eq!(target_objects(&target), clean);
    assert_eq!(count(&target, "SELECT count(*) FROM orders"), 0);

    // Another migration of the same tenant under way.
    let first = Migration::new(&engine, options("acme", &source, &target)).unwrap();
    first.start(None).unwrap();
    let e = refused(options("acme", &source, &target));
    assert!(
        matches!(e, Error::Migrate(MigrateError::AlreadyRunning { .. })),
        "{e}"
    );
    let other = TestDb::create_in("RAMPART_PG_URL_2").unwrap();
    other.superuser().batch_execute(&schema("bigint")).unwrap();
    let e = refused(options("acme", &source, &other));
    assert!(
        matches!(&e, Error::Migrate(MigrateError::AlreadyRunning { detail, .. }) if detail.contains("another target")),
        "{e}"
    );
    assert_eq!(target_objects(&other), clean);
    first.rollback().unwrap();
    assert_eq!(source_fingerprint(&source), before);
    assert_eq!(target_objects(&target), clean);
}
