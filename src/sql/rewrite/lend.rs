//! Giving policy subqueries back once a statement is printed: those whose
//! trees a statement borrowed to move conditions into (`pushdown.rs`) are
//! taken out of it, undone (the conditions taken out, a dropped fence put
//! back), and kept for the next statement if they equal what was made.
//! Every other kept part is only ever placed as text (`printed.rs`).

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, Query, SetExpr, Statement, TableFactor, VisitMut, VisitorMut,
};

use super::fence::{fence_id, Fence};
use super::query::QueryRewriter;
use super::tenant::PolicyCache;
use crate::sql::emit::needs_parens;

/// What one statement borrowed: the fences whose trees were lent, and once
/// per condition moved into one, its id.
#[derive(Debug, Default)]
pub(super) struct Lent {
    pub fences: Vec<Fence>,
    pub pushed: Vec<*const u8>,
}

impl QueryRewriter<'_> {
    /// What this rewriter borrowed: its kept write-target parts and the
    /// fences whose trees were lent.
    pub(super) fn into_lent(self) -> Lent {
        let mut lent = self.lent;
        lent.fences = self.all_fences;
        lent.fences.retain(|f| f.lent);
        lent
    }
}

impl Lent {
    /// Adds what another rewrite of the same statement borrowed.
    pub(super) fn extend(&mut self, other: Lent) {
        self.fences.extend(other.fences);
        self.pushed.extend(other.pushed);
    }
}

/// Takes what `statement` borrowed out of it (it is only dropped after)
/// and gives it back to `cache`.
pub(super) fn give_back(cache: &PolicyCache, statement: &mut Statement, lent: Lent) {
    for (fence, query) in take_fences(statement, &lent.fences) {
        let moved_in = lent.pushed.iter().filter(|p| **p == fence.id).count();
        cache.give_back_read((fence.table, fence.locked), query, |query, made| {
            restore_read(query, made, moved_in)
        });
    }
}

/// `original` out of `expr`, where `times` conditions were AND-ed after it
/// one by one (moved into a fence, or a write's own `WHERE`), each time as
/// `nested(what was there) AND …`. The caller compares the result with
/// `original`: this only undoes the shape.
fn strip_conjuncts(mut expr: Expr, times: usize, original: &Expr) -> Option<Expr> {
    for i in (0..times).rev() {
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            ..
        } = expr
        else {
            return None;
        };
        // `nested` parenthesised each left side: an AND at every step but
        // the first, `original` as its shape says.
        let parenthesised = i > 0 || needs_parens(original);
        expr = match (*left, parenthesised) {
            (Expr::Nested(inner), true) => *inner,
            (_, true) => return None,
            (left, false) => left,
        };
    }
    Some(expr)
}

/// A policy subquery as it was made: its fence back (`unfence.rs` may have
/// dropped it) and its policy without the `moved_in` conditions.
fn restore_read(mut query: Box<Query>, original: &Query, moved_in: usize) -> Option<Box<Query>> {
    query.limit_clause.clone_from(&original.limit_clause);
    if moved_in > 0 {
        if let (SetExpr::Select(select), SetExpr::Select(made)) =
            (query.body.as_mut(), original.body.as_ref())
        {
            let (Some(selection), Some(policy)) = (select.selection.take(), &made.selection) else {
                return None;
            };
            select.selection = Some(strip_conjuncts(selection, moved_in, policy)?);
        }
    }
    Some(query)
}

/// Takes the fences out of `statement`, leaving an empty table reference
/// in the place of each (nothing below it is walked).
fn take_fences<'f>(statement: &mut Statement, fences: &'f [Fence]) -> Vec<(&'f Fence, Box<Query>)> {
    let mut taken = Vec::with_capacity(fences.len());
    if fences.is_empty() {
        return taken;
    }
    each_factor(statement, fences.len(), |factor| {
        if !matches!(factor, TableFactor::Derived { .. }) {
            return false;
        }
        let Some(fence) = fence_id(factor).and_then(|id| fences.iter().find(|f| f.id == id)) else {
            return false;
        };
        if let TableFactor::Derived { subquery, .. } = std::mem::replace(factor, placeholder()) {
            taken.push((fence, subquery));
        }
        true
    });
    taken
}

/// Calls `each` on the table factors of `statement` where its fences may
/// be: those among the FROM items of a top-level SELECT directly, then,
/// unless `each` said it found `count` there, every factor by walking the
/// statement.
pub(super) fn each_factor(
    statement: &mut Statement,
    count: usize,
    mut each: impl FnMut(&mut TableFactor) -> bool,
) {
    let mut found = 0;
    if let Statement::Query(query) = statement {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for from in &mut select.from {
                found += usize::from(each(&mut from.relation));
                for join in &mut from.joins {
                    found += usize::from(each(&mut join.relation));
                }
            }
        }
    }
    if found < count {
        let _ = statement.visit(&mut EachFactor(each));
    }
}

struct EachFactor<F>(F);

impl<F: FnMut(&mut TableFactor) -> bool> VisitorMut for EachFactor<F> {
    type Break = ();
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        (self.0)(factor);
        ControlFlow::Continue(())
    }
}

/// A table factor that allocates nothing.
fn placeholder() -> TableFactor {
    super::printed::plain_table(ObjectName(Vec::new()), None)
}
