//! Writes inside WITH items (PostgreSQL's data-modifying WITH) through a
//! session, with storage accounting (`RAMPART_PG_URL`): counted like the
//! same writes on their own, refused at the limit with nothing written or
//! counted, and refused while change events are on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[allow(dead_code)]
#[path = "storage/db.rs"]
mod db;

use rampart::exec::SqlValue;

use db::postgres;

/// Writes inside WITH items (PostgreSQL only) are counted like the same
/// writes on their own: the first write of a session being one installs
/// the accounting, one that adds is refused at the limit with nothing
/// written or counted, one that deletes goes on, and a policy violation
/// inside an item undoes the whole statement.
#[test]
fn postgres_writes_in_with_items_are_counted() {
    let Some(db) = postgres() else { return };
    let mut ann = db.session("tiny", "small", "ann");
    let inserted = ann
        .execute(
            "WITH i AS (INSERT INTO orders (id, amount) VALUES (1, 1), (2, 1), (3, 1) \
             RETURNING id) SELECT count(*) FROM i",
        )
        .unwrap();
    assert_eq!(inserted.rows, vec![vec![SqlValue::Int(3)]]);
    assert_eq!(db.bytes("tiny"), 3 * 47);
    assert_eq!(db.counted(), db.expected());

    let moved = ann
        .execute(
            "WITH d AS (DELETE FROM orders WHERE id = 3 RETURNING id, amount) \
             INSERT INTO orders (id, amount, note) SELECT id + 10, amount, 'moved' FROM d \
             RETURNING id",
        )
        .unwrap();
    assert_eq!(moved.rows, vec![vec![SqlValue::Int(13)]]);
    assert_eq!(db.bytes("tiny"), 3 * 47 + 5);
    assert_eq!(db.counted(), db.expected());

    ann.execute(
        "WITH i AS (INSERT INTO orders (id, amount) VALUES (4, 1), (5, 1), (6, 1), (7, 1)) SELECT 1",
    )
        .unwrap();
    let full = db.bytes("tiny");
    assert!(full > 300, "{full}");
    let rows = db.orders();
    for sql in [
        "WITH i AS (INSERT INTO orders (id, amount) VALUES (8, 1) RETURNING id) SELECT * FROM i",
        "WITH u AS (UPDATE orders SET note = 'longer' WHERE id = 1 RETURNING id) SELECT * FROM u",
        "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING id, amount) \
         INSERT INTO orders (id, amount, note) SELECT id + 20, amount, 'moved' FROM d",
    ] {
        let error = ann.execute(sql).unwrap_err();
        assert_eq!(error.sqlstate(), "53100", "{sql}: {error}");
        assert_eq!(db.orders(), rows, "{sql} changed the table");
        assert_eq!(db.bytes("tiny"), full, "{sql} changed the usage");
    }
    let violation = ann
        .execute(
            "WITH d AS (DELETE FROM orders WHERE id = 4), \
             u AS (UPDATE orders SET amount = -1 WHERE id = 5 RETURNING id) SELECT * FROM u",
        )
        .unwrap_err();
    assert_eq!(violation.sqlstate(), "42501", "{violation}");
    assert_eq!(db.orders(), rows);

    let deleted = ann
        .execute("WITH d AS (DELETE FROM orders WHERE id > 3 RETURNING id) SELECT count(*) FROM d")
        .unwrap();
    assert_eq!(deleted.rows, vec![vec![SqlValue::Int(5)]]);
    assert_eq!(db.counted(), db.expected());
    assert!(db.bytes("tiny") < 300);

    // With change events on, a write inside a WITH item is refused.
    let mut watched = db.session("tiny", "small", "ann");
    watched.subscribe(Box::new(|_| {}));
    let error = watched
        .execute("WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "0A000", "{error}");
    assert_eq!(db.orders().len(), 2);
}
