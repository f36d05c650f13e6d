//! Policy meaning: which policies meet a statement and how they combine
//! (PostgreSQL's rules), specialisation on known context values, and the
//! reference interpreter that defines what every expression means.

pub mod combine;
pub mod context;
pub mod interp;
pub mod print;
pub mod quota;
pub mod simplify;

pub use combine::{combine, conditions, Combined, Condition, OnFail, RowImage, StatementKind};
pub use quota::{resolve, ResolvedLimits};
pub use simplify::{specialise, KnownContext};

/// An error while evaluating an expression, as PostgreSQL reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("bigint out of range")]
    IntOverflow,
    #[error("value out of range: overflow")]
    FloatOverflow,
    #[error("value out of range: underflow")]
    FloatUnderflow,
    #[error("division by zero")]
    DivisionByZero,
    #[error("LIKE pattern must not end with escape character")]
    LikeEscape,
    /// `exists` reads another table: only the database can answer it.
    #[error("the expression uses `exists`, which needs the database")]
    NeedsDatabase,
    #[error("no value for input {index} (the row or context is shorter than declared)")]
    MissingValue { index: usize },
    /// A row or context given to compiled code does not fit its layout.
    #[error("input {index} does not fit the declared layout: expected {expected}")]
    WrongShape {
        index: usize,
        expected: &'static str,
    },
}

impl EvalError {
    /// The SQLSTATE PostgreSQL gives for the same failure.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            EvalError::IntOverflow | EvalError::FloatOverflow | EvalError::FloatUnderflow => {
                "22003"
            }
            EvalError::DivisionByZero => "22012",
            EvalError::LikeEscape => "22025",
            EvalError::NeedsDatabase => "0A000",
            EvalError::MissingValue { .. } | EvalError::WrongShape { .. } => "XX000",
        }
    }
}
