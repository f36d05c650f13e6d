//! `rampart::Error`: one enum over every layer's errors, each with the
//! SQLSTATE PostgreSQL would give for the same failure.

use crate::lang::load::LoadError;
use crate::policy::context::ContextError;
use crate::policy::EvalError;
use crate::quota::QuotaError;
use crate::sql::rewrite::RewriteError;
use crate::sql::EmitError;

/// Everything that can go wrong through the public API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Policy text that does not parse or check; `rendered` shows every
    /// diagnostic with its file, line, column and source line.
    #[error("the policy set has {count} error(s):\n{rendered}")]
    Policy { count: usize, rendered: String },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("unknown table `{0}`: the policy set does not declare it")]
    UnknownTable(String),
    #[error("unknown command `{0}` (expected `select`, `insert`, `update` or `delete`)")]
    UnknownCommand(String),
    #[error("row: {0}")]
    Row(String),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// A statement the rewriter refused.
    #[error(transparent)]
    Rewrite(#[from] RewriteError),
    /// Two evaluators gave different answers: a bug in Rampart.
    #[error("evaluators disagree: {0}")]
    Disagreement(String),
    /// A database URL that is not one of the accepted forms.
    #[error("database URL {0}")]
    Url(String),
    /// The database refused or failed a statement (or could not be reached).
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// A row written by the statement fails the policies' check; the
    /// statement was rolled back.
    #[error("new row violates row-level security policy for table \"{table}\"")]
    CheckViolation { table: String },
    /// A statement in a transaction that already failed.
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    TransactionAborted,
    /// The tenant's writes are stopped (a migration is cutting over).
    #[error("writes of tenant `{tenant}` are stopped: it is being moved to another database")]
    WritesStopped { tenant: String },
    /// A tenant migration failed or was refused.
    #[error(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    /// A tenant quota refused the statement or the connection.
    #[error(transparent)]
    Quota(#[from] QuotaError),
}

/// An error reported by the database, with its SQLSTATE (for SQLite, the
/// closest PostgreSQL code: `23505` for a unique violation, …).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    pub sqlstate: String,
    pub message: String,
}

impl DatabaseError {
    pub fn new(sqlstate: &str, message: impl Into<String>) -> DatabaseError {
        DatabaseError {
            sqlstate: sqlstate.to_string(),
            message: message.into(),
        }
    }
}

impl Error {
    /// The SQLSTATE of this error, as PostgreSQL would report it.
    pub fn sqlstate(&self) -> &str {
        match self {
            Error::Policy { .. } => "42P17",
            Error::Load(_) => "58030",
            Error::Context(_) | Error::Row(_) => "22023",
            Error::UnknownTable(_) => "42P01",
            Error::UnknownCommand(_) => "42601",
            Error::Eval(e) => e.sqlstate(),
            Error::Emit(EmitError::Eval(e)) => e.sqlstate(),
            Error::Emit(EmitError::NulInText) => "22021",
            Error::Emit(_) => "0A000",
            Error::Rewrite(e) => e.sqlstate(),
            Error::Disagreement(_) => "XX000",
            Error::Url(_) => "08001",
            Error::Database(e) => &e.sqlstate,
            Error::CheckViolation { .. } => "42501",
            Error::TransactionAborted => "25P02",
            Error::WritesStopped { .. } => "25006",
            Error::Migrate(e) => e.sqlstate(),
            Error::Quota(e) => e.sqlstate(),
        }
    }
}
