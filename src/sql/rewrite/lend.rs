//! Giving kept policy parts back once a statement is printed: the policy
//! subqueries, hiding predicate and RETURNING checks a statement borrowed
//! from the `PolicyCache` are taken out of it, undone where the rewrite
//! changed them (conditions moved into a fence, a fence dropped), and kept
//! for the next statement if they equal what was made.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, Query, SetExpr, Statement, TableFactor, VisitMut, VisitorMut,
};

use super::pushdown::Fence;
use super::tenant::{ChecksKey, HidingKey, PolicyCache};

/// What one statement borrowed: its fences, the hiding predicate in its
/// `WHERE`, and the check items at the end of its RETURNING (how many).
#[derive(Debug, Default)]
pub(super) struct Lent {
    pub fences: Vec<Fence>,
    pub hiding: Option<HidingKey>,
    pub checks: Option<(ChecksKey, usize)>,
}

/// Takes what `statement` borrowed out of it (it is only dropped after)
/// and gives it back to `cache`.
pub(super) fn give_back(cache: &PolicyCache, statement: &mut Statement, lent: Lent) {
    if let Some(key) = &lent.hiding {
        let selection = match statement {
            Statement::Update(update) => update.selection.take(),
            Statement::Delete(delete) => delete.selection.take(),
            _ => None,
        };
        if let Some(selection) = selection {
            cache.give_back_hiding(key, selection, take_conjunct);
        }
    }
    if let Some((key, count)) = &lent.checks {
        let returning = match statement {
            Statement::Update(update) => update.returning.as_mut(),
            Statement::Insert(insert) => insert.returning.as_mut(),
            _ => None,
        };
        if let Some(returning) = returning {
            if let Some(start) = returning.len().checked_sub(*count) {
                cache.give_back_checks(key, returning.split_off(start));
            }
        }
    }
    for (fence, query) in take_fences(statement, &lent.fences) {
        cache.give_back_read((fence.table, fence.locked), query, restore_read);
    }
}

/// `original` out of `expr`, where conditions were AND-ed after it (moved
/// into a fence, or a write's own `WHERE`): `expr` itself, or found down
/// the left sides of `AND`s and through parentheses.
fn take_conjunct(mut expr: Expr, original: &Expr) -> Option<Expr> {
    loop {
        if expr == *original {
            return Some(expr);
        }
        expr = match expr {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                ..
            } => *left,
            Expr::Nested(inner) => *inner,
            _ => return None,
        };
    }
}

/// A policy subquery as it was made: its fence back (`unfence.rs` may have
/// dropped it) and its policy without the conditions moved in.
fn restore_read(mut query: Box<Query>, original: &Query) -> Option<Box<Query>> {
    query.limit_clause.clone_from(&original.limit_clause);
    if let (SetExpr::Select(select), SetExpr::Select(made)) =
        (query.body.as_mut(), original.body.as_ref())
    {
        if let (Some(selection), Some(policy)) = (select.selection.take(), &made.selection) {
            select.selection = Some(take_conjunct(selection, policy)?);
        }
    }
    Some(query)
}

/// Takes the fences out of `statement`: those among the FROM items of a
/// top-level SELECT directly, any others by walking it.
fn take_fences(statement: &mut Statement, fences: &[Fence]) -> Vec<(Fence, Box<Query>)> {
    let mut taker = Taker {
        fences,
        taken: Vec::with_capacity(fences.len()),
    };
    if fences.is_empty() {
        return taker.taken;
    }
    if let Statement::Query(query) = statement {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for from in &mut select.from {
                taker.take(&mut from.relation);
                for join in &mut from.joins {
                    taker.take(&mut join.relation);
                }
            }
        }
    }
    if taker.taken.len() < fences.len() {
        let _ = statement.visit(&mut taker);
    }
    taker.taken
}

struct Taker<'a> {
    fences: &'a [Fence],
    taken: Vec<(Fence, Box<Query>)>,
}

impl Taker<'_> {
    /// Takes the subquery of `factor` if it is a fence, leaving an empty
    /// table reference in its place (nothing below it is walked).
    fn take(&mut self, factor: &mut TableFactor) {
        let TableFactor::Derived { subquery, .. } = factor else {
            return;
        };
        let Some(fence) = self
            .fences
            .iter()
            .find(|f| std::ptr::eq(f.query, &**subquery))
        else {
            return;
        };
        if let TableFactor::Derived { subquery, .. } = std::mem::replace(factor, placeholder()) {
            self.taken.push((*fence, subquery));
        }
    }
}

impl VisitorMut for Taker<'_> {
    type Break = ();
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        self.take(factor);
        ControlFlow::Continue(())
    }
}

/// A table factor that allocates nothing.
fn placeholder() -> TableFactor {
    TableFactor::Table {
        name: ObjectName(Vec::new()),
        alias: None,
        args: None,
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_directives: Vec::new(),
        inheritance: None,
    }
}
