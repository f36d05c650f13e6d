//! Running rewritten statements: one small `Backend` trait with the embedded
//! SQLite backend (`rusqlite`, bundled) and the PostgreSQL backend
//! (`postgres`), and the `Session` that rewrites, runs, verifies and reports.
//! `rusqlite` and `postgres` types do not leave this module.

pub mod pg;
mod pg_numeric;
mod schema;
pub mod session;
pub mod sqlite;
pub mod sqlite_functions;
mod usage;
mod value;

pub use session::{ChangeEvent, Operation, QueryResult, Session};
pub use usage::QuotaUsage;
pub use value::SqlValue;

use std::sync::Arc;

use crate::error::DatabaseError;
use crate::sql::Dialect;

/// What one statement gave back, before the session strips the columns the
/// rewriter appended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawResult {
    /// Column names, in order (shared: a backend keeps them per statement).
    pub columns: Arc<[String]>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<SqlValue>>,
    /// Rows changed by a write without RETURNING (for other statements, the
    /// number of rows returned).
    pub affected: u64,
}

/// A database the engine runs rewritten SQL on. Implementations run exactly
/// the text they are given; the session decides what that text is.
pub trait Backend: Send {
    /// The SQL dialect the rewriter must produce for this database.
    fn dialect(&self) -> Dialect;

    /// Runs one statement. `returns_rows` says whether it yields rows (a
    /// query, or a write with RETURNING); if not, only the count is read.
    fn run(&mut self, sql: &str, returns_rows: bool) -> Result<RawResult, DatabaseError>;

    /// Runs transaction control (`BEGIN`, `SAVEPOINT s`, …) or other
    /// statements that return nothing.
    fn batch(&mut self, sql: &str) -> Result<(), DatabaseError>;
}

/// Opens a backend from a URL: `sqlite::memory:`, `sqlite:FILE` or
/// `postgres://…` (also `postgresql://…`).
///
/// ```
/// let backend = rampart::exec::open("sqlite::memory:")?;
/// assert_eq!(backend.dialect(), rampart::Dialect::Sqlite);
/// # Ok::<(), rampart::Error>(())
/// ```
pub fn open(url: &str) -> Result<Box<dyn Backend>, crate::Error> {
    if url == "sqlite::memory:" {
        return Ok(Box::new(sqlite::SqliteBackend::in_memory()?));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(crate::Error::Url(format!(
                "`{url}`: no file after `sqlite:` (use `sqlite::memory:` or `sqlite:FILE`)"
            )));
        }
        return Ok(Box::new(sqlite::SqliteBackend::open(path)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(pg::PostgresBackend::connect(url)?));
    }
    Err(crate::Error::Url(format!(
        "`{url}`: expected `sqlite::memory:`, `sqlite:FILE` or `postgres://…`"
    )))
}
