//! `Engine::stop_writes`, which a migration's cutover uses: the tenant's
//! write statements fail with 25006 and change nothing, a transaction that
//! wrote before the stop rolls back at COMMIT, reads go on, other tenants
//! write on, and `resume_writes` ends it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rampart::exec::{open, Backend, SqlValue};
use rampart::{Context, Engine, Error};

const POLICY: &str = r#"
context tenant { id: text }
table orders { id: int, tenant_id: text = tenant.id }
policy isolation on orders using tenant_id == tenant.id check tenant_id == tenant.id;
"#;

fn orders(backend: &mut dyn Backend) -> Vec<Vec<SqlValue>> {
    backend
        .run("SELECT id, tenant_id FROM orders ORDER BY id", true)
        .unwrap()
        .rows
}

#[test]
fn stopped_writes_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("db").display());
    open(&url)
        .unwrap()
        .batch("CREATE TABLE orders (id INTEGER, tenant_id TEXT); INSERT INTO orders VALUES (1, 'acme')")
        .unwrap();
    let engine = Engine::from_source("orders.policy", POLICY).unwrap();
    let session = |tenant: &str| {
        let ctx = Context::from_json(&format!(r#"{{"tenant": {{"id": "{tenant}"}}}}"#)).unwrap();
        engine.connect(ctx, open(&url).unwrap()).unwrap()
    };
    let mut acme = session("acme");
    let mut globex = session("globex");
    let mut in_transaction = session("acme");
    in_transaction.execute("BEGIN").unwrap();
    in_transaction
        .execute("INSERT INTO orders (id) VALUES (2)")
        .unwrap();

    // A clone of the engine shares the stop.
    engine.clone().stop_writes("acme");
    assert!(engine.writes_stopped("acme") && !engine.writes_stopped("globex"));
    for sql in [
        "INSERT INTO orders (id) VALUES (3)",
        "UPDATE orders SET id = 4",
        "DELETE FROM orders",
    ] {
        let e = acme.execute(sql).unwrap_err();
        assert!(matches!(e, Error::WritesStopped { .. }), "{sql}: {e}");
        assert_eq!(e.sqlstate(), "25006");
    }
    assert_eq!(acme.execute("SELECT id FROM orders").unwrap().rows.len(), 1);
    let e = in_transaction.execute("COMMIT").unwrap_err();
    assert_eq!(e.sqlstate(), "25006");
    globex
        .execute("INSERT INTO orders (id) VALUES (10)")
        .unwrap();
    let mut owner = open(&url).unwrap();
    assert_eq!(
        orders(owner.as_mut()),
        vec![
            vec![SqlValue::Int(1), SqlValue::Text("acme".into())],
            vec![SqlValue::Int(10), SqlValue::Text("globex".into())],
        ]
    );

    engine.resume_writes("acme");
    acme.execute("INSERT INTO orders (id) VALUES (3)").unwrap();
    assert_eq!(orders(owner.as_mut()).len(), 3);
}
