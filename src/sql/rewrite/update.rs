//! `UPDATE t SET … [FROM …] [WHERE …] [RETURNING …]`: existing rows are
//! filtered by UPDATE `using` (+ SELECT `using` when the statement reads the
//! table) ahead of the user's condition; the new row's UPDATE `check` (+
//! SELECT `using` when it reads) become appended RETURNING check columns.

use sqlparser::ast::{Expr, SelectItem, TableFactor, Update, UpdateTableFromKind};

use crate::policy::combine::{RowImage, StatementKind};
use crate::sql::Dialect;

use super::error::RewriteError;
use super::plan::{PlanKind, StatementPlan};
use super::query::QueryRewriter;
use super::target::names_target_column;

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
        let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let values: Vec<&Expr> = update.assignments.iter().map(|a| &a.value).collect();
        let reads = update.returning.is_some()
            || update
                .selection
                .as_ref()
                .is_some_and(|w| names_target_column(w, &columns, &target, self.dialect))
            || values
                .iter()
                .any(|v| names_target_column(*v, &columns, &target, self.dialect));
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
        let (items, checks) = self.check_columns(
            &target,
            StatementKind::Update,
            reads,
            RowImage::Updated,
            user_columns + image.len(),
        )?;
        if !items.is_empty() || !image.is_empty() {
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
        })
    }
}
