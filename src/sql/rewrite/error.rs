//! `RewriteError`: why a statement was refused, naming the construct or table,
//! each with the SQLSTATE PostgreSQL gives for the same kind of failure.

use crate::sql::EmitError;

/// Why the rewriter refused a statement. Every refusal is fail-closed:
/// nothing of the input is passed on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("SQL text of {len} bytes is longer than the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("SQL nests deeper than the limit of {limit} levels")]
    TooDeep { limit: usize },
    /// sqlparser's message, with the line and column it reports.
    #[error("a statement has more than {limit} operators")]
    TooManyOperators { limit: usize },
    #[error("syntax error: {message}")]
    Syntax { message: String },
    #[error("no SQL statement given")]
    Empty,
    #[error("unknown table `{name}`: the policy set does not declare it")]
    UnknownTable { name: String },
    #[error("not supported yet: {construct}")]
    Unsupported { construct: String },
    #[error("system relation `{name}` is not allowed")]
    SystemRelation { name: String },
    #[error("function `{name}` is not allowed: {why}")]
    ForbiddenFunction { name: String, why: &'static str },
    #[error(
        "`{name}` names its own or a later item of a non-recursive WITH: \
         PostgreSQL reads a table there and SQLite the WITH item, so it is refused \
         (write WITH RECURSIVE, or reorder or rename the items)"
    )]
    ForwardCteReference { name: String },
    #[error(
        "the WITH item `{cte}` hides table `{table}`, which the policies of `{reader}` read: \
         rename the WITH item"
    )]
    CteHidesPolicyTable {
        cte: String,
        table: String,
        reader: String,
    },
    #[error("policy of table `{table}`: {source}")]
    Emit { table: String, source: EmitError },
    #[error("unknown column `{column}` in table `{table}`")]
    UnknownColumn { column: String, table: String },
    #[error("column `{column}` of table `{table}` is given more than once")]
    DuplicateColumn { column: String, table: String },
    /// PostgreSQL's own text for a new row failing `check` (or, where the
    /// statement reads the row, SELECT `using`).
    #[error("new row violates row-level security policy for table \"{table}\"")]
    RowViolation { table: String },
}

impl RewriteError {
    /// The SQLSTATE of this refusal.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            RewriteError::TooLarge { .. } => "54000",
            RewriteError::TooDeep { .. } | RewriteError::TooManyOperators { .. } => "54001",
            RewriteError::Syntax { .. } | RewriteError::Empty => "42601",
            RewriteError::UnknownTable { .. } => "42P01",
            RewriteError::UnknownColumn { .. } => "42703",
            RewriteError::DuplicateColumn { .. } => "42701",
            RewriteError::RowViolation { .. } => "42501",
            RewriteError::Unsupported { .. }
            | RewriteError::ForwardCteReference { .. }
            | RewriteError::CteHidesPolicyTable { .. } => "0A000",
            RewriteError::SystemRelation { .. } | RewriteError::ForbiddenFunction { .. } => "42501",
            RewriteError::Emit { source, .. } => match source {
                EmitError::Eval(e) => e.sqlstate(),
                EmitError::NulInText => "22021",
                _ => "0A000",
            },
        }
    }
}
