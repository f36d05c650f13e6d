//! Any → any (SQLite included): the tenant's rows copied from a snapshot of
//! the source in one target transaction, then the change events captured
//! from the tenant's sessions meanwhile replayed, by primary key, in the
//! order they were committed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Error;
use crate::exec::session::Subscriber;
use crate::exec::{Backend, ChangeEvent, Operation, SqlValue};
use crate::sql::Dialect;

use super::progress::Progress;
use super::state::{self, STATE_TABLE};
use super::tables::TenantTable;
use super::values::{quote_ident, quote_text};
use super::{MigrateError, Migration, Sides, Step};

/// Rows per `INSERT` of the copy.
const BATCH: usize = 200;

/// The change events of one tenant, captured from its sessions while a
/// migration copies: give [`Capture::subscriber`] to
/// [`crate::Session::subscribe`] of every session that may write the
/// tenant's rows before the copy starts. (A session has one subscriber.)
#[derive(Clone)]
pub struct Capture {
    tenant: String,
    events: Arc<Mutex<VecDeque<ChangeEvent>>>,
}

impl Capture {
    pub fn new(tenant: &str) -> Capture {
        Capture {
            tenant: tenant.to_string(),
            events: Arc::default(),
        }
    }

    /// A subscriber keeping the events of this tenant.
    pub fn subscriber(&self) -> Subscriber {
        let events = Arc::clone(&self.events);
        let tenant = self.tenant.clone();
        Box::new(move |event: &ChangeEvent| {
            if event.tenant.as_deref() == Some(tenant.as_str()) {
                events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_back(event.clone());
            }
        })
    }

    /// Events captured and not yet replayed.
    pub fn pending(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn take(&self) -> Vec<ChangeEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect()
    }

    /// Puts events that could not be replayed back in front.
    fn give_back(&self, events: Vec<ChangeEvent>) {
        let mut queue = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events.into_iter().rev() {
            queue.push_front(event);
        }
    }
}

/// Copies the tenant's rows (the step after `recorded`), then replays.
pub fn start(m: &Migration, sides: &mut Sides, capture: Option<&Capture>) -> Result<(), Error> {
    copy(m, sides)?;
    m.reached(Step::Copied)?;
    if let Some(capture) = capture {
        replay(m, sides.target.as_mut(), capture)?;
    }
    Ok(())
}

/// Refuses tables that change events cannot be replayed on (no primary
/// key on the target), before anything is written.
pub fn check_keys(m: &Migration, sides: &mut Sides) -> Result<(), Error> {
    for table in &m.tables {
        primary_key(sides.target.as_mut(), table).map_err(|e| match e {
            // Already says where.
            Error::Migrate(MigrateError::NoPrimaryKey { .. }) => e,
            other => m.target_err()(other),
        })?;
    }
    Ok(())
}

/// Reads every table in one source transaction (one snapshot) and writes
/// them and the step `copied` in one target transaction: a run stopped
/// part way leaves nothing on the target.
fn copy(m: &Migration, sides: &mut Sides) -> Result<(), Error> {
    let source = sides.source.as_mut();
    let target = sides.target.as_mut();
    let snapshot = match source.dialect() {
        Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        Dialect::Sqlite => "BEGIN",
    };
    source
        .batch(snapshot)
        .map_err(|e| m.source_err()(e.into()))?;
    let mut counts = Vec::with_capacity(m.tables.len());
    for table in &m.tables {
        counts.push(table.count(source).map_err(m.source_err())?);
    }
    let progress = Progress::new(m.options.progress, counts.iter().sum());
    if let Err(e) = target.batch("BEGIN") {
        let _ = source.batch("ROLLBACK");
        return Err(m.target_err()(e.into()));
    }
    let copied = copy_tables(m, source, target, &progress);
    progress.finish();
    let _ = source.batch("ROLLBACK");
    match copied {
        Ok(()) => target.batch("COMMIT").map_err(|e| m.target_err()(e.into())),
        Err(e) => {
            let _ = target.batch("ROLLBACK");
            Err(e)
        }
    }
}

fn copy_tables(
    m: &Migration,
    source: &mut dyn Backend,
    target: &mut dyn Backend,
    progress: &Progress,
) -> Result<(), Error> {
    let dialect = target.dialect();
    for (i, table) in m.tables.iter().enumerate() {
        progress.table(&table.name, i + 1, m.tables.len());
        let raw = source
            .run(&table.select_sql(source.dialect()), true)
            .map_err(|e| m.source_err()(e.into()))?;
        for rows in raw.rows.chunks(BATCH) {
            let sql = table.insert_sql(rows, dialect)?;
            target
                .run(&sql, false)
                .map_err(|e| m.target_err()(e.into()))?;
            progress.rows_done(u64::try_from(rows.len()).unwrap_or(0));
        }
    }
    let sql = format!(
        "UPDATE {STATE_TABLE} SET step = {} WHERE tenant = {}",
        quote_text(Step::Copied.name()).map_err(|e| Error::Migrate(MigrateError::Usage(e)))?,
        quote_text(&m.options.tenant).map_err(|e| Error::Migrate(MigrateError::Usage(e)))?
    );
    target.batch(&sql).map_err(|e| m.target_err()(e.into()))
}

/// The primary key columns of `table` on `backend`; an error when it has none.
fn primary_key(backend: &mut dyn Backend, table: &TenantTable) -> Result<Vec<String>, Error> {
    let quoted = |t: &str| quote_text(t).map_err(|e| Error::Migrate(MigrateError::Usage(e)));
    let sql = match backend.dialect() {
        Dialect::Postgres => format!(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
             AND a.attnum = ANY(i.indkey) WHERE i.indrelid = {}::regclass AND i.indisprimary",
            quoted(&table.sql_name)?
        ),
        Dialect::Sqlite => {
            let (schema, name) = match table.name.split_once('.') {
                Some((s, n)) => (quoted(s)?, quoted(n)?),
                None => ("'main'".to_string(), quoted(&table.name)?),
            };
            format!("SELECT name FROM pragma_table_info({name}, {schema}) WHERE pk > 0 ORDER BY pk")
        }
    };
    let raw = backend.run(&sql, true)?;
    let key: Vec<String> = raw
        .rows
        .iter()
        .filter_map(|r| match r.first() {
            Some(SqlValue::Text(c)) => Some(c.clone()),
            _ => None,
        })
        .collect();
    if key.is_empty() {
        return Err(Error::Migrate(MigrateError::NoPrimaryKey {
            table: table.name.clone(),
        }));
    }
    Ok(key)
}

/// Replays the captured events onto the target in one transaction; on
/// failure they stay captured and the target is as it was.
pub fn replay(m: &Migration, target: &mut dyn Backend, capture: &Capture) -> Result<usize, Error> {
    let events = capture.take();
    if events.is_empty() {
        return Ok(0);
    }
    let result = apply(m, target, &events);
    match result {
        Ok(()) => Ok(events.len()),
        Err(e) => {
            capture.give_back(events);
            Err(m.target_err()(e))
        }
    }
}

fn apply(m: &Migration, target: &mut dyn Backend, events: &[ChangeEvent]) -> Result<(), Error> {
    let mut keys = Vec::with_capacity(m.tables.len());
    for table in &m.tables {
        keys.push(primary_key(target, table)?);
    }
    // The state row must still be there: a rolled-back migration takes no
    // more events.
    if state::load(target, &m.options.tenant)?.is_none() {
        return Err(Error::Migrate(MigrateError::NotStarted {
            tenant: m.options.tenant.clone(),
        }));
    }
    target.batch("BEGIN")?;
    let mut run = || -> Result<(), Error> {
        for event in events {
            let Some((table, key)) = m
                .tables
                .iter()
                .zip(&keys)
                .find(|(t, _)| t.name == event.table)
            else {
                continue;
            };
            let row: Vec<SqlValue> = table
                .columns
                .iter()
                .map(|(c, _)| {
                    event
                        .row
                        .iter()
                        .find(|(n, _)| n == c)
                        .map_or(SqlValue::Null, |(_, v)| v.clone())
                })
                .collect();
            let sql = match event.operation {
                Operation::Delete => delete_by_key(table, key, &row, target.dialect())?,
                Operation::Insert | Operation::Upsert | Operation::Update => {
                    upsert(table, key, &row, target.dialect())?
                }
            };
            target.run(&sql, false)?;
        }
        Ok(target.batch("COMMIT")?)
    };
    let result = run();
    if result.is_err() {
        let _ = target.batch("ROLLBACK");
    }
    result
}

/// `INSERT … ON CONFLICT (key) DO UPDATE SET every other column`.
fn upsert(
    table: &TenantTable,
    key: &[String],
    row: &[SqlValue],
    dialect: Dialect,
) -> Result<String, Error> {
    let insert = table.insert_sql(std::slice::from_ref(&row.to_vec()), dialect)?;
    let keys: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
    let sets: Vec<String> = table
        .columns
        .iter()
        .filter(|(c, _)| !key.contains(c))
        .map(|(c, _)| format!("{q} = excluded.{q}", q = quote_ident(c)))
        .collect();
    let action = if sets.is_empty() {
        "DO NOTHING".to_string()
    } else {
        format!("DO UPDATE SET {}", sets.join(", "))
    };
    Ok(format!(
        "{insert} ON CONFLICT ({}) {action}",
        keys.join(", ")
    ))
}

/// `DELETE FROM t WHERE key = …`.
fn delete_by_key(
    table: &TenantTable,
    key: &[String],
    row: &[SqlValue],
    dialect: Dialect,
) -> Result<String, Error> {
    let literals = table.literals(row, dialect)?;
    let mut conditions = Vec::with_capacity(key.len());
    for k in key {
        let Some(value) = table
            .columns
            .iter()
            .position(|(c, _)| c == k)
            .and_then(|i| literals.get(i))
        else {
            return Err(Error::Migrate(MigrateError::Value {
                table: table.name.clone(),
                column: k.clone(),
                message: "the primary key column is not declared in the policy set".into(),
            }));
        };
        conditions.push(format!("{} = {value}", quote_ident(k)));
    }
    Ok(format!(
        "DELETE FROM {} WHERE {}",
        table.sql_name,
        conditions.join(" AND ")
    ))
}
