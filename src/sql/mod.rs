//! SQL: policy expressions as `sqlparser` expressions per dialect, and native
//! PostgreSQL DDL. `sqlparser` types are the lingua franca here and stay here.

pub mod ddl;
pub mod emit;
pub mod rewrite;
pub mod schema;
mod settings;
pub mod template;
pub mod usage;

pub use emit::{ContextSource, Emitter, Scope};

/// The SQL dialects Rampart emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// Why an expression could not be emitted as SQL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("context field `{0}` has no value here")]
    UnknownContext(String),
    #[error("text values cannot contain NUL characters")]
    NulInText,
    #[error("{0}")]
    Unsupported(String),
    /// A constant part of a policy fails when evaluated (as PostgreSQL's
    /// planner would report it).
    #[error("{0}")]
    Eval(crate::policy::EvalError),
    #[error("internal error: {0}")]
    Internal(&'static str),
}
