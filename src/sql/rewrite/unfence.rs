//! Fences dropped where nothing could leak: when every condition of a
//! top-level SELECT that the database could evaluate next to a policy (its
//! `WHERE`, `ON` and `HAVING`, and those of the `IN` / `EXISTS` subqueries in
//! them) is leakproof, its policy subqueries lose their `OFFSET 0`, so the
//! planner flattens them and plans the statement as if the filters were
//! written by hand (index scans driven by joins, `ORDER BY … LIMIT` read
//! from an index).

use sqlparser::ast::{
    Expr, GroupByExpr, Ident, JoinConstraint, JoinOperator, ObjectNamePart, Query, Select,
    SelectItem, SetExpr, TableFactor, VisitMut, VisitorMut,
};

use std::borrow::Cow;
use std::ops::ControlFlow;

use crate::lang::ast::Span;
use crate::lang::model::{Column, DeclaredType, Ty};

use super::fence::{fence_id, find_fence, Fence};
use super::pushdown::{leakproof, strip, Resolve, MAX_LEAKPROOF_DEPTH};
use super::query::QueryRewriter;
use super::scope::{fold, folds_to, idents, names_declared};
use super::table::resolve;

/// A FROM item whose columns are known: a fence or an open declared table.
struct Item<'a> {
    reference: Cow<'a, str>,
    table: usize,
}

/// The FROM items of one SELECT level, and the level around it.
struct Level<'a> {
    rewriter: &'a QueryRewriter<'a>,
    fences: &'a [Fence],
    items: Vec<Item<'a>>,
    parent: Option<&'a Level<'a>>,
}

impl Level<'_> {
    fn lookup(&self, item: &Item<'_>, name: &Ident) -> Option<&Column> {
        let dialect = self.rewriter.dialect;
        self.rewriter
            .set
            .tables
            .get(item.table)?
            .columns
            .iter()
            .find(|c| names_declared(name, &c.name, dialect))
    }
}

impl Resolve for Level<'_> {
    fn column(&self, expr: &Expr) -> Option<(usize, &Column)> {
        match expr {
            Expr::CompoundIdentifier(parts) => {
                let [qualifier, name] = parts.as_slice() else {
                    return None;
                };
                let dialect = self.rewriter.dialect;
                match self
                    .items
                    .iter()
                    .find(|i| folds_to(qualifier, &i.reference, dialect))
                {
                    Some(item) => self.lookup(item, name).map(|c| (0, c)),
                    None => self.parent?.column(expr),
                }
            }
            Expr::Identifier(name) => {
                let mut found = self.items.iter().filter_map(|i| self.lookup(i, name));
                match (found.next(), found.next()) {
                    (Some(col), None) => Some((0, col)),
                    (None, _) => self.parent?.column(expr),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn parameter(&self, _name: &str) -> bool {
        // Nothing moves.
        true
    }

    fn sublink(&self, query: &Query, depth: usize) -> bool {
        let Some(select) = plain_select(query) else {
            return false;
        };
        // The subquery's output is compared (`IN`) or ignored (`EXISTS`):
        // a column, a literal or `*`, nothing that computes.
        let simple_output = match select.projection.as_slice() {
            [SelectItem::Wildcard(_)] => true,
            [SelectItem::UnnamedExpr(e)] => matches!(
                strip(e),
                Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)
            ),
            _ => false,
        };
        simple_output
            && query.order_by.is_none()
            && query.limit_clause.is_none()
            && query.fetch.is_none()
            && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
            && select.having.is_none()
            && select.distinct.is_none()
            && level_is_leakproof(self.rewriter, self.fences, select, Some(self), depth)
    }
}

/// Every column reference taken as one bool column, every parameter and
/// subquery allowed: [`leakproof`] then judges only a condition's shape.
/// It finds leakproof whatever a real resolution does, so a condition it
/// refuses is refused.
struct AnyColumn(Column);

impl Default for AnyColumn {
    fn default() -> Self {
        AnyColumn(Column {
            name: String::new(),
            ty: DeclaredType {
                ty: Ty::Bool,
                nullable: true,
            },
            preset: None,
            span: Span::default(),
        })
    }
}

impl Resolve for AnyColumn {
    fn column(&self, expr: &Expr) -> Option<(usize, &Column)> {
        matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)).then_some((0, &self.0))
    }

    fn parameter(&self, _name: &str) -> bool {
        true
    }

    fn sublink(&self, _query: &Query, _depth: usize) -> bool {
        true
    }
}

/// The SELECT of a query without WITH or set operations.
fn plain_select(query: &Query) -> Option<&Select> {
    if query.with.is_some() {
        return None;
    }
    match query.body.as_ref() {
        SetExpr::Select(select) => Some(select),
        _ => None,
    }
}

/// The conditions of `select` a policy could be evaluated beside: its
/// joins' `ON`, its `WHERE` and its `HAVING`; `None` for a join or join
/// constraint the rule does not know.
fn level_conditions(select: &Select) -> Option<Vec<&Expr>> {
    let mut conditions: Vec<&Expr> = Vec::new();
    for from in &select.from {
        for join in &from.joins {
            let constraint = match &join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c) => c,
                _ => return None,
            };
            match constraint {
                JoinConstraint::On(on) => conditions.push(on),
                JoinConstraint::Using(_) | JoinConstraint::Natural | JoinConstraint::None => {}
                _ => return None,
            }
        }
    }
    conditions.extend(&select.selection);
    conditions.extend(&select.having);
    Some(conditions)
}

/// Whether the conditions' shape is leakproof: one the rule refuses
/// whatever its columns are (a call, `LIKE`, …) is refused before a name
/// is resolved.
fn shapes_leakproof(conditions: &[&Expr], depth: usize) -> bool {
    all_leakproof(conditions, &AnyColumn::default(), depth)
}

/// Whether every one of the conditions of a level at `depth` is leakproof,
/// its columns resolved by `resolve`.
fn all_leakproof(conditions: &[&Expr], resolve: &impl Resolve, depth: usize) -> bool {
    conditions
        .iter()
        .all(|c| leakproof(c, resolve, None, depth + 1))
}

/// Whether every condition of `select` (and its subqueries in them) is
/// leakproof and every FROM item is a fence or an open table.
fn level_is_leakproof(
    rewriter: &QueryRewriter<'_>,
    fences: &[Fence],
    select: &Select,
    parent: Option<&Level<'_>>,
    depth: usize,
) -> bool {
    if depth > MAX_LEAKPROOF_DEPTH {
        return false;
    }
    let Some(conditions) = level_conditions(select) else {
        return false;
    };
    if !shapes_leakproof(&conditions, depth) {
        return false;
    }
    let mut items = Vec::new();
    for from in &select.from {
        let relations =
            std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation));
        for relation in relations {
            match known_item(rewriter, fences, relation) {
                Some(item) => items.push(item),
                None => return false,
            }
        }
    }
    let level = Level {
        rewriter,
        fences,
        items,
        parent,
    };
    all_leakproof(&conditions, &level, depth)
}

/// A fence, an open declared table or a flat one (`flat.rs`; while
/// `judging_plain`, any declared table), with its reference name.
fn known_item(
    rewriter: &QueryRewriter<'_>,
    fences: &[Fence],
    relation: &TableFactor,
) -> Option<Item<'static>> {
    if let Some((fence, alias)) = find_fence(fences, relation) {
        return Some(Item {
            reference: Cow::Owned(fold(&alias.name, rewriter.dialect)),
            table: fence.table,
        });
    }
    match relation {
        TableFactor::Table { name, alias, .. } => {
            if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
                return None;
            }
            let parts = idents(name)?;
            let mut folded: Vec<String> = parts.iter().map(|i| fold(i, rewriter.dialect)).collect();
            let table = resolve(rewriter.set, &folded, rewriter.dialect)?;
            let known = rewriter.set.tables.get(table)?.open
                || rewriter.judging_plain
                || rewriter.is_flat(relation);
            if !known {
                return None;
            }
            let reference = match alias {
                Some(a) => fold(&a.name, rewriter.dialect),
                None => folded.pop()?,
            };
            Some(Item {
                reference: Cow::Owned(reference),
                table,
            })
        }
        _ => None,
    }
}

/// The flat form's judgement (`flat.rs`), in two steps, so that a statement
/// whose conditions' shape is refused resolves no name.
pub(super) struct FlatJudgement<'s> {
    conditions: Vec<&'s Expr>,
}

impl<'s> FlatJudgement<'s> {
    /// The top-level `select`'s conditions, if their shape is leakproof.
    pub(super) fn shape(select: &'s Select) -> Option<Self> {
        let conditions = level_conditions(select)?;
        shapes_leakproof(&conditions, 0).then_some(FlatJudgement { conditions })
    }

    /// Whether every condition (and every subquery in them) is leakproof
    /// with the FROM items `items` (reference name, folded, and declared
    /// table) resolved by the caller.
    pub(super) fn holds<'i>(
        self,
        rewriter: &QueryRewriter<'_>,
        items: impl Iterator<Item = (&'i str, usize)>,
    ) -> bool {
        let level = Level {
            rewriter,
            fences: &[],
            items: items
                .map(|(reference, table)| Item {
                    reference: Cow::Borrowed(reference),
                    table,
                })
                .collect(),
            parent: None,
        };
        all_leakproof(&self.conditions, &level, 0)
    }
}

/// Takes the `OFFSET 0` off a FROM item that is a fence: off its tree, or
/// its text for the one printed without (without walking the policy).
fn unfence_relation(relation: &mut TableFactor, fences: &[Fence]) {
    let Some(fence) = fence_id(relation).and_then(|id| fences.iter().find(|f| f.id == id)) else {
        return;
    };
    match relation {
        TableFactor::Derived { subquery, .. } => subquery.limit_clause = None,
        TableFactor::Table { name, .. } => {
            if let [ObjectNamePart::Identifier(text)] = name.0.as_mut_slice() {
                text.value.clone_from(&fence.text.unfenced);
            }
        }
        _ => {}
    }
}

/// Takes the `OFFSET 0` off every fence it visits.
struct Unfence<'a> {
    fences: &'a [Fence],
}

impl VisitorMut for Unfence<'_> {
    type Break = ();
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        unfence_relation(factor, self.fences);
        ControlFlow::Continue(())
    }
}

impl QueryRewriter<'_> {
    /// Drops the fences of a top-level query whose conditions are all
    /// leakproof: its own FROM items' and those of the subqueries in its
    /// conditions (nothing else is visited).
    pub(super) fn unfence(&self, query: &mut Query) {
        let fences = self.all_fences.as_slice();
        let leakproof =
            plain_select(query).is_some_and(|s| level_is_leakproof(self, fences, s, None, 0));
        let SetExpr::Select(select) = query.body.as_mut() else {
            return;
        };
        if !leakproof {
            return;
        }
        let mut unfence = Unfence { fences };
        for from in &mut select.from {
            unfence_relation(&mut from.relation, fences);
            for join in &mut from.joins {
                unfence_relation(&mut join.relation, fences);
                let (JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c)) = &mut join.join_operator
                else {
                    continue;
                };
                if let JoinConstraint::On(on) = c {
                    let _ = on.visit(&mut unfence);
                }
            }
        }
        if let Some(selection) = &mut select.selection {
            let _ = selection.visit(&mut unfence);
        }
        if let Some(having) = &mut select.having {
            let _ = having.visit(&mut unfence);
        }
    }
}
