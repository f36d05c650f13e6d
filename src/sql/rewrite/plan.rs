//! The RETURNING plan of a rewritten statement: which RETURNING columns are
//! the user's and which the rewriter appended to verify new rows, so that an
//! executor can check every appended column is true and strip them.

/// What the executor must do with one rewritten statement's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementPlan {
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
}

impl StatementPlan {
    /// The plan of a statement with nothing appended.
    pub fn none(table: Option<String>) -> StatementPlan {
        StatementPlan {
            table,
            user_columns: 0,
            checks: Vec::new(),
            had_returning: false,
        }
    }
}

/// One appended RETURNING column: a policy predicate over the new row. Any
/// value but true means the statement must fail with 42501
/// `new row violates row-level security policy for table "t"` and change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendedCheck {
    /// Its position among the RETURNING items (after the user's).
    pub column_index: usize,
    /// Its alias in the statement: `rampart_check_<n>`.
    pub alias: String,
    /// Which policies it is, e.g. `UPDATE check on the updated row`.
    pub policy_description: String,
}
