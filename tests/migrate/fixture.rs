//! What the migration tests share: a policy set of two tenant tables, the
//! rows of two tenants, and writer threads that keep changing a tenant's
//! rows through a `Session` until told to stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rampart::exec::Backend;
use rampart::{Context, Engine, Error};

/// The context, both tables and the `orders` policy, shared by both sets.
macro_rules! tables {
    () => {
        r#"
context tenant { id: text }

table orders {
  id: int
  tenant_id: text = tenant.id
  amount: int
  note: text?
}

table items {
  id: int
  tenant_id: text = tenant.id
  order_id: int
  qty: int
}

policy orders_isolation on orders
  using tenant_id == tenant.id
  check tenant_id == tenant.id;
"#
    };
}

pub const POLICY: &str = concat!(
    tables!(),
    r#"
policy items_isolation on items
  using tenant_id == tenant.id
  check tenant_id == tenant.id;
"#
);

/// The same tables, the `items` policy reading another table: no
/// PostgreSQL row filter can say it.
pub const POLICY_WITH_EXISTS: &str = concat!(
    tables!(),
    r#"
policy items_of_visible_orders on items
  using exists orders o where o.id == order_id;
"#
);

pub fn engine() -> Engine {
    Engine::from_source("migrate.policy", POLICY).unwrap()
}

pub fn context(tenant: &str) -> Context {
    Context::from_json(&serde_json::json!({"tenant": {"id": tenant}}).to_string()).unwrap()
}

/// `CREATE TABLE` for both tables (primary keys on `id`).
pub fn schema(bigint: &str) -> String {
    format!(
        "CREATE TABLE orders (id {bigint} PRIMARY KEY, tenant_id TEXT NOT NULL, amount {bigint} NOT NULL, note TEXT);
         CREATE TABLE items (id {bigint} PRIMARY KEY, tenant_id TEXT NOT NULL, order_id {bigint} NOT NULL, qty {bigint} NOT NULL);"
    )
}

/// `rows` orders (ids from `first`) of `tenant`, each with two items; a
/// note with a quote and a null among them.
pub fn seed(backend: &mut dyn Backend, tenant: &str, first: i64, rows: i64) {
    let mut sql = String::new();
    for id in first..first + rows {
        let note = match id % 3 {
            0 => "NULL".to_string(),
            1 => "'it''s'".to_string(),
            _ => format!("'note {id}'"),
        };
        sql.push_str(&format!(
            "INSERT INTO orders VALUES ({id}, '{tenant}', {}, {note});
             INSERT INTO items VALUES ({}, '{tenant}', {id}, 1), ({}, '{tenant}', {id}, 2);",
            id % 97,
            id * 10,
            id * 10 + 1
        ));
    }
    backend.batch(&sql).unwrap();
}

/// A thread inserting and updating one tenant's rows through a session.
pub struct Writer {
    stop: Arc<AtomicBool>,
    pub written: Arc<AtomicU64>,
    pub refused: Arc<AtomicU64>,
    handle: Option<JoinHandle<Vec<String>>>,
}

impl Writer {
    /// Writes as `tenant` on `backend`: updates the orders seeded from id
    /// `seeded` (and deletes their items), inserts orders from id `first`;
    /// `session_setup` runs on the session first (e.g. to subscribe it).
    pub fn start(
        engine: &Engine,
        tenant: &str,
        backend: Box<dyn Backend>,
        seeded: i64,
        first: i64,
        session_setup: impl FnOnce(&mut rampart::Session),
    ) -> Writer {
        let mut session = engine.connect(context(tenant), backend).unwrap();
        session_setup(&mut session);
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let (s, w, r) = (
            Arc::clone(&stop),
            Arc::clone(&written),
            Arc::clone(&refused),
        );
        let handle = std::thread::spawn(move || {
            let mut errors = Vec::new();
            let mut id = first;
            while !s.load(Ordering::Relaxed) {
                let sql = match id % 3 {
                    0 => format!(
                        "UPDATE orders SET amount = amount + 1, note = 'upd {id}' WHERE id = {}",
                        seeded + id % 50
                    ),
                    1 => format!(
                        "DELETE FROM items WHERE id = {}",
                        (seeded + id % 50) * 10 + 1
                    ),
                    _ => format!(
                        "INSERT INTO orders (id, amount, note) VALUES ({id}, {}, 'new')",
                        id % 13
                    ),
                };
                match session.execute(&sql) {
                    Ok(_) => {
                        w.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(Error::WritesStopped { .. }) => {
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(format!("{sql}: {e}")),
                }
                id += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            errors
        });
        Writer {
            stop,
            written,
            refused,
            handle: Some(handle),
        }
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Stops the thread; fails on any error other than 25006.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let errors = self.handle.take().unwrap().join().unwrap();
        assert!(errors.is_empty(), "the writer failed: {errors:?}");
    }
}
