//! The storage tests' database (`tests/storage.rs`,
//! `tests/storage_with_items.rs`): a policy set with storage tiers, and one
//! database on SQLite or PostgreSQL with ways to open sessions on it and to
//! read what is counted and what the rows weigh.

use std::collections::BTreeMap;
use std::sync::Arc;

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{open, Backend, SqlValue};
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine, Session};

pub const POLICY: &str = r#"
context tenant {
  id: text
  plan: text
}
context request {
  user: text
  roles: set<text>
}
table orders {
  id: int
  tenant_id: text = tenant.id
  owner: text = request.user
  amount: int
  note: text?
  paid: bool?
  at: timestamp?
  ratio: float?
}
open table countries {
  code: text
  name: text
}
policy isolation on orders
  as restrictive
  for all
  using tenant_id == tenant.id
  check tenant_id == tenant.id;
policy writers on orders
  for all
  using true
  check amount >= 0;
tier small { storage 300 }
tier roomy { storage 1 MB }
quota {
  tier small when tenant.plan == 'small'
  tier roomy
}
"#;

/// The declared columns of `orders`, in order, with their size rule.
pub const COLUMNS: &str = "id, tenant_id, owner, amount, note, paid, at, ratio";

pub fn engine() -> Engine {
    Engine::from_source("storage.policy", POLICY).unwrap()
}

pub fn ctx(tenant: &str, plan: &str, user: &str) -> Context {
    Context::from_json(&format!(
        r#"{{"tenant": {{"id": "{tenant}", "plan": "{plan}"}},
            "request": {{"user": "{user}", "roles": []}}}}"#
    ))
    .unwrap()
}

/// One database and a way to open connections to it.
pub struct Db {
    pub engine: Engine,
    pub dialect: Dialect,
    pub connect: Box<dyn Fn() -> Box<dyn Backend>>,
    /// Kept alive for the test's duration.
    pub _keep: Box<dyn std::any::Any>,
}

impl Db {
    pub fn session(&self, tenant: &str, plan: &str, user: &str) -> Session {
        self.engine
            .connect(ctx(tenant, plan, user), (self.connect)())
            .unwrap()
    }

    /// Every tenant's counted bytes, zero entries left out.
    pub fn counted(&self) -> BTreeMap<String, u64> {
        let mut backend = (self.connect)();
        self.engine
            .all_quota_usage(backend.as_mut())
            .unwrap()
            .into_iter()
            .filter(|u| u.storage_bytes > 0)
            .map(|u| (u.tenant, u.storage_bytes))
            .collect()
    }

    pub fn bytes(&self, tenant: &str) -> u64 {
        let mut backend = (self.connect)();
        self.engine
            .quota_usage(tenant, backend.as_mut())
            .unwrap()
            .storage_bytes
    }

    /// Every orders row, as the owner sees it, in a stable order.
    pub fn orders(&self) -> Vec<Vec<SqlValue>> {
        let mut backend = (self.connect)();
        backend
            .run(
                &format!("SELECT {COLUMNS} FROM orders ORDER BY id, tenant_id, note"),
                true,
            )
            .unwrap()
            .rows
    }

    /// The bytes of every tenant, computed here from the rows by the
    /// documented rule: 24 a row, 8 per int, float and timestamp, 1 per
    /// bool, the UTF-8 length of text, nothing for null.
    pub fn expected(&self) -> BTreeMap<String, u64> {
        let mut usage = BTreeMap::new();
        for row in self.orders() {
            let SqlValue::Text(tenant) = &row[1] else {
                continue;
            };
            let mut size = 24;
            for (i, value) in row.iter().enumerate() {
                size += match value {
                    SqlValue::Null => 0,
                    SqlValue::Text(t) => t.len() as u64,
                    // `paid` is a bool (SQLite stores it as an integer).
                    _ if i == 5 => 1,
                    _ => 8,
                };
            }
            *usage.entry(tenant.clone()).or_insert(0) += size;
        }
        usage
    }
}

pub fn sqlite() -> Db {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
    let mut setup = open(&url).unwrap();
    setup
        .batch(&create_tables(engine.policy_set(), Dialect::Sqlite))
        .unwrap();
    setup
        .batch("CREATE UNIQUE INDEX orders_id ON orders (id)")
        .unwrap();
    Db {
        engine,
        dialect: Dialect::Sqlite,
        connect: Box::new(move || open(&url).unwrap()),
        _keep: Box::new(dir),
    }
}

pub fn postgres() -> Option<Db> {
    let db = crate::common::pg::TestDb::create()?;
    let engine = engine();
    db.superuser()
        .batch_execute(&create_tables(engine.policy_set(), Dialect::Postgres))
        .unwrap();
    db.superuser()
        .batch_execute("CREATE UNIQUE INDEX orders_id ON orders (id)")
        .unwrap();
    let db = Arc::new(db);
    let for_sessions = Arc::clone(&db);
    Some(Db {
        engine,
        dialect: Dialect::Postgres,
        connect: Box::new(move || Box::new(PostgresBackend::from_client(for_sessions.superuser()))),
        _keep: Box::new(db),
    })
}
