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
    /// The writes inside its WITH items (`WITH d AS (DELETE …) SELECT …`),
    /// which run besides the statement's own: each checks its rows inside
    /// the statement, appending nothing.
    pub with_writes: Vec<WithWrite>,
}

/// A write inside a WITH item of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithWrite {
    /// What kind of write: `Insert`, `Upsert`, `Update` or `Delete`.
    pub kind: PlanKind,
    /// The declared table it writes.
    pub table: String,
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

impl PlanKind {
    /// Whether statements of this kind write rows.
    pub fn is_write(&self) -> bool {
        // Exhaustive, so that a new kind must be placed here.
        match self {
            PlanKind::Query | PlanKind::Transaction(_) => false,
            PlanKind::Insert | PlanKind::Upsert | PlanKind::Update | PlanKind::Delete => true,
        }
    }
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
            with_writes: Vec::new(),
        }
    }

    /// Whether the statement writes: it is a write, or a query with writes
    /// in its WITH items.
    pub fn writes(&self) -> bool {
        self.kind.is_write() || !self.with_writes.is_empty()
    }

    /// Whether the statement returns rows: it is a query, or a write the
    /// user gave RETURNING.
    pub fn returns_rows(&self) -> bool {
        self.kind == PlanKind::Query || self.had_returning
    }

    /// Whether the statement may add rows or make them larger (anything
    /// but deleting), which the storage limit looks at.
    pub fn may_add(&self) -> bool {
        let adds = |kind: &PlanKind| kind.is_write() && *kind != PlanKind::Delete;
        adds(&self.kind) || self.with_writes.iter().any(|w| adds(&w.kind))
    }

    /// The declared tables the statement writes: its own target, then
    /// those of its WITH items' writes.
    pub fn written_tables(&self) -> impl Iterator<Item = &str> + '_ {
        self.table
            .as_deref()
            .into_iter()
            .chain(self.with_writes.iter().map(|w| w.table.as_str()))
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
