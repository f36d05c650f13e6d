//! Storage quotas (issue 8) on SQLite and on PostgreSQL (when
//! `RAMPART_PG_URL` is set): `rampart_usage` counted in the writing
//! transaction with the documented row size, writes refused at the limit
//! (53100) with nothing written and nothing counted, deletes going on, and
//! usage equal to a fresh recompute (and to a count in Rust from the rows)
//! after a random mix of writes and refused writes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "storage/db.rs"]
mod db;

use std::collections::BTreeMap;
use std::sync::Arc;

use rampart::exec::{Backend, SqlValue};
use rampart::quota::{InProcessStore, ManualClock};
use rampart::{Dialect, Engine, Session};

use db::{postgres, sqlite, Db, POLICY};

/// Rows written by the owner (after `prepare_usage`) and through sessions
/// weigh what the rule says; open tables are not counted.
fn row_sizes(db: &Db) {
    let mut owner = (db.connect)();
    db.engine.prepare_usage(owner.as_mut()).unwrap();
    let at = match db.dialect {
        Dialect::Postgres => "TIMESTAMPTZ '2026-01-01 00:00:00+00'",
        Dialect::Sqlite => "1767225600000000",
    };
    let paid = match db.dialect {
        Dialect::Postgres => "true",
        Dialect::Sqlite => "1",
    };
    owner
        .batch(&format!(
            "INSERT INTO orders VALUES (1, 'acme', 'bob', 5, 'héllo', {paid}, {at}, 0.5)"
        ))
        .unwrap();
    // 24 + 8 + 4 + 3 + 8 + 6 ('héllo': é is two bytes) + 1 + 8 + 8
    assert_eq!(db.bytes("acme"), 70);
    let mut bob = db.session("acme", "pro", "bob");
    bob.execute("INSERT INTO orders (id, amount) VALUES (2, 7)")
        .unwrap();
    // 24 + 8 + 4 + 3 + 8, the preset tenant and owner filled in.
    assert_eq!(db.bytes("acme"), 70 + 47);
    bob.execute("UPDATE orders SET note = 'x' WHERE id = 1")
        .unwrap();
    assert_eq!(db.bytes("acme"), 65 + 47);
    bob.execute("DELETE FROM orders WHERE id = 2").unwrap();
    assert_eq!(db.bytes("acme"), 65);
    bob.execute("INSERT INTO countries VALUES ('fr', 'France')")
        .unwrap();
    assert_eq!(db.bytes("acme"), 65);
    assert_eq!(db.counted(), db.expected());

    if db.dialect == Dialect::Postgres {
        // A new session finds the triggers current and leaves them be (a
        // reinstall would lock the table against every writer).
        let versions = |owner: &mut Box<dyn Backend>| {
            owner
                .run(
                    "SELECT (SELECT string_agg(xmin::text, ',' ORDER BY tgname) FROM pg_trigger \
                     WHERE tgname LIKE 'rampart_usage_%'), \
                     (SELECT xmin::text FROM pg_proc WHERE proname = 'rampart_usage_orders')",
                    true,
                )
                .unwrap()
                .rows
        };
        let before = versions(&mut owner);
        let mut eve = db.session("globex", "pro", "eve");
        eve.execute("INSERT INTO orders (id, amount) VALUES (3, 1)")
            .unwrap();
        assert_eq!(versions(&mut owner), before);
        assert_eq!(db.counted(), db.expected());
    }
}

#[test]
fn sqlite_row_sizes() {
    row_sizes(&sqlite());
}

#[test]
fn postgres_row_sizes() {
    if let Some(db) = postgres() {
        row_sizes(&db);
    }
}

/// The tenant `tiny` has 300 bytes; each of its minimal rows weighs 47
/// (24 + 8 + 4 + 3 + 8: id, 'tiny', 'ann', amount).
fn refused_at_the_limit(db: &Db) {
    let mut ann = db.session("tiny", "small", "ann");
    for id in 1..=6 {
        ann.execute(&format!("INSERT INTO orders (id, amount) VALUES ({id}, 1)"))
            .unwrap();
    }
    assert_eq!(db.bytes("tiny"), 282);
    // Below the limit a write goes through, even one that crosses it.
    ann.execute("INSERT INTO orders (id, amount) VALUES (7, 1)")
        .unwrap();
    assert_eq!(db.bytes("tiny"), 329);
    let rows = db.orders();

    let refused = |ann: &mut Session, sql: &str| {
        let error = ann.execute(sql).unwrap_err();
        assert_eq!(error.sqlstate(), "53100", "{sql}: {error}");
        assert_eq!(
            error.to_string(),
            "storage full for tenant `tiny`: 329 bytes used, the limit is 300"
        );
        assert_eq!(db.orders(), rows, "{sql} changed the table");
        assert_eq!(db.bytes("tiny"), 329, "{sql} changed the usage");
    };
    refused(&mut ann, "INSERT INTO orders (id, amount) VALUES (8, 1)");
    refused(
        &mut ann,
        "INSERT INTO orders (id, amount) VALUES (8, 1), (9, 2) RETURNING id",
    );
    refused(&mut ann, "UPDATE orders SET note = 'longer' WHERE id = 1");
    refused(
        &mut ann,
        "INSERT INTO orders (id, amount) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET note = 'n'",
    );
    // Reads, writes that add nothing, and deletes go on.
    let read = ann.execute("SELECT count(*) FROM orders").unwrap();
    assert_eq!(read.rows, vec![vec![SqlValue::Int(7)]]);
    ann.execute("UPDATE orders SET amount = 2 WHERE id = 1")
        .unwrap();
    ann.execute("INSERT INTO orders (id, amount) SELECT id, amount FROM orders WHERE id > 100")
        .unwrap();
    ann.execute("DELETE FROM orders WHERE id = 7").unwrap();
    assert_eq!(db.bytes("tiny"), 282);

    // Inside a transaction: the refusal aborts it, ROLLBACK undoes the rest.
    ann.execute("BEGIN").unwrap();
    ann.execute("INSERT INTO orders (id, amount) VALUES (7, 1)")
        .unwrap();
    let error = ann
        .execute("INSERT INTO orders (id, amount) VALUES (8, 1)")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "53100");
    assert_eq!(
        ann.execute("SELECT 1").unwrap_err().sqlstate(),
        "25P02",
        "the refusal aborts the transaction"
    );
    ann.execute("ROLLBACK").unwrap();
    assert_eq!(db.bytes("tiny"), 282);
    assert_eq!(db.orders().len(), 6);

    // Another tenant is not held back by `tiny`'s limit.
    let mut bob = db.session("acme", "pro", "bob");
    bob.execute("INSERT INTO orders (id, amount) VALUES (20, 1)")
        .unwrap();
    assert_eq!(db.counted(), db.expected());
}

#[test]
fn sqlite_refused_at_the_limit() {
    refused_at_the_limit(&sqlite());
}

#[test]
fn postgres_refused_at_the_limit() {
    if let Some(db) = postgres() {
        refused_at_the_limit(&db);
    }
}

/// xorshift64*: reproducible choices without a dependency.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }

    fn note(&mut self) -> String {
        match self.below(4) {
            0 => "NULL".to_string(),
            _ => {
                let len = self.below(30);
                let text: String = (0..len)
                    .map(|i| if i % 7 == 3 { 'é' } else { 'a' })
                    .collect();
                format!("'{text}'")
            }
        }
    }

    /// One write (or a transaction of several) from the mix.
    fn statement(&mut self) -> Vec<String> {
        let id = self.below(30) + 1;
        let amount = self.below(20) as i64 - 3; // sometimes negative: 42501
        let one = match self.below(11) {
            0 => format!(
                "INSERT INTO orders (id, amount, note) VALUES ({id}, {amount}, {})",
                self.note()
            ),
            1 => format!(
                "INSERT INTO orders (id, amount, note, paid) VALUES ({id}, 1, {}, true), ({}, 2, {}, NULL) RETURNING id, note",
                self.note(),
                id + 30,
                self.note()
            ),
            2 => format!(
                "INSERT INTO orders (id, amount, note) VALUES ({id}, {amount}, {}) \
                 ON CONFLICT (id) DO UPDATE SET note = excluded.note, amount = excluded.amount",
                self.note()
            ),
            3 => format!(
                "INSERT INTO orders (id, amount, ratio) VALUES ({id}, 1, 0.25) ON CONFLICT DO NOTHING"
            ),
            4 => format!(
                "UPDATE orders SET note = {} WHERE id % 3 = {}",
                self.note(),
                id % 3
            ),
            5 => format!("UPDATE orders SET amount = amount - {} WHERE id = {id} RETURNING id", self.below(10)),
            6 => format!("UPDATE orders SET note = note || 'é', paid = false WHERE id < {id}"),
            7 => format!("DELETE FROM orders WHERE id = {id}"),
            8 => format!("DELETE FROM orders WHERE amount < {amount} RETURNING *"),
            9 => format!(
                "INSERT INTO orders (id, amount) SELECT id + 100, amount FROM orders WHERE id < {id}"
            ),
            _ => format!("INSERT INTO countries VALUES ('c{id}', {})", self.note()),
        };
        match self.below(6) {
            0 => vec![
                "BEGIN".into(),
                one,
                "INSERT INTO orders (id, amount) VALUES (1, 1)".into(),
                "ROLLBACK".into(),
            ],
            1 => vec!["BEGIN".into(), one, "COMMIT".into()],
            2 => vec![
                "BEGIN".into(),
                "SAVEPOINT s".into(),
                one,
                "ROLLBACK TO SAVEPOINT s".into(),
                format!("DELETE FROM orders WHERE id = {}", id + 1),
                "COMMIT".into(),
            ],
            _ => vec![one],
        }
    }
}

/// After a random mix of writes by three tenants (two roomy, one at 300
/// bytes), some refused by policies (42501), by the storage limit (53100),
/// by the database (23505) or inside transactions rolled back, the counted
/// usage equals a fresh recompute and the count from the rows.
fn usage_matches_recompute(db: &Db, seed: u64) {
    let mut sessions = [
        db.session("acme", "pro", "bob"),
        db.session("globex", "pro", "eve"),
        db.session("tiny", "small", "ann"),
    ];
    let mut choices = Choices(seed);
    let mut refusals = BTreeMap::<String, usize>::new();
    for _ in 0..100 {
        // `tiny` half the time, so that it reaches its limit.
        let session = &mut sessions[usize::try_from(choices.below(4)).unwrap().min(2)];
        for sql in choices.statement() {
            if let Err(e) = session.execute(&sql) {
                *refusals.entry(e.sqlstate().to_string()).or_default() += 1;
            }
        }
        // A transaction left open by a failed COMMIT is closed.
        let _ = session.execute("ROLLBACK");
    }
    let counted = db.counted();
    assert_eq!(counted, db.expected(), "seed {seed}: counted vs rows");
    let mut backend = (db.connect)();
    let recomputed: BTreeMap<String, u64> = db
        .engine
        .recompute_usage(backend.as_mut())
        .unwrap()
        .into_iter()
        .filter(|(_, bytes)| *bytes > 0)
        .collect();
    assert_eq!(counted, recomputed, "seed {seed}: counted vs recompute");
    assert!(
        refusals.contains_key("53100") && refusals.contains_key("42501"),
        "seed {seed}: the mix must include storage and policy refusals: {refusals:?}"
    );
}

#[test]
fn sqlite_usage_matches_recompute() {
    for seed in [1, 2, 3] {
        usage_matches_recompute(&sqlite(), seed);
    }
}

#[test]
fn postgres_usage_matches_recompute() {
    for seed in [1, 2, 3] {
        if let Some(db) = postgres() {
            usage_matches_recompute(&db, seed);
        }
    }
}

/// A recompute repairs usage that drifted (rows written where no trigger
/// counted them, a usage row edited by hand).
fn recompute_repairs_drift(db: &Db) {
    let mut bob = db.session("acme", "pro", "bob");
    bob.execute("INSERT INTO orders (id, amount) VALUES (1, 1), (2, 2)")
        .unwrap();
    let mut owner = (db.connect)();
    owner
        .batch("UPDATE rampart_usage SET bytes = 5; INSERT INTO rampart_usage (tenant, bytes) VALUES ('ghost', 99)")
        .unwrap();
    assert_eq!(db.bytes("acme"), 5);
    let recomputed = db.engine.recompute_usage(owner.as_mut()).unwrap();
    assert_eq!(
        recomputed,
        vec![("acme".to_string(), 94), ("ghost".to_string(), 0)]
    );
    assert_eq!(db.counted(), db.expected());
}

#[test]
fn sqlite_recompute_repairs_drift() {
    recompute_repairs_drift(&sqlite());
}

#[test]
fn postgres_recompute_repairs_drift() {
    if let Some(db) = postgres() {
        recompute_repairs_drift(&db);
    }
}

/// `Engine::quota_usage`: the limits, connection slots taken, the rate
/// limiter's burst left and the stored bytes, as they change.
#[test]
fn quota_usage_reports_limits_and_current_use() {
    let clock = Arc::new(ManualClock::new(0));
    let engine = Engine::from_source(
        "q.policy",
        &POLICY.replace(
            "tier roomy { storage 1 MB }",
            "tier roomy { connections 3; qps 4; storage 1 MB }",
        ),
    )
    .unwrap()
    .with_quota_store(Arc::new(InProcessStore::with_clock(Arc::clone(&clock))));
    let db = Db { engine, ..sqlite() };
    let mut probe = (db.connect)();
    let unknown = db.engine.quota_usage("acme", probe.as_mut()).unwrap();
    assert_eq!(
        (unknown.limits, unknown.connections, unknown.storage_bytes),
        (None, None, 0)
    );
    let mut bob = db.session("acme", "pro", "bob");
    let eve = db.session("acme", "pro", "eve");
    bob.execute("INSERT INTO orders (id, amount) VALUES (1, 1)")
        .unwrap();
    let usage = db.engine.quota_usage("acme", probe.as_mut()).unwrap();
    let limits = usage.limits.unwrap();
    assert_eq!(
        (
            limits.connections,
            limits.qps,
            limits.storage,
            limits.max_rows
        ),
        (Some(3), Some(4), Some(1 << 20), None)
    );
    assert_eq!(usage.tier.as_deref(), Some("roomy"));
    assert_eq!(usage.connections, Some(2));
    assert_eq!(
        usage.queries_available,
        Some(3),
        "one query of a burst of 4"
    );
    assert_eq!(usage.storage_bytes, 47);
    drop(eve);
    bob.execute("SELECT 1").unwrap();
    let usage = db.engine.quota_usage("acme", probe.as_mut()).unwrap();
    assert_eq!(
        (usage.connections, usage.queries_available),
        (Some(1), Some(2))
    );
    // Half a second later, two more queries fit (one every 250 ms).
    clock.advance(std::time::Duration::from_millis(500));
    let usage = db.engine.quota_usage("acme", probe.as_mut()).unwrap();
    assert_eq!(usage.queries_available, Some(4));
}

/// A storage limit of 0 refuses the first write that adds data; a huge one
/// never refuses.
#[test]
fn zero_and_huge_limits() {
    let engine = Engine::from_source(
        "z.policy",
        &POLICY
            .replace("tier small { storage 300 }", "tier small { storage 0 }")
            .replace(
                "tier roomy { storage 1 MB }",
                "tier roomy { storage 8000000 TB }",
            ),
    )
    .unwrap();
    let db = Db { engine, ..sqlite() };
    let mut ann = db.session("zero", "small", "ann");
    let error = ann
        .execute("INSERT INTO orders (id, amount) VALUES (1, 1)")
        .unwrap_err();
    assert_eq!(
        (error.sqlstate(), error.to_string().as_str()),
        (
            "53100",
            "storage full for tenant `zero`: 0 bytes used, the limit is 0"
        )
    );
    assert!(db.orders().is_empty());
    let mut bob = db.session("huge", "pro", "bob");
    bob.execute("INSERT INTO orders (id, amount) VALUES (2, 1)")
        .unwrap();
    assert_eq!(db.counted(), db.expected());
}
