//! Running a write: in a transaction or savepoint of its own (or, on
//! SQLite with nothing to check after it, as one statement), with its
//! storage accounting, its appended checks verified and stripped and its
//! row images read into change events.

use crate::error::{DatabaseError, Error};
use crate::sql::rewrite::{violation_in_message, PlanKind, StatementPlan};
use crate::sql::Dialect;

use super::super::RawResult;
use super::{rows, ChangeEvent, Operation, QueryResult, Session, TxState};

impl Session {
    /// Whether a write can run as one SQLite statement of its own, without
    /// `BEGIN IMMEDIATE` … `COMMIT` around it: outside a transaction, on
    /// SQLite (whose appended checks raise inside the statement, through
    /// `rampart_check`, so that SQLite undoes a refused write by itself, as
    /// it does any failing statement), with nothing to check after the
    /// statement ran (no row images to read, no storage limit to apply, the
    /// tenant's limits already recorded). SQLite takes the write lock when
    /// such a statement starts, waiting under the busy timeout as `BEGIN
    /// IMMEDIATE` does.
    pub(super) fn single_statement_write(&self, plan: &StatementPlan) -> bool {
        self.tx == TxState::Idle
            && self.backend.dialect() == Dialect::Sqlite
            && plan.image_columns.is_empty()
            && self.account.as_ref().is_none_or(|a| !a.must_lock())
    }

    /// [`Session::single_statement_write`]'s write: triggers installed
    /// first if need be (committed at once, like the statement).
    pub(super) fn run_single_statement_write(
        &mut self,
        sql: &str,
        plan: &StatementPlan,
    ) -> Result<QueryResult, Error> {
        let outcome = self.run_counted_write(sql, plan).map_err(violation);
        self.accounting.settle();
        let (result, events) = outcome?;
        self.deliver(events);
        Ok(result)
    }

    /// Runs a write with its storage accounting: the target table's
    /// triggers made sure of, the tenant's usage row locked, and the storage
    /// rule applied to what the write added (`usage::check_storage`), all
    /// inside the statement's transaction: a refusal leaves nothing written
    /// and nothing counted.
    pub(super) fn run_counted_write(
        &mut self,
        sql: &str,
        plan: &StatementPlan,
    ) -> Result<(QueryResult, Vec<ChangeEvent>), Error> {
        let mut counted = false;
        for table in plan.written_tables() {
            counted |= self.accounting.prepare(
                self.engine.policy_set(),
                Some(table),
                self.backend.as_mut(),
            )?;
        }
        let Some(account) = self.account.as_ref().filter(|_| counted) else {
            return self.run_write(sql, plan);
        };
        let before = account.lock(self.backend.as_mut())?;
        let done = self.run_write(sql, plan)?;
        if let Some(account) = &self.account {
            account.check_storage(self.backend.as_mut(), before, plan.may_add())?;
        }
        Ok(done)
    }

    /// Runs a write, verifies its appended checks and strips them.
    pub(super) fn run_write(
        &mut self,
        sql: &str,
        plan: &StatementPlan,
    ) -> Result<(QueryResult, Vec<ChangeEvent>), Error> {
        let returns_rows = plan.returns_rows() || plan.appended() > 0;
        let raw = self.backend.run(sql, returns_rows)?;
        if !returns_rows {
            return Ok((
                QueryResult {
                    affected: raw.affected,
                    ..QueryResult::default()
                },
                Vec::new(),
            ));
        }
        let RawResult { columns, rows, .. } = raw;
        let table = plan.table.as_deref().unwrap_or_default();
        let keep = columns.len().checked_sub(plan.appended()).ok_or_else(|| {
            Error::Database(DatabaseError::new(
                "XX000",
                "the statement returned fewer columns than the rewriter appended",
            ))
        })?;
        let image_end = keep + plan.image_columns.len();
        let operation = match plan.kind {
            PlanKind::Insert => Operation::Insert,
            PlanKind::Upsert => Operation::Upsert,
            PlanKind::Delete => Operation::Delete,
            PlanKind::Update | PlanKind::Query | PlanKind::Transaction(_) => Operation::Update,
        };
        let dialect = self.backend.dialect();
        let types = if plan.image_columns.is_empty() {
            Vec::new()
        } else {
            rows::image_types(self.engine.policy_set(), plan)
        };
        let mut events = Vec::new();
        let mut out_rows = Vec::with_capacity(rows.len());
        for mut row in rows {
            let checks = row.get(image_end..).unwrap_or_default();
            rows::verify_checks(plan, table, checks, dialect)?;
            if !plan.image_columns.is_empty() {
                let image = row.get(keep..image_end).unwrap_or_default();
                events.push(ChangeEvent {
                    table: table.to_string(),
                    operation,
                    tenant: self.tenant.clone(),
                    row: rows::image_row(table, &plan.image_columns, &types, image, dialect)?,
                });
            }
            row.truncate(keep);
            out_rows.push(row);
        }
        let affected = u64::try_from(out_rows.len()).unwrap_or(u64::MAX);
        let result = if plan.returns_rows() {
            QueryResult {
                columns: self.kept_columns(columns, keep),
                rows: out_rows,
                affected,
            }
        } else {
            QueryResult {
                affected,
                ..QueryResult::default()
            }
        };
        Ok((result, events))
    }
}

/// A database error raised by the rewriter's guards (`ON CONFLICT`'s
/// conflicting and updated rows, skipped proposed rows) is the policy
/// violation it marks: 42501 with PostgreSQL's text.
pub(super) fn violation(error: Error) -> Error {
    if let Error::Database(e) = &error {
        if let Some(text) = violation_in_message(&e.message) {
            return Error::Database(DatabaseError::new("42501", text));
        }
    }
    error
}
