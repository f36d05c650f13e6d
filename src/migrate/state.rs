//! Where a migration stands, kept durably on the target in the table
//! `rampart_migration` (one row per tenant), so that a run that stops at
//! any step can be finished by running it again or undone by `rollback`;
//! and the lock that keeps two runs for one tenant apart.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use crate::error::Error;
use crate::exec::{Backend, SqlValue};
use crate::sql::Dialect;

use super::values::quote_text;
use super::MigrateError;

/// The state table on the target.
pub const STATE_TABLE: &str = "rampart_migration";

/// A migration's row in the state table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The source's URL, password hidden.
    pub source: String,
    /// `replication` or `snapshot`.
    pub method: String,
    /// The last step completed (`Step::name`).
    pub step: String,
    /// The declared tables moved, comma-separated.
    pub tables: String,
    /// What was changed on the source and must be put back (JSON).
    pub source_changes: String,
}

fn text(value: Option<&SqlValue>) -> String {
    match value {
        Some(SqlValue::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

fn quoted(text: &str) -> Result<String, Error> {
    quote_text(text).map_err(|m| Error::Migrate(MigrateError::Usage(m)))
}

/// The tenant's migration state, `None` when there is none (or no table).
pub fn load(target: &mut dyn Backend, tenant: &str) -> Result<Option<State>, Error> {
    let sql = format!(
        "SELECT source, method, step, tables, source_changes FROM {STATE_TABLE} WHERE tenant = {}",
        quoted(tenant)?
    );
    match target.run(&sql, true) {
        Ok(raw) => Ok(raw.rows.first().map(|row| State {
            source: text(row.first()),
            method: text(row.get(1)),
            step: text(row.get(2)),
            tables: text(row.get(3)),
            source_changes: text(row.get(4)),
        })),
        Err(e) if e.sqlstate == "42P01" => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records a new migration (the state table is created when missing).
pub fn insert(target: &mut dyn Backend, tenant: &str, state: &State) -> Result<(), Error> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {STATE_TABLE} (tenant TEXT PRIMARY KEY, source TEXT NOT NULL, \
         method TEXT NOT NULL, step TEXT NOT NULL, tables TEXT NOT NULL, source_changes TEXT NOT NULL); \
         INSERT INTO {STATE_TABLE} (tenant, source, method, step, tables, source_changes) \
         VALUES ({}, {}, {}, {}, {}, {})",
        quoted(tenant)?,
        quoted(&state.source)?,
        quoted(&state.method)?,
        quoted(&state.step)?,
        quoted(&state.tables)?,
        quoted(&state.source_changes)?,
    );
    Ok(target.batch(&sql)?)
}

/// Records that `step` is done.
pub fn set_step(target: &mut dyn Backend, tenant: &str, step: &str) -> Result<(), Error> {
    let sql = format!(
        "UPDATE {STATE_TABLE} SET step = {} WHERE tenant = {}",
        quoted(step)?,
        quoted(tenant)?
    );
    Ok(target.batch(&sql)?)
}

/// Forgets the tenant's migration, and the state table once it is empty.
pub fn remove(target: &mut dyn Backend, tenant: &str) -> Result<(), Error> {
    let sql = format!(
        "DELETE FROM {STATE_TABLE} WHERE tenant = {}",
        quoted(tenant)?
    );
    match target.batch(&sql) {
        Err(e) if e.sqlstate == "42P01" => return Ok(()),
        other => other?,
    }
    let left = target.run(&format!("SELECT count(*) FROM {STATE_TABLE}"), true)?;
    if matches!(
        left.rows.first().and_then(|r| r.first()),
        Some(SqlValue::Int(0))
    ) {
        target.batch(&format!("DROP TABLE {STATE_TABLE}"))?;
    }
    Ok(())
}

/// Runs of this process, by target and tenant.
static RUNNING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Held while one run works on a tenant's migration: in this process (a
/// registry) and, on a PostgreSQL target, in every process (a session
/// advisory lock on the target connection, released when it closes, so a
/// crashed run holds nothing).
pub struct RunLock {
    key: String,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// Takes the run lock of `tenant` on `target` (named `target_url`), or
/// says that another run holds it.
pub fn lock(target: &mut dyn Backend, target_url: &str, tenant: &str) -> Result<RunLock, Error> {
    let busy = || {
        Error::Migrate(MigrateError::AlreadyRunning {
            tenant: tenant.to_string(),
            detail: "another run is working on it right now".into(),
        })
    };
    let key = format!("{target_url}\u{0}{tenant}");
    if !RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key.clone())
    {
        return Err(busy());
    }
    let lock = RunLock { key };
    if target.dialect() == Dialect::Postgres {
        let sql = format!(
            "SELECT pg_try_advisory_lock(hashtext('{STATE_TABLE}'), hashtext({}))",
            quoted(tenant)?
        );
        let raw = target.run(&sql, true)?;
        if !matches!(
            raw.rows.first().and_then(|r| r.first()),
            Some(SqlValue::Bool(true))
        ) {
            return Err(busy());
        }
    }
    Ok(lock)
}
