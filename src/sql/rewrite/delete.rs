//! `DELETE FROM t [USING …] [WHERE …] [RETURNING …]`: the target's rows are
//! filtered by its DELETE `using` (and SELECT `using` when the statement
//! reads its columns) ahead of the user's condition; other tables get their
//! SELECT policies as in a query.

use sqlparser::ast::{Delete, FromTable, TableFactor};

use crate::policy::combine::StatementKind;

use super::error::RewriteError;
use super::plan::{PlanKind, StatementPlan};
use super::query::QueryRewriter;
use super::target::names_target_column;

fn unsupported(construct: &str) -> RewriteError {
    RewriteError::Unsupported {
        construct: construct.into(),
    }
}

/// Clauses of other dialects' DELETE that the rewrite does not cover.
fn check_delete(delete: &Delete) -> Result<(), RewriteError> {
    if !delete.tables.is_empty() {
        return Err(unsupported("multi-table `DELETE t1, t2 FROM …`"));
    }
    if !delete.order_by.is_empty() || delete.limit.is_some() {
        return Err(unsupported("`ORDER BY` / `LIMIT` in DELETE"));
    }
    if delete.output.is_some() || delete.on_cluster.is_some() || delete.settings.is_some() {
        return Err(unsupported(
            "`OUTPUT`, `ON CLUSTER` or `SETTINGS` in DELETE",
        ));
    }
    if !delete.optimizer_hints.is_empty() {
        return Err(unsupported("optimizer hints"));
    }
    Ok(())
}

impl QueryRewriter<'_> {
    pub(super) fn rewrite_delete(
        &mut self,
        delete: &mut Delete,
    ) -> Result<StatementPlan, RewriteError> {
        check_delete(delete)?;
        let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &mut delete.from;
        let [only] = from.as_mut_slice() else {
            return Err(unsupported("DELETE from more than one table"));
        };
        if !only.joins.is_empty() {
            return Err(unsupported("joins in the DELETE target (use `USING`)"));
        }
        let TableFactor::Table {
            name, alias, args, ..
        } = &only.relation
        else {
            return Err(unsupported("a DELETE target that is not a table"));
        };
        if args.is_some() || alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
            return Err(unsupported(
                "a DELETE target with arguments or column aliases",
            ));
        }
        let target = self.target(name, alias.as_ref().map(|a| &a.name))?;
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| unsupported("a DELETE target out of range"))?;
        let columns = &table.columns;
        let reads = delete.returning.is_some()
            || delete
                .selection
                .as_ref()
                .is_some_and(|w| names_target_column(w, columns, &target, self.dialect));
        if let Some(using) = &mut delete.using {
            self.rewrite_clause(using)?;
        }
        if let Some(selection) = &mut delete.selection {
            self.rewrite_clause(selection)?;
        }
        if let Some(returning) = &mut delete.returning {
            self.rewrite_clause(returning)?;
        }
        let policy = self.hiding_predicate(&target, StatementKind::Delete, reads)?;
        delete.selection = self.target_where(&target, policy, delete.selection.take());
        let mut plan = StatementPlan::none(PlanKind::Delete, None);
        if let Some(returning) = &delete.returning {
            plan.user_columns = returning.len();
            plan.had_returning = true;
        }
        if self.row_images {
            let (items, names) = self.image_items(&target)?;
            delete.returning.get_or_insert_with(Vec::new).extend(items);
            plan.image_columns = names;
        }
        plan.table = Some(target.name);
        Ok(plan)
    }
}
