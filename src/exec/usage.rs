//! Storage accounting on the database: installing the triggers that keep
//! `rampart_usage` in step with the counted tables (`sql::usage` has the SQL
//! and the size of a row), the storage check around a session's writes, the
//! recompute by scanning, and `Engine::quota_usage` for introspection.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::Engine;
use crate::error::{DatabaseError, Error};
use crate::lang::model::{Limits, PolicySet, Table};
use crate::policy::quota::ResolvedLimits;
use crate::quota::QuotaError;
use crate::sql::usage as sql;
use crate::sql::Dialect;

use super::{Backend, SqlValue};

/// A tenant's quota limits and how much of them is used, as
/// [`Engine::quota_usage`] reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaUsage {
    pub tenant: String,
    /// The limits in force: from the engine's quota store when a session of
    /// the tenant registered them, else as recorded in `rampart_usage` at
    /// the tenant's last write; `None` when neither knows them.
    pub limits: Option<Limits>,
    /// The tier those limits came from, when recorded.
    pub tier: Option<String>,
    /// Connection slots taken now; `None` when the quota store does not know
    /// the tenant (no session of it since the store was made).
    pub connections: Option<u64>,
    /// Queries the rate limiter would admit now without waiting (the burst
    /// left); `None` when unknown (as `connections`) or unlimited.
    pub queries_available: Option<u64>,
    /// Bytes the tenant's rows take in the counted tables (0 when none was
    /// ever counted).
    pub storage_bytes: u64,
}

impl Engine {
    /// Creates `rampart_usage` and installs the triggers that count every
    /// change to a counted table (see `sql::usage`: tables with a column
    /// preset to `tenant.id`) in the same transaction as the change. On
    /// PostgreSQL the triggers are persistent: call this once when deploying
    /// (or let the first write to each table do it); on SQLite they are
    /// `TEMP`, made per connection by each session on its first write to a
    /// table. Tables missing from the database are skipped.
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("orders.policy", r#"
    ///     context tenant { id: text }
    ///     table orders { id: int, tenant_id: text = tenant.id, note: text? }
    ///     policy isolation on orders using tenant_id == tenant.id;
    /// "#)?;
    /// let mut backend = rampart::exec::open("sqlite::memory:")?;
    /// backend.batch("CREATE TABLE orders (id INTEGER, tenant_id TEXT, note TEXT)")?;
    /// engine.prepare_usage(backend.as_mut())?;
    /// backend.batch("INSERT INTO orders VALUES (1, 'acme', 'hello')")?;
    /// // 24 (row) + 8 (int) + 4 ('acme') + 5 ('hello')
    /// assert_eq!(engine.quota_usage("acme", backend.as_mut())?.storage_bytes, 41);
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn prepare_usage(&self, backend: &mut dyn Backend) -> Result<(), Error> {
        backend.batch(&sql::create_usage_table(backend.dialect()))?;
        for index in 0..self.policy_set().tables.len() {
            if table_exists(self.policy_set(), index, backend) {
                ensure_accounting(self.policy_set(), index, backend)?;
            }
        }
        Ok(())
    }

    /// Rebuilds every tenant's bytes in `rampart_usage` by scanning the
    /// counted tables (each row to the tenant its tenant column names), in
    /// one transaction that keeps writers out, and returns `(tenant, bytes)`
    /// for every tenant with a usage row. Installs the accounting first
    /// ([`Engine::prepare_usage`]).
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("notes.policy", r#"
    ///     context tenant { id: text }
    ///     table notes { tenant_id: text = tenant.id, body: text }
    ///     policy isolation on notes using tenant_id == tenant.id;
    /// "#)?;
    /// let mut backend = rampart::exec::open("sqlite::memory:")?;
    /// // Rows written before any accounting was installed: not counted yet.
    /// backend.batch("CREATE TABLE notes (tenant_id TEXT, body TEXT);
    ///                INSERT INTO notes VALUES ('acme', 'a'), ('globex', 'bc')")?;
    /// let usage = engine.recompute_usage(backend.as_mut())?;
    /// assert_eq!(usage, vec![("acme".into(), 24 + 4 + 1), ("globex".into(), 24 + 6 + 2)]);
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn recompute_usage(&self, backend: &mut dyn Backend) -> Result<Vec<(String, u64)>, Error> {
        self.prepare_usage(backend)?;
        let dialect = backend.dialect();
        backend.batch(match dialect {
            Dialect::Postgres => "BEGIN",
            Dialect::Sqlite => "BEGIN IMMEDIATE",
        })?;
        let done = (|| {
            if let Some(lock) = sql::lock_usage_table(dialect) {
                backend.batch(&lock)?;
            }
            backend.batch(&sql::recompute(self.policy_set(), dialect))?;
            backend.batch("COMMIT")
        })();
        if let Err(e) = done {
            let _ = backend.batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(usage_rows(backend)?
            .into_iter()
            .map(|(tenant, bytes, _)| (tenant, bytes))
            .collect())
    }

    /// The limits of `tenant` and its current use: connections and the rate
    /// limiter's burst left from the engine's quota store, stored bytes from
    /// `rampart_usage` on `backend` (see [`QuotaUsage`]).
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("q.policy", r#"
    ///     context tenant { id: text }
    ///     table notes { tenant_id: text = tenant.id, body: text }
    ///     policy isolation on notes using tenant_id == tenant.id;
    ///     tier small { connections 2; qps 5; storage 1 KB }
    ///     quota { tier small }
    /// "#)?;
    /// let mut backend = rampart::exec::open("sqlite::memory:")?;
    /// backend.batch("CREATE TABLE notes (tenant_id TEXT, body TEXT)")?;
    /// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}}"#)?;
    /// let mut session = engine.connect(ctx, backend)?;
    /// session.execute("INSERT INTO notes (body) VALUES ('hi')")?;
    /// let usage = engine.quota_usage("acme", session.backend_mut())?;
    /// assert_eq!(usage.connections, Some(1));
    /// assert_eq!(usage.limits.and_then(|l| l.storage), Some(1024));
    /// assert_eq!(usage.storage_bytes, 24 + 4 + 2);
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn quota_usage(
        &self,
        tenant: &str,
        backend: &mut dyn Backend,
    ) -> Result<QuotaUsage, Error> {
        let recorded = usage_rows(backend)?
            .into_iter()
            .find(|(t, _, _)| t == tenant);
        Ok(self.describe_usage(tenant, recorded))
    }

    /// [`Engine::quota_usage`] for every tenant with a row in
    /// `rampart_usage`, by tenant id.
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("notes.policy", r#"
    ///     context tenant { id: text }
    ///     table notes { tenant_id: text = tenant.id, body: text }
    ///     policy isolation on notes using tenant_id == tenant.id;
    /// "#)?;
    /// let mut backend = rampart::exec::open("sqlite::memory:")?;
    /// backend.batch("CREATE TABLE notes (tenant_id TEXT, body TEXT)")?;
    /// assert!(engine.all_quota_usage(backend.as_mut())?.is_empty());
    /// let ctx = |id: &str| rampart::Context::from_json(&format!(r#"{{"tenant": {{"id": "{id}"}}}}"#));
    /// let mut session = engine.connect(ctx("b")?, backend)?;
    /// session.execute("INSERT INTO notes (body) VALUES ('x')")?;
    /// session.switch_context(ctx("a")?)?;
    /// session.execute("INSERT INTO notes (body) VALUES ('yy')")?;
    /// let usage = engine.all_quota_usage(session.backend_mut())?;
    /// let bytes: Vec<(&str, u64)> = usage.iter().map(|u| (u.tenant.as_str(), u.storage_bytes)).collect();
    /// assert_eq!(bytes, [("a", 24 + 1 + 2), ("b", 24 + 1 + 1)]);
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn all_quota_usage(&self, backend: &mut dyn Backend) -> Result<Vec<QuotaUsage>, Error> {
        Ok(usage_rows(backend)?
            .into_iter()
            .map(|row| self.describe_usage(&row.0.clone(), Some(row)))
            .collect())
    }

    fn describe_usage(&self, tenant: &str, recorded: Option<UsageRow>) -> QuotaUsage {
        let state = self.quota_store().state(tenant).ok().flatten();
        let (bytes, recorded_limits) = match recorded {
            Some((_, bytes, limits)) => (bytes, limits.as_deref().and_then(limits_from_json)),
            None => (0, None),
        };
        QuotaUsage {
            tenant: tenant.to_string(),
            limits: state
                .map(|s| s.limits)
                .or_else(|| recorded_limits.as_ref().map(|r| r.limits)),
            tier: recorded_limits.and_then(|r| r.tier),
            connections: state.map(|s| s.connections),
            queries_available: state.and_then(|s| s.queries_available),
            storage_bytes: bytes,
        }
    }
}

/// `(tenant, bytes, limits)` of a `rampart_usage` row.
type UsageRow = (String, u64, Option<String>);

/// Every row of `rampart_usage` (none when it does not exist yet).
fn usage_rows(backend: &mut dyn Backend) -> Result<Vec<UsageRow>, Error> {
    let exists = backend.run(&sql::usage_table_exists(backend.dialect()), true)?;
    if exists.rows.is_empty() {
        return Ok(Vec::new());
    }
    let raw = backend.run(&sql::all_usage(), true)?;
    let mut usage = Vec::with_capacity(raw.rows.len());
    for row in raw.rows {
        let mut values = row.into_iter();
        let Some(SqlValue::Text(tenant)) = values.next() else {
            continue;
        };
        let bytes = as_bytes(&tenant, &values.next().unwrap_or(SqlValue::Null))?;
        let limits = match values.next() {
            Some(SqlValue::Text(l)) => Some(l),
            _ => None,
        };
        usage.push((tenant, bytes, limits));
    }
    Ok(usage)
}

/// A byte count read back; negative (rows deleted that were written before
/// the accounting, so never counted) reads as 0. A value that is not an
/// integer (written by hand, or a float after SQLite's integer overflow)
/// fails rather than reading as a number the storage rule would trust.
fn as_bytes(tenant: &str, value: &SqlValue) -> Result<u64, DatabaseError> {
    match value {
        SqlValue::Int(i) => Ok(u64::try_from(*i).unwrap_or(0)),
        _ => Err(bad_usage_bytes(tenant, value)),
    }
}

/// Whether the declared table `index` exists on `backend`.
fn table_exists(set: &PolicySet, index: usize, backend: &mut dyn Backend) -> bool {
    set.tables.get(index).is_some_and(|table| {
        backend
            .run(
                &format!("SELECT 1 FROM {} LIMIT 0", sql::table_name(table)),
                true,
            )
            .is_ok()
    })
}

/// Installs the accounting triggers of the declared table `index` if it is
/// counted and they are missing or out of date. Returns whether it is
/// counted.
fn ensure_accounting(
    set: &PolicySet,
    index: usize,
    backend: &mut dyn Backend,
) -> Result<bool, Error> {
    let Some(table) = set.tables.get(index) else {
        return Ok(false);
    };
    let Some(tenant) = sql::tenant_column(set, table) else {
        return Ok(false);
    };
    match backend.dialect() {
        Dialect::Sqlite => {
            let not_null = sqlite_not_null_columns(table, backend)?;
            backend.batch(&sql::sqlite_install(table, tenant, &not_null))?;
        }
        Dialect::Postgres => {
            let schema = match backend.run("SELECT current_schema()", true)?.rows.first() {
                Some(row) => match row.first() {
                    Some(SqlValue::Text(schema)) => schema.clone(),
                    _ => String::new(),
                },
                None => String::new(),
            };
            if schema.is_empty() {
                return Err(Error::Database(DatabaseError::new(
                    "3F000",
                    "no schema to keep storage usage in: the search path names none that exists",
                )));
            }
            let (_, body) = sql::pg_function(table, tenant, &schema);
            let installed = backend.run(&sql::pg_installed(table, tenant), true)?;
            let current = matches!(
                installed.rows.as_slice(),
                [row] if matches!(
                    row.as_slice(),
                    [SqlValue::Text(src), SqlValue::Int(3), SqlValue::Bool(true)] if *src == body
                )
            );
            if !current {
                backend.batch(&sql::pg_install(table, tenant, &schema))?;
            }
        }
    }
    Ok(true)
}

/// The columns of `table` that the SQLite database holds `NOT NULL`.
fn sqlite_not_null_columns(table: &Table, backend: &mut dyn Backend) -> Result<Vec<String>, Error> {
    let name = sql::quote_literal(&table.name.name);
    let schema = table
        .name
        .schema
        .as_deref()
        .map(|s| format!(", {}", sql::quote_literal(s)))
        .unwrap_or_default();
    let raw = backend.run(
        &format!("SELECT name FROM pragma_table_info({name}{schema}) WHERE \"notnull\""),
        true,
    )?;
    Ok(raw
        .rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [SqlValue::Text(name)] => Some(name.clone()),
            _ => None,
        })
        .collect())
}

/// The limits a tenant writes under, as recorded in `rampart_usage`.
fn limits_json(resolved: &ResolvedLimits) -> String {
    serde_json::json!({
        "tier": resolved.tier,
        "connections": resolved.limits.connections,
        "qps": resolved.limits.qps,
        "storage": resolved.limits.storage,
        "max_rows": resolved.limits.max_rows,
    })
    .to_string()
}

fn limits_from_json(text: &str) -> Option<ResolvedLimits> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let limit = |name: &str| json.get(name).and_then(serde_json::Value::as_u64);
    Some(ResolvedLimits {
        tier: json
            .get("tier")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
        overridden: false,
        limits: Limits {
            connections: limit("connections"),
            qps: limit("qps"),
            storage: limit("storage"),
            max_rows: limit("max_rows"),
        },
    })
}

/// What a session's counted writes need of its tenant, made once per
/// context: the tenant, its storage limit and the statements that lock and
/// read its usage row, so that a write does not build them again.
#[derive(Debug)]
pub(super) struct TenantAccount {
    tenant: String,
    storage: Option<u64>,
    /// The limits it writes under, as recorded in `rampart_usage`.
    limits_json: String,
    /// Takes the usage row (made at 0 bytes), records the limits, reads the
    /// bytes.
    lock_sql: String,
    /// SQLite: reads the bytes and the recorded limits.
    read_sql: String,
    /// Reads the bytes.
    bytes_sql: String,
    /// A write that locked the row (and so recorded the limits) is in the
    /// statement's transaction, not yet committed on its own.
    locking: AtomicBool,
    /// A committed write of this session recorded its limits: with no
    /// storage limit to apply, later writes need not lock the row at all.
    recorded: AtomicBool,
}

impl TenantAccount {
    pub(super) fn new(tenant: &str, resolved: &ResolvedLimits) -> TenantAccount {
        let limits_json = limits_json(resolved);
        TenantAccount {
            tenant: tenant.to_string(),
            storage: resolved.limits.storage,
            lock_sql: sql::lock_tenant(tenant, &limits_json),
            read_sql: sql::tenant_usage(tenant),
            bytes_sql: sql::tenant_bytes(tenant),
            limits_json,
            locking: AtomicBool::new(false),
            recorded: AtomicBool::new(false),
        }
    }

    /// Locks the tenant's usage row for the rest of the transaction, records
    /// the limits it writes under and returns its bytes before the write.
    /// On SQLite the transaction already holds the database's only write
    /// lock (`BEGIN IMMEDIATE`, or the user's transaction, which cannot
    /// commit over another writer), so the row is read first and written
    /// only when it is missing or records other limits.
    ///
    /// Without a storage limit nothing is decided on the bytes: once a
    /// committed write of this session has recorded its limits, a write
    /// leaves the row to the triggers (and returns 0).
    pub(super) fn lock(&self, backend: &mut dyn Backend) -> Result<u64, Error> {
        if !self.must_lock() {
            return Ok(0);
        }
        self.locking.store(true, Ordering::Relaxed);
        if self.tenant.contains('\0') {
            return Err(Error::Database(DatabaseError::new(
                "22021",
                "a tenant id cannot contain a NUL character",
            )));
        }
        if backend.dialect() == Dialect::Sqlite {
            let raw = backend.run(&self.read_sql, true)?;
            if let Some([bytes, SqlValue::Text(limits)]) = raw.rows.first().map(Vec::as_slice) {
                if *limits == self.limits_json {
                    return self.bytes_of(bytes);
                }
            }
        }
        let raw = backend.run(&self.lock_sql, true)?;
        self.first_bytes(&raw.rows)
    }

    /// Whether a write must lock the usage row: to apply a storage limit,
    /// or to record the limits, which no committed write of this session
    /// has done yet.
    pub(super) fn must_lock(&self) -> bool {
        self.storage.is_some() || !self.recorded.load(Ordering::Relaxed)
    }

    /// The statement's own transaction committed: what its lock recorded
    /// stays.
    pub(super) fn committed(&self) {
        if self.locking.swap(false, Ordering::Relaxed) {
            self.recorded.store(true, Ordering::Relaxed);
        }
    }

    /// The statement's own transaction was rolled back, or a user's
    /// transaction holds the write: its record cannot be counted on.
    pub(super) fn uncommitted(&self) {
        self.locking.store(false, Ordering::Relaxed);
    }

    /// Applies the storage rule after a write (usage `before` it, read by
    /// [`TenantAccount::lock`]): refused when usage had reached the limit
    /// and the write, one that can add data, added bytes.
    pub(super) fn check_storage(
        &self,
        backend: &mut dyn Backend,
        before: u64,
        adds: bool,
    ) -> Result<(), Error> {
        let Some(limit) = self.storage else {
            return Ok(());
        };
        if !adds || before < limit {
            return Ok(());
        }
        let raw = backend.run(&self.bytes_sql, true)?;
        let after = self.first_bytes(&raw.rows)?;
        match storage_refusal(&self.tenant, before, after, limit) {
            Some(refused) => Err(refused.into()),
            None => Ok(()),
        }
    }

    fn first_bytes(&self, rows: &[Vec<SqlValue>]) -> Result<u64, Error> {
        match rows.first().and_then(|row| row.first()) {
            Some(bytes) => self.bytes_of(bytes),
            None => Ok(0),
        }
    }

    fn bytes_of(&self, value: &SqlValue) -> Result<u64, Error> {
        as_bytes(&self.tenant, value).map_err(Error::Database)
    }
}

/// The error for a `rampart_usage.bytes` that is not a byte count.
fn bad_usage_bytes(tenant: &str, value: &SqlValue) -> DatabaseError {
    DatabaseError::new(
        "22P02",
        format!(
            "`{USAGE}`.`bytes` of tenant `{tenant}` holds `{value}`, not a byte count (an \
             integer of 0 or more): repair it with `rampart usage --recompute`",
            USAGE = sql::USAGE_TABLE
        ),
    )
}

/// Which declared tables' accounting triggers a session knows to be in
/// place on its connection, so that it makes sure of each table once.
#[derive(Debug)]
pub(super) struct Accounting {
    /// Per declared table (by index): `Some(counted)` once known, as
    /// committed.
    known: Vec<Option<bool>>,
    /// Tables made sure of in the open transaction: known once it commits,
    /// forgotten if it rolls back (the DDL is undone with it).
    pending: Vec<(usize, bool)>,
}

impl Accounting {
    pub(super) fn new(tables: usize) -> Accounting {
        Accounting {
            known: vec![None; tables],
            pending: Vec::new(),
        }
    }

    /// Whether writes to the declared table `name` are counted, installing
    /// its triggers first if this connection has not made sure of them.
    pub(super) fn prepare(
        &mut self,
        set: &PolicySet,
        name: Option<&str>,
        backend: &mut dyn Backend,
    ) -> Result<bool, Error> {
        let Some(index) = name.and_then(|name| {
            set.tables.iter().position(|t| match &t.name.schema {
                Some(schema) => name
                    .strip_prefix(schema.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| rest == t.name.name),
                None => name == t.name.name,
            })
        }) else {
            return Ok(false);
        };
        if let Some(counted) = self.known.get(index).copied().flatten() {
            return Ok(counted);
        }
        let counted = ensure_accounting(set, index, backend)?;
        self.pending.push((index, counted));
        Ok(counted)
    }

    /// How many tables are pending, to [`Accounting::forget`] back to.
    pub(super) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The pending tables' accounting has committed.
    pub(super) fn settle(&mut self) {
        for (index, counted) in self.pending.drain(..) {
            if let Some(known) = self.known.get_mut(index) {
                *known = Some(counted);
            }
        }
    }

    /// What was installed since `pending` tables was rolled back.
    pub(super) fn forget(&mut self, pending: usize) {
        self.pending.truncate(pending);
    }
}

/// The storage rule: a write that added bytes to `tenant` is refused (and
/// rolled back by the caller) when usage had already reached the limit
/// before it. The write that crosses the limit goes through; the next one
/// that adds data is refused. Writes that free bytes always go on.
fn storage_refusal(tenant: &str, before: u64, after: u64, limit: u64) -> Option<QuotaError> {
    (before >= limit && after > before).then(|| QuotaError::StorageFull {
        tenant: tenant.to_string(),
        used: before,
        limit,
    })
}
