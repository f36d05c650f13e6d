//! The embedded SQLite backend: `rusqlite` with SQLite compiled in, the
//! `rampart_*` functions the emitted SQL calls registered on every
//! connection, and prepared statements cached by text.

use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::{ffi, Connection, Statement, StatementStatus};

use crate::error::DatabaseError;
use crate::sql::Dialect;

use super::sqlite_functions::{register, ERROR_PREFIX};
use super::{Backend, RawResult, SqlValue};

/// How many prepared statements a connection keeps.
const STATEMENT_CACHE: usize = 128;

/// How many sets of column names a connection keeps for its results.
const NAME_SETS: usize = 16;

/// An SQLite database: in memory or a file.
pub struct SqliteBackend {
    conn: Connection,
    /// The column names of the statements run last, most recent first,
    /// shared by their results.
    names: Vec<Arc<[String]>>,
    /// The statement that returned rows last, so that running it again
    /// need not read its column names back.
    last: Option<LastStatement>,
}

/// A statement's SQL, its names, and the counters that tell it is the same
/// prepared statement run once more since: SQLite's count of its runs one
/// higher, its count of preparing it again (after a schema change, which
/// can change its columns) the same. A statement prepared afresh (fallen
/// out of the statement cache) starts its runs from one, so it never
/// passes for the old one.
struct LastStatement {
    sql: String,
    runs: i32,
    reprepares: i32,
    names: Arc<[String]>,
}

impl SqliteBackend {
    /// A new, empty in-memory database.
    pub fn in_memory() -> Result<SqliteBackend, DatabaseError> {
        SqliteBackend::ready(Connection::open_in_memory().map_err(|e| from_rusqlite(&e))?)
    }

    /// The database in the file `path`, created if missing.
    pub fn open(path: &str) -> Result<SqliteBackend, DatabaseError> {
        let conn = Connection::open(path).map_err(|e| {
            DatabaseError::new(
                "08001",
                format!("cannot open SQLite database `{path}`: {e}"),
            )
        })?;
        SqliteBackend::ready(conn)
    }

    fn ready(conn: Connection) -> Result<SqliteBackend, DatabaseError> {
        register(&conn).map_err(|e| from_rusqlite(&e))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(SqliteBackend {
            conn,
            names: Vec::with_capacity(NAME_SETS),
            last: None,
        })
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn run(&mut self, sql: &str, returns_rows: bool) -> Result<RawResult, DatabaseError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| from_rusqlite(&e))?;
        if !returns_rows {
            let affected = stmt.execute([]).map_err(|e| from_rusqlite(&e))?;
            return Ok(RawResult {
                affected: u64::try_from(affected).unwrap_or(u64::MAX),
                ..RawResult::default()
            });
        }
        let mut rows = Vec::new();
        let mut cursor = stmt.raw_query();
        while let Some(row) = cursor.next().map_err(|e| from_rusqlite(&e))? {
            // Read once stepped: a statement SQLite prepared again (the
            // schema changed) may have other columns than before.
            let width = row.as_ref().column_count();
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let value = row.get_ref(i).map_err(|e| from_rusqlite(&e))?;
                values.push(from_value_ref(value));
            }
            rows.push(values);
        }
        drop(cursor);
        let runs = stmt.get_status(StatementStatus::Run);
        let reprepares = stmt.get_status(StatementStatus::RePrepare);
        let columns = match &mut self.last {
            Some(last)
                if last.runs.checked_add(1) == Some(runs)
                    && last.reprepares == reprepares
                    && last.sql == sql =>
            {
                last.runs = runs;
                Arc::clone(&last.names)
            }
            _ => {
                let names = column_names(&mut self.names, &stmt);
                self.last = Some(LastStatement {
                    sql: sql.to_string(),
                    runs,
                    reprepares,
                    names: Arc::clone(&names),
                });
                names
            }
        };
        Ok(RawResult {
            columns,
            affected: u64::try_from(rows.len()).unwrap_or(u64::MAX),
            rows,
        })
    }

    fn batch(&mut self, sql: &str) -> Result<(), DatabaseError> {
        // One statement (the session's BEGIN, COMMIT, SAVEPOINT …): from the
        // statement cache rather than parsed again each time.
        if !sql.contains(';') {
            let mut stmt = self
                .conn
                .prepare_cached(sql)
                .map_err(|e| from_rusqlite(&e))?;
            return stmt
                .raw_execute()
                .map(|_| ())
                .map_err(|e| from_rusqlite(&e));
        }
        self.conn.execute_batch(sql).map_err(|e| from_rusqlite(&e))
    }
}

/// `stmt`'s column names: a kept set equal to them (compared name by name,
/// so a statement SQLite prepared again is read afresh), else read from it
/// and kept, most recent first.
fn column_names(kept: &mut Vec<Arc<[String]>>, stmt: &Statement<'_>) -> Arc<[String]> {
    let count = stmt.column_count();
    let name = |i: usize| stmt.column_name(i).unwrap_or_default();
    let same = |names: &Arc<[String]>| {
        names.len() == count && names.iter().enumerate().all(|(i, n)| name(i) == n)
    };
    let names = match kept.iter().position(same) {
        Some(at) => kept.remove(at),
        None => {
            kept.truncate(NAME_SETS.saturating_sub(1));
            (0..count).map(|i| name(i).to_string()).collect()
        }
    };
    kept.insert(0, Arc::clone(&names));
    names
}

/// An SQLite value as a [`SqlValue`].
pub(super) fn from_value_ref(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Float(f),
        ValueRef::Text(bytes) => SqlValue::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => SqlValue::Bytes(bytes.to_vec()),
    }
}

/// An SQLite error with the SQLSTATE PostgreSQL gives for the same failure.
fn from_rusqlite(error: &rusqlite::Error) -> DatabaseError {
    let message = match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    };
    // Errors raised by the rampart_* functions carry their SQLSTATE.
    if let Some(rest) = message.strip_prefix(ERROR_PREFIX) {
        if let Some((code, text)) = rest.split_once("]: ") {
            return DatabaseError::new(code, text);
        }
    }
    if let rusqlite::Error::SqliteFailure(e, _) = error {
        if e.extended_code == ffi::SQLITE_READONLY_DBMOVED {
            return DatabaseError::new(
                "58030",
                format!(
                    "the SQLite database file was moved or removed while open, so it \
                     cannot be written ({message})"
                ),
            );
        }
    }
    let sqlstate = match error {
        rusqlite::Error::SqliteFailure(e, _) => match e.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => "23505",
            ffi::SQLITE_CONSTRAINT_NOTNULL => "23502",
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "23503",
            ffi::SQLITE_CONSTRAINT_CHECK => "23514",
            _ if e.code == rusqlite::ErrorCode::CannotOpen => "08001",
            _ if e.code == rusqlite::ErrorCode::DatabaseBusy => "55P03",
            _ if e.code == rusqlite::ErrorCode::SystemIoFailure => "58030",
            _ if e.code == rusqlite::ErrorCode::ReadOnly => "25006",
            _ if e.code == rusqlite::ErrorCode::DatabaseCorrupt
                || e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                "XX001"
            }
            _ if message.starts_with("no such table") => "42P01",
            _ if message.starts_with("no such column") => "42703",
            _ if message.contains("syntax error") => "42601",
            _ if message.contains("datatype mismatch") => "42804",
            _ => "XX000",
        },
        rusqlite::Error::SqlInputError { .. } => "42601",
        _ => "XX000",
    };
    DatabaseError::new(sqlstate, message)
}
