//! `UPDATE t SET … [FROM …] [WHERE …] [RETURNING …]`: existing rows are
//! filtered by UPDATE `using` (+ SELECT `using` when the statement reads the
//! table) ahead of the user's condition; the new row's UPDATE `check` (+
//! SELECT `using` when it reads) become appended RETURNING check columns.
//! As PostgreSQL checks those before the row's constraints, the same checks,
//! on the values the row is given, also guard one assigned value
//! (`guard_updated_rows`), so a row breaking both a policy and a constraint
//! fails with the policy's 42501.

use std::borrow::Cow;
use std::ops::ControlFlow;

use sqlparser::ast::{
    self as sql, AssignmentTarget, Expr, SelectItem, TableFactor, Update, UpdateTableFromKind,
    Visit, VisitMut, Visitor,
};

use crate::lang::model::Ty;
use crate::policy::combine::{RowImage, StatementKind};
use crate::sql::Dialect;

use super::copied::{qualify, qualify_in_place};
use super::error::RewriteError;
use super::plan::{PlanKind, StatementPlan, VIOLATION_MARKER};
use super::printed::{raw, GuardTemplate};
use super::proposed::is_default;
use super::query::QueryRewriter;
use super::stable::uncopyable;
use super::target::{names_target_column, Target};
use super::tenant::UpdateGuard;
use super::upsert::{declared_index, stored, stored_text, target_column, Substitute, GUARDED};

fn unsupported(construct: &str) -> RewriteError {
    RewriteError::Unsupported {
        construct: construct.into(),
    }
}

/// Clauses of other dialects' UPDATE that the rewrite does not cover.
fn check_update(update: &Update) -> Result<(), RewriteError> {
    if update.or.is_some() {
        return Err(unsupported(
            "`UPDATE OR …` (REPLACE deletes rows past the DELETE policies)",
        ));
    }
    if !update.order_by.is_empty() || update.limit.is_some() {
        return Err(unsupported("`ORDER BY` / `LIMIT` in UPDATE"));
    }
    if update.output.is_some() || update.on_cluster.is_some() || update.settings.is_some() {
        return Err(unsupported(
            "`OUTPUT`, `ON CLUSTER` or `SETTINGS` in UPDATE",
        ));
    }
    if !update.optimizer_hints.is_empty() {
        return Err(unsupported("optimizer hints"));
    }
    if !update.table.joins.is_empty() {
        return Err(unsupported("joins in the UPDATE target (use `FROM`)"));
    }
    Ok(())
}

impl QueryRewriter<'_> {
    pub(super) fn rewrite_update(
        &mut self,
        update: &mut Update,
    ) -> Result<StatementPlan, RewriteError> {
        check_update(update)?;
        let TableFactor::Table {
            name, alias, args, ..
        } = &update.table.relation
        else {
            return Err(unsupported("an UPDATE target that is not a table"));
        };
        if args.is_some() || alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
            return Err(unsupported(
                "an UPDATE target with arguments or column aliases",
            ));
        }
        if alias.is_some() && self.dialect == Dialect::Sqlite {
            // SQLite's RETURNING cannot name the alias the checks read through.
            return Err(unsupported("an alias on the UPDATE target in SQLite"));
        }
        let target = self.target(name, alias.as_ref().map(|a| &a.name))?;
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| unsupported("an UPDATE target out of range"))?;
        self.fill_preset_assignments(&mut update.assignments, table, &target)?;
        let columns = &table.columns;
        let reads = update.returning.is_some()
            || update
                .selection
                .as_ref()
                .is_some_and(|w| names_target_column(w, columns, &target, self.dialect))
            || update
                .assignments
                .iter()
                .any(|a| names_target_column(&a.value, columns, &target, self.dialect));
        if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) =
            &mut update.from
        {
            self.rewrite_clause(from)?;
        }
        for assignment in &mut update.assignments {
            self.rewrite_clause(&mut assignment.value)?;
        }
        if let Some(selection) = &mut update.selection {
            self.rewrite_clause(selection)?;
        }
        if let Some(returning) = &mut update.returning {
            self.rewrite_clause(returning)?;
        }
        let policy = self.hiding_predicate(&target, StatementKind::Update, reads)?;
        update.selection = self.target_where(&target, policy, update.selection.take());
        let had_returning = update.returning.is_some();
        let user_columns = update.returning.as_ref().map_or(0, Vec::len);
        let (image, image_columns) = if self.row_images {
            self.image_items(&target)?
        } else {
            (Vec::new(), Vec::new())
        };
        let (kept, checks) = self.check_columns(
            &target,
            StatementKind::Update,
            reads,
            RowImage::Updated,
            user_columns + image.len(),
        )?;
        let guarded = !kept.items.is_empty()
            && self.guard_updated_rows(update, &target, reads, &kept.items)?;
        let (items, checks) = match (self.in_with_item, kept.items.is_empty()) {
            (false, _) | (true, true) => (kept.item(), checks),
            // Appended RETURNING columns would be the item's output too:
            // inside a WITH item the guard must do the checks alone.
            (true, false) if guarded => (None, Vec::new()),
            (true, false) => {
                return Err(unsupported(
                    "an UPDATE inside a WITH item whose new rows cannot be checked by a guard \
                     in the statement (a value the policies read that calls a function not \
                     known to be stable (`random()`), holds a subquery, a `?` parameter or \
                     `DEFAULT`, `SET (a, b) = …`, or no assigned int, text or bool column to \
                     carry the guard)",
                ))
            }
        };
        if items.is_some() || !image.is_empty() {
            let returning: &mut Vec<SelectItem> = update.returning.get_or_insert_with(Vec::new);
            returning.extend(image);
            returning.extend(items);
        }
        Ok(StatementPlan {
            kind: PlanKind::Update,
            table: Some(target.name),
            user_columns,
            checks,
            had_returning,
            image_columns,
            with_writes: Vec::new(),
        })
    }
}

impl QueryRewriter<'_> {
    /// Wraps one assigned value as `CASE WHEN <checks hold> THEN value END`,
    /// the checks (`items`, the appended RETURNING ones) reading the values
    /// the row is given, so that a failing row raises the marked 42501
    /// while the new row is computed, before its constraints, as PostgreSQL
    /// orders them. The RETURNING checks stay: they see the row as stored.
    /// Says whether the guard was placed.
    ///
    /// Left out (the RETURNING checks alone, as before) where the copy in
    /// the guard could differ from the value stored: a value the checks
    /// read that calls a function not known to be stable, holds a subquery
    /// or a `?` parameter, a `SET (a, b) = …`, or no assignment whose value
    /// can carry the guard (`DEFAULT`, or only float and timestamp columns,
    /// whose type the database may store differently from the cast).
    fn guard_updated_rows(
        &self,
        update: &mut Update,
        target: &Target,
        reads: bool,
        items: &[SelectItem],
    ) -> Result<bool, RewriteError> {
        let Some(table) = self.set.tables.get(target.index) else {
            return Ok(false);
        };
        if update
            .assignments
            .iter()
            .any(|a| !matches!(a.target, AssignmentTarget::ColumnName(_)))
        {
            return Ok(false);
        }
        let key = (
            target.index,
            StatementKind::Update,
            reads,
            RowImage::Updated,
        );
        let made = self.policy_cache.update_guard(key, &target.qualifier, || {
            self.make_update_guard(target, items)
        })?;
        let Some(UpdateGuard {
            guard,
            read,
            template,
        }) = made.as_ref()
        else {
            return Ok(false);
        };
        // One pass over the assignments: which one gives each column the
        // guard reads (its value must be one a copy reproduces), and the
        // one that carries the guard, the first to a column whose declared
        // type the cast stores exactly.
        let mut given: Vec<Option<Given>> = (0..read.len()).map(|_| None).collect();
        let mut seen = Seen::default();
        let mut carrier = None;
        for (i, assignment) in update.assignments.iter().enumerate() {
            let AssignmentTarget::ColumnName(name) = &assignment.target else {
                return Ok(false);
            };
            let Some(column) = declared_index(name, table, self.dialect) else {
                return Ok(false);
            };
            let Some(declared) = table.columns.get(column).filter(|_| seen.first(column)) else {
                return Ok(false);
            };
            let (value, ty) = (&assignment.value, declared.ty.ty);
            if let Some(slot) = read.iter().position(|r| *r == declared.name) {
                if uncopyable(value) || is_default_cast(value) {
                    return Ok(false);
                }
                if let Some(slot) = given.get_mut(slot) {
                    *slot = Some(Given {
                        assignment: i,
                        ty,
                        text: String::new(),
                    });
                }
            }
            if carrier.is_none()
                && !is_default(value)
                && matches!(ty, Ty::Int | Ty::Text | Ty::Bool)
            {
                carrier = Some((i, ty));
            }
        }
        let Some((carrier, ty)) = carrier else {
            return Ok(false);
        };
        // Each value the guard reads, with its columns qualified as the
        // target's (it goes where the check reads the column, inside the
        // policies' `exists` subqueries too, where a bare name could mean a
        // subquery's own table), as the column stores it. Without `FROM`, a
        // bare name in SET can only be the target's column, so the value is
        // qualified where it stands and the assignment prints the same
        // text; with one, a copy is (the bare name stays bare in SET, where
        // PostgreSQL reports a name two tables have as ambiguous).
        let in_place = update.from.is_none();
        let is_column = |column: &sql::Ident| {
            table
                .columns
                .iter()
                .any(|c| super::scope::names_declared(column, &c.name, self.dialect))
        };
        for slot in given.iter_mut().flatten() {
            let Some(assignment) = update.assignments.get_mut(slot.assignment) else {
                return Ok(false);
            };
            let text = guard_reads(
                &mut assignment.value,
                in_place,
                &target.qualifier,
                is_column,
            )
            .and_then(|value| stored_text(&value, slot.ty, self.dialect));
            let Some(text) = text else {
                return Ok(false);
            };
            slot.text = text;
        }
        let value_of = |column: usize| given.get(column)?.as_ref().map(|g| g.text.as_str());
        // Without a template (rare: a policy literal holding the hole
        // marker) the values are put into a copy of the guard's tree.
        let substituted = match template {
            Some(_) => None,
            None => {
                let assigned: Vec<(String, Expr)> = read
                    .iter()
                    .zip(&given)
                    .filter_map(|(column, slot)| {
                        let Given { assignment, ty, .. } = *slot.as_ref()?;
                        let value = &mut update.assignments.get_mut(assignment)?.value;
                        let copy = guard_reads(value, in_place, &target.qualifier, is_column)?;
                        Some((column.clone(), stored(copy.into_owned(), ty, self.dialect)))
                    })
                    .collect();
                let mut guard = guard.clone();
                let _ = VisitMut::visit(
                    &mut guard,
                    &mut Substitute {
                        qualifier: target.qualifier.clone(),
                        assigned: &assigned,
                    },
                );
                Some(guard.to_string())
            }
        };
        // `CASE WHEN guard THEN <value stored> END`, placed as its text:
        // nothing reads an assigned value after this but the printer. The
        // carrier's stored value is printed once where the guard reads it.
        let printed = given
            .iter()
            .flatten()
            .find(|slot| in_place && slot.assignment == carrier)
            .map(|slot| slot.text.as_str());
        let Some(assignment) = update.assignments.get_mut(carrier) else {
            return Ok(false);
        };
        let own;
        let value = match printed {
            Some(value) => value,
            None => match stored_text(&assignment.value, ty, self.dialect) {
                Some(text) => {
                    own = text;
                    own.as_str()
                }
                None => return Ok(false),
            },
        };
        let guard_len = match (template, &substituted) {
            (Some(template), _) => template.filled_len(value_of),
            (None, guard) => guard.as_ref().map_or(0, String::len),
        };
        let mut text = String::with_capacity(
            GUARDED.iter().map(|s| s.len()).sum::<usize>() + guard_len + value.len(),
        );
        text.push_str(GUARDED[0]);
        match (template, &substituted) {
            // The guard's text with the values printed in: its tree is
            // neither copied nor printed again (`printed.rs`).
            (Some(template), _) => template.fill_into(value_of, &mut text),
            (None, guard) => text.push_str(guard.as_deref().unwrap_or_default()),
        }
        text.push_str(GUARDED[1]);
        text.push_str(value);
        text.push_str(GUARDED[2]);
        assignment.value = raw(text);
        Ok(true)
    }
}

impl QueryRewriter<'_> {
    /// The guard of `guard_updated_rows` over the target's own columns:
    /// the appended checks' conditions AND-ed inside the marked 42501.
    /// Made once per tenant and target.
    fn make_update_guard(
        &self,
        target: &Target,
        items: &[SelectItem],
    ) -> Result<Option<UpdateGuard>, RewriteError> {
        // The appended items' expressions: on PostgreSQL the conditions
        // (wrapped in the marked 42501 below); on SQLite `rampart_check(cond,
        // …)`, which gives 1 or raises the check's own 42501, or 22P02 for a
        // value that is no boolean.
        let Some(conditions) = items
            .iter()
            .map(|item| match item {
                SelectItem::ExprWithAlias { expr, .. } => Some(expr.clone()),
                _ => None,
            })
            .collect::<Option<Vec<Expr>>>()
        else {
            return Ok(None);
        };
        let mut read = Vec::new();
        for condition in &conditions {
            let _ = Visit::visit(
                condition,
                &mut ColumnsRead {
                    qualifier: &target.qualifier,
                    read: &mut read,
                },
            );
        }
        let Some(guard) = conditions
            .into_iter()
            .reduce(|acc, condition| Expr::BinaryOp {
                left: Box::new(crate::sql::emit::nested(acc)),
                op: sql::BinaryOperator::And,
                right: Box::new(crate::sql::emit::nested(condition)),
            })
        else {
            return Ok(None);
        };
        let guard = if self.dialect == Dialect::Sqlite {
            guard
        } else {
            let name = self
                .set
                .tables
                .get(target.index)
                .map_or("", |t| t.name.name.as_str());
            let message = format!(
                "{VIOLATION_MARKER}new row violates row-level security policy for table \"{name}\""
            );
            self.raise_unless(guard, &message, target)?
        };
        let template = GuardTemplate::new(&guard, &target.qualifier, &read);
        Ok(Some(UpdateGuard {
            guard,
            read,
            template,
        }))
    }
}

/// `value` as the UPDATE guard reads it: its columns qualified as the
/// target's (`qualifier`), where it stands when `in_place` (qualifying it
/// again changes nothing), else in a copy; `None` where a bare name is not
/// a column `is_column` accepts.
fn guard_reads<'v>(
    value: &'v mut Expr,
    in_place: bool,
    qualifier: &[String],
    is_column: impl Fn(&sql::Ident) -> bool,
) -> Option<Cow<'v, Expr>> {
    if in_place {
        qualify_in_place(value, Some(qualifier), is_column).then_some(Cow::Borrowed(value))
    } else {
        qualify(value.clone(), Some(qualifier), is_column).map(Cow::Owned)
    }
}

/// The assignment that gives a column the UPDATE guard reads, the column's
/// type, and the value printed as the column stores it.
struct Given {
    assignment: usize,
    ty: Ty,
    text: String,
}

/// Column indices met so far: a bitset for the first 128 (no allocation for
/// any table narrower than that), a list past them.
#[derive(Default)]
struct Seen {
    low: u128,
    high: Vec<usize>,
}

impl Seen {
    /// Whether `column` is met for the first time (it is then noted).
    fn first(&mut self, column: usize) -> bool {
        match u32::try_from(column)
            .ok()
            .and_then(|c| 1u128.checked_shl(c))
        {
            Some(bit) => {
                let first = self.low & bit == 0;
                self.low |= bit;
                first
            }
            None if self.high.contains(&column) => false,
            None => {
                self.high.push(column);
                true
            }
        }
    }
}

/// The target's declared columns an emitted condition reads.
struct ColumnsRead<'a> {
    qualifier: &'a [String],
    read: &'a mut Vec<String>,
}

impl Visitor for ColumnsRead<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Some(column) = target_column(expr, self.qualifier) {
            if !self.read.contains(&column.value) {
                self.read.push(column.value.clone());
            }
        }
        ControlFlow::Continue(())
    }
}

/// `CAST((DEFAULT) AS …)`: a `DEFAULT` made a stored value, unknown here.
fn is_default_cast(value: &Expr) -> bool {
    match value {
        Expr::Cast { expr, .. } => is_default_cast(expr),
        Expr::Nested(inner) => is_default_cast(inner),
        e => is_default(e),
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    /// Each column is met for the first time once, in the bitset's range
    /// and past it alike.
    #[test]
    fn seen_tells_each_column_first_once() {
        let mut seen = Seen::default();
        let columns = [0, 5, 127, 128, 129, 1000, usize::MAX, 5, 0, 127, 128, 1000];
        let first: Vec<bool> = columns.iter().map(|c| seen.first(*c)).collect();
        assert_eq!(
            first,
            [true, true, true, true, true, true, true, false, false, false, false, false]
        );
        assert!(!seen.first(usize::MAX));
        assert!(seen.first(64));
    }
}
