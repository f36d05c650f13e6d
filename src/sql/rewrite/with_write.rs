//! `WITH s AS (SELECT …) {UPDATE | DELETE | INSERT} …`: the WITH items'
//! bodies are rewritten as queries, then the write as on its own, its
//! clauses seeing the items. Writes inside WITH items stay refused (by the
//! query rewriter), and so does an item named like a declared table, which
//! would stand in for the table in the policies the rewrite adds.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, SetExpr, Statement, VisitMut};

use super::error::RewriteError;
use super::plan::StatementPlan;
use super::query::QueryRewriter;
use super::scope::{fold, fold_declared, Frame};

/// Whether `query` is a write with a WITH on top.
pub(super) fn is_write(query: &Query) -> bool {
    matches!(
        query.body.as_ref(),
        SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Insert(_)
    )
}

fn unsupported(construct: &str) -> RewriteError {
    RewriteError::Unsupported {
        construct: construct.into(),
    }
}

impl QueryRewriter<'_> {
    pub(super) fn rewrite_write_under_with(
        &mut self,
        query: &mut Query,
    ) -> Result<StatementPlan, RewriteError> {
        if query.order_by.is_some()
            || query.limit_clause.is_some()
            || query.fetch.is_some()
            || !query.locks.is_empty()
            || !query.pipe_operators.is_empty()
            || query.for_clause.is_some()
            || query.settings.is_some()
            || query.format_clause.is_some()
        {
            return Err(unsupported(
                "`ORDER BY`, `LIMIT`, locking, pipe operators, `FOR XML`, `SETTINGS` or \
                 `FORMAT` on a write",
            ));
        }
        let names: Vec<String> = query
            .with
            .iter()
            .flat_map(|with| &with.cte_tables)
            .map(|cte| fold(&cte.alias.name, self.dialect))
            .collect();
        if let Some(table) = self.set.tables.iter().find(|t| {
            t.name.schema.is_none() && names.contains(&fold_declared(&t.name.name, self.dialect))
        }) {
            return Err(RewriteError::CteHidesPolicyTable {
                cte: table.name.name.clone(),
                table: table.name.name.clone(),
                reader: "the statement's tables".into(),
            });
        }
        // The items' bodies, in order, as in a query.
        self.frames.push(Frame::enter(None, query, self.dialect));
        let mut flow = ControlFlow::Continue(());
        if let Some(with) = &mut query.with {
            for cte in &mut with.cte_tables {
                flow = cte.query.visit(self);
                if flow.is_break() {
                    break;
                }
            }
        }
        self.frames.pop();
        if let ControlFlow::Break(e) = flow {
            return Err(e);
        }
        self.write_with = names;
        let plan = match query.body.as_mut() {
            SetExpr::Update(Statement::Update(update)) => self.rewrite_update(update),
            SetExpr::Delete(Statement::Delete(delete)) => self.rewrite_delete(delete),
            SetExpr::Insert(Statement::Insert(insert)) => self.rewrite_insert(insert),
            _ => Err(unsupported("this statement under WITH")),
        };
        self.write_with.clear();
        plan
    }
}
