//! Proposed rows of `INSERT … VALUES … ON CONFLICT` not known when
//! rewriting: PostgreSQL checks each one before looking for a conflict, so
//! even a row the conflict skips must pass. Each row's check is a guard
//! around one of its values that raises the marked 42501 error (`plan.rs`).

use std::ops::ControlFlow;

use sqlparser::ast::{
    self as sql, CaseWhen, Expr, Insert, OnConflictAction, OnInsert, SetExpr, Visit, Visitor,
};

use crate::lang::model::{TExpr, TExprKind, Ty, Value};
use crate::policy::combine::{and, conditions, OnFail, RowImage, StatementKind};
use crate::policy::specialise;
use crate::sql::emit::value_expr;
use crate::sql::{Dialect, EmitError};

use super::error::RewriteError;
use super::plan::VIOLATION_MARKER;
use super::query::QueryRewriter;
use super::target::Target;
use super::upsert::{stored_value, Substitute};

impl QueryRewriter<'_> {
    /// Guards every row of a `VALUES` source of an `ON CONFLICT` INSERT with
    /// the conditions on the inserted row; why not, when that cannot be done
    /// exactly (another source, `DEFAULT`, a column left to the database's
    /// default that the policy reads, a function call it would run twice,
    /// a `?` parameter that a copy would renumber).
    pub(super) fn guard_proposed_rows(
        &self,
        insert: &mut Insert,
        target: &Target,
        columns: &[usize],
        reads: bool,
    ) -> Result<Option<&'static str>, RewriteError> {
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| RewriteError::Unsupported {
                construct: "an INSERT target out of range".into(),
            })?;
        let kind = match &insert.on {
            Some(OnInsert::OnConflict(on))
                if matches!(on.action, OnConflictAction::DoUpdate(_)) =>
            {
                StatementKind::InsertOnConflictUpdate
            }
            _ => StatementKind::Insert,
        };
        let mut combined: Option<TExpr> = None;
        for condition in conditions(self.set, target.index, kind, reads) {
            if condition.image != RowImage::Inserted || condition.on_fail != OnFail::Error {
                continue;
            }
            combined = Some(match combined {
                None => condition.combined.expr,
                Some(acc) => and(acc, condition.combined.expr),
            });
        }
        let Some(combined) = combined else {
            return Ok(None);
        };
        let special = specialise(&combined, self.known).map_err(|e| RewriteError::Emit {
            table: target.name.clone(),
            source: EmitError::Eval(e),
        })?;
        if special.kind == TExprKind::Literal(Value::Bool(true)) {
            return Ok(None);
        }
        let read = columns_read(&special);
        if read.iter().any(|c| !columns.contains(c)) {
            return Ok(Some("an omitted column without a preset that the policies read (its value is the database's default)"));
        }
        let Some(check) = self.emit_condition(target, &combined)? else {
            return Ok(None);
        };
        // The value wrapped in the guard: on PostgreSQL one stored as text,
        // so that `CASE … THEN v END` keeps the type the column takes.
        let wrapped = columns.iter().position(|&i| {
            self.dialect == Dialect::Sqlite
                || table.columns.get(i).is_some_and(|c| c.ty.ty == Ty::Text)
        });
        let Some(wrapped) = wrapped else {
            return Ok(Some("no text column to carry the guard"));
        };
        let Some(source) = insert.source.as_deref_mut() else {
            return Ok(Some("DEFAULT VALUES"));
        };
        if source.with.is_some() || source.order_by.is_some() || source.limit_clause.is_some() {
            return Ok(Some("a `WITH`, `ORDER BY` or `LIMIT` on the rows"));
        }
        let SetExpr::Values(values) = source.body.as_mut() else {
            return Ok(Some("a source other than VALUES"));
        };
        let message = format!(
            "{VIOLATION_MARKER}new row violates row-level security policy for table \"{}\"",
            table.name.name
        );
        for row in &mut values.rows {
            let mut assigned = Vec::new();
            for (value, &index) in row.content.iter().zip(columns) {
                let Some(column) = table.columns.get(index) else {
                    return Ok(Some("a value for an undeclared column"));
                };
                if is_default(value) {
                    return Ok(Some("`DEFAULT` as a value"));
                }
                if has_anonymous_parameter(value) {
                    return Ok(Some("a `?` parameter (a copy in the guard renumbers them)"));
                }
                if read.contains(&index) && calls_function(value) {
                    return Ok(Some(
                        "a call of a function not known to be stable in a value the \
                         policies read (the guard would run it again)",
                    ));
                }
                assigned.push((
                    column.name.clone(),
                    stored_value(value, column.ty.ty, self.dialect),
                ));
            }
            let mut guard = check.clone();
            let mut substitute = Substitute {
                qualifier: target.qualifier.clone(),
                assigned: &assigned,
            };
            let _ = sqlparser::ast::VisitMut::visit(&mut guard, &mut substitute);
            let raise = self.raise_unless(guard, &message, target)?;
            let Some(slot) = row.content.get_mut(wrapped) else {
                return Ok(Some("a row without the guarded value"));
            };
            let value = std::mem::replace(slot, value_expr(sql::Value::Null));
            *slot = Expr::Case {
                case_token: sql::helpers::attached_token::AttachedToken::empty(),
                end_token: sql::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![CaseWhen {
                    condition: raise,
                    result: value,
                }],
                else_result: None,
            };
        }
        Ok(None)
    }
}

/// The columns of the policy's own row an expression reads.
pub(super) fn columns_read(expr: &TExpr) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let TExprKind::Column(i) = e.kind {
            out.push(i);
        }
        stack.extend(e.kind.children());
    }
    out
}

/// `DEFAULT` as a value: the database's default, unknown here.
pub(super) fn is_default(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(i) if i.quote_style.is_none()
        && i.value.eq_ignore_ascii_case("default"))
}

/// Functions whose value is the same each time within one statement.
const STABLE_FUNCTIONS: [&str; 12] = [
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "lower",
    "upper",
    "abs",
    "length",
    "now",
    "current_timestamp",
    "current_date",
    "localtimestamp",
];

/// Whether an expression calls a function not known to be stable (nor the
/// SQLite dialect's checked arithmetic): a volatile one would give the check
/// another value than the row stores, as the guard evaluates it again.
pub(super) fn calls_function(expr: &Expr) -> bool {
    struct Calls;
    impl Visitor for Calls {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            let Expr::Function(f) = expr else {
                return ControlFlow::Continue(());
            };
            let name = f.name.to_string().to_ascii_lowercase();
            if name.starts_with("rampart_") || STABLE_FUNCTIONS.contains(&name.as_str()) {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        }
    }
    expr.visit(&mut Calls).is_break()
}

/// Whether an expression has a `?` parameter, which SQLite numbers by its
/// place in the text: a copy of it in a guard would shift the others.
pub(super) fn has_anonymous_parameter(expr: &Expr) -> bool {
    struct Anonymous;
    impl Visitor for Anonymous {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            match expr {
                Expr::Value(v) if v.value == sql::Value::Placeholder("?".into()) => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    expr.visit(&mut Anonymous).is_break()
}
