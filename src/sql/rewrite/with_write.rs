//! Writes and WITH.
//!
//! `WITH s AS (SELECT …) {UPDATE | DELETE | INSERT} …`: the WITH items'
//! bodies are rewritten as queries, then the write as on its own, its
//! clauses seeing the items.
//!
//! `WITH d AS (DELETE … RETURNING …) SELECT …` (PostgreSQL's
//! data-modifying WITH, top level only, as there): each write inside an
//! item is rewritten first, as on its own, seeing the items before it (all
//! of them under `RECURSIVE`), and is then taken out of the statement while
//! the rest is rewritten (the query walk refuses writes inside a query, as
//! PostgreSQL does below the top level). An item's output is its write's
//! RETURNING, so nothing may be appended to it: its new rows must be
//! checked inside the statement, by guards (`update.rs`, `proposed.rs`),
//! and a write whose rows cannot be is refused, as are row images (change
//! events) and SQLite, which has no writes in WITH.
//!
//! An item named like a declared table is refused wherever a write is
//! involved: it would stand in for the table in the policies the rewrite
//! adds.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, SetExpr, Statement, Values, VisitMut};

use crate::lang::model::PolicySet;
use crate::sql::Dialect;

use super::error::RewriteError;
use super::lend::Lent;
use super::plan::{StatementPlan, WithWrite};
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

/// The clauses a write with WITH on top cannot have.
fn check_write_query(query: &Query) -> Result<(), RewriteError> {
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
    Ok(())
}

/// Refuses WITH items (`names`, folded) named like a declared table.
fn check_hidden_tables(
    set: &PolicySet,
    names: &[String],
    dialect: Dialect,
) -> Result<(), RewriteError> {
    match set
        .tables
        .iter()
        .find(|t| t.name.schema.is_none() && names.contains(&fold_declared(&t.name.name, dialect)))
    {
        Some(table) => Err(RewriteError::CteHidesPolicyTable {
            cte: table.name.name.clone(),
            table: table.name.name.clone(),
            reader: "the statement's tables".into(),
        }),
        None => Ok(()),
    }
}

/// The writes of a statement's WITH items, rewritten and taken out of it.
#[derive(Default)]
pub(super) struct ItemWrites {
    /// Each write's item and its rewritten body.
    bodies: Vec<(usize, SetExpr)>,
    /// What the writes are, for the statement's plan.
    pub writes: Vec<WithWrite>,
    /// What their rewrites borrowed (`lend.rs`).
    pub lent: Lent,
}

impl ItemWrites {
    /// Puts the rewritten writes back into the items they came from.
    pub(super) fn put_back(&mut self, query: &mut Query) {
        let Some(with) = &mut query.with else {
            return;
        };
        for (item, body) in self.bodies.drain(..) {
            if let Some(cte) = with.cte_tables.get_mut(item) {
                *cte.query.body = body;
            }
        }
    }
}

/// What stands in for a write taken out of its WITH item: a body the query
/// walk has nothing to do with.
fn stand_in() -> SetExpr {
    SetExpr::Values(Values {
        explicit_row: false,
        value_keyword: false,
        rows: Vec::new(),
    })
}

/// Rewrites the writes inside the WITH items on top of `query`, each with
/// a rewriter of its own from `make`, and takes them out of it (see the
/// module's documentation); `None` when it has none.
pub(super) fn rewrite_item_writes<'a>(
    query: &mut Query,
    make: &dyn Fn() -> QueryRewriter<'a>,
) -> Result<Option<ItemWrites>, RewriteError> {
    let Some(with) = &mut query.with else {
        return Ok(None);
    };
    if !with.cte_tables.iter().any(|cte| is_write(&cte.query)) {
        return Ok(None);
    }
    let probe = make();
    if probe.dialect == Dialect::Sqlite {
        return Err(unsupported(
            "a write inside a WITH item (SQLite has no data-modifying WITH)",
        ));
    }
    if probe.row_images {
        return Err(unsupported(
            "a write inside a WITH item while change events are on (the images of its rows \
             cannot be returned beside its own RETURNING)",
        ));
    }
    let names: Vec<String> = with
        .cte_tables
        .iter()
        .map(|cte| fold(&cte.alias.name, probe.dialect))
        .collect();
    check_hidden_tables(probe.set, &names, probe.dialect)?;
    let mut taken = ItemWrites::default();
    for (item, cte) in with.cte_tables.iter_mut().enumerate() {
        if !is_write(&cte.query) {
            continue;
        }
        check_write_query(&cte.query)?;
        if cte.query.with.is_some() {
            return Err(unsupported("a WITH inside a WITH item's write"));
        }
        let mut rewriter = make();
        rewriter.in_with_item = true;
        rewriter.write_with = if with.recursive {
            names.clone()
        } else {
            names.get(..item).unwrap_or_default().to_vec()
        };
        let plan = match cte.query.body.as_mut() {
            SetExpr::Update(Statement::Update(update)) => rewriter.rewrite_update(update),
            SetExpr::Delete(Statement::Delete(delete)) => rewriter.rewrite_delete(delete),
            SetExpr::Insert(Statement::Insert(insert)) => rewriter.rewrite_insert(insert),
            _ => Err(unsupported("this statement inside a WITH item")),
        }?;
        let (0, Some(table)) = (plan.appended(), plan.table) else {
            // The writes append nothing inside an item (`in_with_item`).
            return Err(unsupported(
                "a write inside a WITH item that needs RETURNING checks",
            ));
        };
        taken.writes.push(WithWrite {
            kind: plan.kind,
            table,
        });
        taken.lent.extend(rewriter.into_lent());
        let body = std::mem::replace(cte.query.body.as_mut(), stand_in());
        taken.bodies.push((item, body));
    }
    Ok(Some(taken))
}

impl QueryRewriter<'_> {
    pub(super) fn rewrite_write_under_with(
        &mut self,
        query: &mut Query,
    ) -> Result<StatementPlan, RewriteError> {
        check_write_query(query)?;
        let names: Vec<String> = query
            .with
            .iter()
            .flat_map(|with| &with.cte_tables)
            .map(|cte| fold(&cte.alias.name, self.dialect))
            .collect();
        check_hidden_tables(self.set, &names, self.dialect)?;
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
