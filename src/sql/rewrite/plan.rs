//! The RETURNING plan of a rewritten statement: which RETURNING columns are
//! the user's and which the rewriter appended to verify new rows, so that an
//! executor can check every appended column is true and strip them.

/// What the executor must do with one rewritten statement's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementPlan {
    /// What kind of statement it is.
    pub kind: PlanKind,
    /// The declared table the statement writes (`None` for queries).
    pub table: Option<String>,
    /// How many RETURNING items are the user's (`*` counts as one item);
    /// the appended checks follow them, so they are the last
    /// `checks.len()` columns of each returned row.
    pub user_columns: usize,
    /// The appended check columns, in order.
    pub checks: Vec<AppendedCheck>,
    /// Whether the user wrote RETURNING; if not, the executor returns no
    /// rows, only the count.
    pub had_returning: bool,
    /// The declared columns of the written row (the new row of an INSERT
    /// or UPDATE, the removed row of a DELETE), appended after the user's
    /// items and before the checks when row images were asked for
    /// (`RewriteOptions::row_images`); empty otherwise.
    pub image_columns: Vec<String>,
}

/// The kind of a statement, as the executor treats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanKind {
    /// A query: `SELECT`, a set operation, `VALUES`.
    Query,
    Insert,
    /// `INSERT … ON CONFLICT DO UPDATE`: each returned row was inserted or
    /// updated.
    Upsert,
    Update,
    Delete,
    /// Transaction control, passed through unchanged.
    Transaction(Transaction),
}

/// Transaction control statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK` / `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
}

impl StatementPlan {
    /// The plan of a statement with nothing appended.
    pub fn none(kind: PlanKind, table: Option<String>) -> StatementPlan {
        StatementPlan {
            kind,
            table,
            user_columns: 0,
            checks: Vec::new(),
            had_returning: false,
            image_columns: Vec::new(),
        }
    }

    /// How many columns at the end of each returned row the rewriter
    /// appended (row image and checks).
    pub fn appended(&self) -> usize {
        self.image_columns.len() + self.checks.len()
    }
}

/// One appended RETURNING column: a policy predicate over the new row. Any
/// value but true means the statement must fail with 42501
/// `new row violates row-level security policy for table "t"` and change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendedCheck {
    /// Its position among the RETURNING items (after the user's).
    pub column_index: usize,
    /// Its alias in the statement: `rampart_check_<n>`. On SQLite the column
    /// is `rampart_check(condition, table, description)`, which raises the
    /// violation inside the statement (and is 1 when the check holds).
    pub alias: String,
    /// Which policies it is, e.g. `UPDATE check on the updated row`.
    pub policy_description: String,
}

/// The start of the message of an error a rewritten statement raises on
/// purpose for a row that violates a policy where RETURNING cannot report
/// it (the existing and updated rows of `ON CONFLICT DO UPDATE`): PostgreSQL
/// raises it as `invalid input syntax for type bigint: "rampart[42501]: …"`
/// (22P02), SQLite from `rampart_require`. An executor reports such an error
/// as 42501 with the text after the marker.
pub const VIOLATION_MARKER: &str = "rampart[42501]: ";

/// The policy violation a database error message carries, if it is one
/// raised through [`VIOLATION_MARKER`]: the text after the marker, up to its
/// closing quote on PostgreSQL.
pub fn violation_in_message(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once(VIOLATION_MARKER)?;
    Some(rest.strip_suffix('"').unwrap_or(rest))
}
