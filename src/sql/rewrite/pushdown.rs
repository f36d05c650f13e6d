//! Leakproof user conditions placed where indexes serve them: a `WHERE`
//! conjunct that reads one fenced table only and cannot fail or call
//! anything moves inside that table's policy subquery, and a write's
//! leakproof `WHERE` is AND-ed with its policy instead of guarded by `CASE`.
//! The allow-list is in [`leakproof`]; the rule is in the module doc of
//! `rewrite`.

use sqlparser::ast::{
    self as sql, BinaryOperator, Expr, Ident, JoinOperator, Query, Select, SetExpr, TableFactor,
    UnaryOperator, VisitMut, VisitorMut,
};

use std::ops::ControlFlow;

use crate::lang::model::{Column, Ty};
use crate::sql::emit::nested;
use crate::sql::template::object_name;

use super::fence::{fence_id, find_fence, Fence};
use super::printed::KeptPredicate;
use super::query::QueryRewriter;
use super::scope::{fold, folds_to, names_declared};
use super::target::{guarded_where, Target};

/// What [`QueryRewriter::push_down`] did: the fences whose trees it lent
/// (their ids before and after), and per condition AND-ed after a fence's
/// policy, that fence.
#[derive(Default)]
pub(super) struct Pushed {
    pub lent: Vec<(*const u8, *const u8)>,
    pub moved: Vec<*const u8>,
}

/// How deep [`leakproof`] looks before it answers no.
pub(super) const MAX_LEAKPROOF_DEPTH: usize = 64;

/// A top-level FROM item of one SELECT that is one of its fences.
struct Candidate {
    /// The fence ([`fence_id`]).
    id: *const u8,
    /// Position: `from[i]`, and `joins[j]` or the relation itself.
    from: usize,
    join: Option<usize>,
    /// The reference name (alias), folded.
    reference: String,
    table: usize,
    locked: bool,
    /// Not on the nullable side of an outer join: a `WHERE` condition on
    /// it filters exactly its own rows.
    pushable: bool,
}

/// Where a column reference of a condition points.
pub(super) trait Resolve {
    /// The candidate (its number) and declared column a reference reads.
    fn column(&self, expr: &Expr) -> Option<(usize, &Column)>;

    /// Whether a parameter may be in the condition. A moved condition can
    /// only take numbered ones (`$1`): moving a SQLite `?` would renumber it.
    fn parameter(&self, name: &str) -> bool;

    /// Whether a subquery (`x IN (SELECT …)`, `EXISTS (SELECT …)`) may be
    /// in the condition: only when a whole statement is judged (`unfence.rs`).
    fn sublink(&self, _query: &Query, _depth: usize) -> bool {
        false
    }
}

/// Whether `expr` is on the allow-list of conditions that cannot fail, call
/// a function or depend on anything but the columns it compares with
/// constants: `=`, `<>`, `<`, `<=`, `>`, `>=` between a column of type int,
/// text, bool or timestamp and a literal or parameter (or another column of
/// the same type), `IS [NOT] NULL`, `[NOT] IN (literals)`, `[NOT] BETWEEN
/// literal AND literal`, a bare bool column, and `AND`, `OR`, `NOT` of
/// those; and subqueries where `resolve` allows them. Collects the
/// candidates read into `reads`, where given.
pub(super) fn leakproof(
    expr: &Expr,
    resolve: &dyn Resolve,
    mut reads: Option<&mut Vec<usize>>,
    depth: usize,
) -> bool {
    if depth > MAX_LEAKPROOF_DEPTH {
        return false;
    }
    let mut column = |e: &Expr| match resolve.column(strip(e)) {
        Some((candidate, col)) if allowed_type(col.ty.ty) => {
            if let Some(reads) = reads.as_deref_mut() {
                reads.push(candidate);
            }
            true
        }
        _ => false,
    };
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
            matches!(resolve.column(expr), Some((_, col)) if col.ty.ty == Ty::Bool) && column(expr)
        }
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or => {
                leakproof(left, resolve, reads.as_deref_mut(), depth + 1)
                    && leakproof(right, resolve, reads, depth + 1)
            }
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => {
                // Each side resolved once: a column compared with a constant,
                // or with a column of the same type.
                let side = |e: &Expr| {
                    resolve
                        .column(strip(e))
                        .filter(|(_, c)| allowed_type(c.ty.ty))
                };
                match (side(left), side(right)) {
                    (Some((l, _)), _) if constant(right, resolve) => {
                        if let Some(reads) = reads {
                            reads.push(l);
                        }
                        true
                    }
                    (_, Some((r, _))) if constant(left, resolve) => {
                        if let Some(reads) = reads {
                            reads.push(r);
                        }
                        true
                    }
                    (Some((l, lc)), Some((r, rc))) if lc.ty.ty == rc.ty.ty => {
                        if let Some(reads) = reads {
                            reads.extend([l, r]);
                        }
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        },
        Expr::Nested(inner) => leakproof(inner, resolve, reads, depth + 1),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => leakproof(expr, resolve, reads, depth + 1),
        Expr::IsNull(e) | Expr::IsNotNull(e) => column(e),
        Expr::In {
            expr,
            target: sql::InTarget::List(list),
            global: false,
            ..
        } => !list.is_empty() && list.iter().all(|e| constant(e, resolve)) && column(expr),
        Expr::Between {
            expr, low, high, ..
        } => constant(low, resolve) && constant(high, resolve) && column(expr),
        Expr::In {
            expr,
            target: sql::InTarget::Subquery(query),
            global: false,
            ..
        } => resolve.sublink(query, depth + 1) && column(expr),
        Expr::Exists { subquery, .. } => resolve.sublink(subquery, depth + 1),
        _ => false,
    }
}

pub(super) fn allowed_type(ty: Ty) -> bool {
    matches!(ty, Ty::Int | Ty::Text | Ty::Bool | Ty::Timestamp)
}

pub(super) fn strip(mut expr: &Expr) -> &Expr {
    while let Expr::Nested(inner) = expr {
        expr = inner;
    }
    expr
}

/// A literal number, string, boolean or null, or a parameter: its value
/// does not depend on the row (a bad literal fails while planning, on no row).
fn constant(expr: &Expr, resolve: &dyn Resolve) -> bool {
    match strip(expr) {
        Expr::Value(v) => match &v.value {
            sql::Value::Number(..)
            | sql::Value::SingleQuotedString(_)
            | sql::Value::Boolean(_)
            | sql::Value::Null => true,
            sql::Value::Placeholder(name) => resolve.parameter(name),
            _ => false,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => matches!(strip(expr), Expr::Value(v) if matches!(v.value, sql::Value::Number(..))),
        _ => false,
    }
}

/// The conjuncts of `expr` in place, in the order [`conjuncts`] gives them.
fn conjunct_refs(expr: &Expr) -> Vec<&Expr> {
    and_leaves(expr, |e| match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => Node::And(&**left, &**right),
        other => Node::Leaf(other),
    })
}

/// The conjuncts of an `AND` chain, in order.
fn conjuncts(expr: Expr) -> Vec<Expr> {
    and_leaves(expr, |e| match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => Node::And(*left, *right),
        other => Node::Leaf(other),
    })
}

/// A node of an `AND` chain: its two sides, or a leaf.
enum Node<T> {
    And(T, T),
    Leaf(T),
}

/// The leaves of an `AND` chain, left to right, found iteratively (chains
/// can be long): `split` tells an `AND` from a leaf.
fn and_leaves<T>(root: T, split: impl Fn(T) -> Node<T>) -> Vec<T> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match split(node) {
            Node::And(left, right) => {
                stack.push(right);
                stack.push(left);
            }
            Node::Leaf(leaf) => out.push(leaf),
        }
    }
    out
}

/// `left AND right`, `right` parenthesised only where it binds more loosely.
fn and(left: Expr, right: Expr) -> Expr {
    super::flat::and(left, super::flat::loosest(right))
}

/// Which candidates are pushable, per the join operators of one FROM item:
/// the first relation unless a later join can null it, a joined relation
/// only when inner-joined. Any other join kind leaves the whole item alone.
fn pushable_positions(joins: &[sql::Join]) -> Option<(bool, Vec<bool>)> {
    let mut joined = Vec::with_capacity(joins.len());
    for join in joins {
        match &join.join_operator {
            JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_) => {
                joined.push(true);
            }
            JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => joined.push(false),
            _ => return None,
        }
    }
    // A RIGHT or FULL join (refused above) is what could null the first relation.
    Some((true, joined))
}

struct SelectColumns<'a> {
    rewriter: &'a QueryRewriter<'a>,
    candidates: &'a [Candidate],
    /// Every top-level FROM item is a fence, so an unqualified name that one
    /// of them declares is that one's column.
    unqualified: bool,
}

impl Resolve for SelectColumns<'_> {
    fn column(&self, expr: &Expr) -> Option<(usize, &Column)> {
        let dialect = self.rewriter.dialect;
        let lookup = |candidate: &Candidate, name: &Ident| {
            self.rewriter
                .set
                .tables
                .get(candidate.table)?
                .columns
                .iter()
                .find(|c| names_declared(name, &c.name, dialect))
        };
        match expr {
            Expr::CompoundIdentifier(parts) => {
                let [qualifier, name] = parts.as_slice() else {
                    return None;
                };
                let (i, candidate) = self
                    .candidates
                    .iter()
                    .enumerate()
                    .find(|(_, c)| folds_to(qualifier, &c.reference, dialect))?;
                lookup(candidate, name).map(|col| (i, col))
            }
            Expr::Identifier(name) if self.unqualified => {
                let mut found = self
                    .candidates
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| lookup(c, name).map(|col| (i, col)));
                let first = found.next()?;
                found.next().is_none().then_some(first)
            }
            _ => None,
        }
    }

    fn parameter(&self, name: &str) -> bool {
        self.rewriter.dialect == crate::sql::Dialect::Postgres && name.starts_with('$')
    }
}

/// The target of a write: its unqualified columns and those qualified by
/// its reference name.
struct TargetColumns<'a> {
    rewriter: &'a QueryRewriter<'a>,
    target: &'a Target,
}

impl Resolve for TargetColumns<'_> {
    fn column(&self, expr: &Expr) -> Option<(usize, &Column)> {
        let dialect = self.rewriter.dialect;
        let name = match expr {
            Expr::Identifier(name) => name,
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [qualifier, name] if folds_to(qualifier, &self.target.reference, dialect) => name,
                _ => return None,
            },
            _ => return None,
        };
        self.rewriter
            .set
            .tables
            .get(self.target.index)?
            .columns
            .iter()
            .find(|c| names_declared(name, &c.name, dialect))
            .map(|col| (0, col))
    }

    fn parameter(&self, _name: &str) -> bool {
        // The condition stays where it is.
        true
    }
}

/// Points the column references of a moved condition at the table inside
/// the fence: `o.status` → `"orders"."status"`.
struct Requalify<'a> {
    qualifier: &'a [Ident],
    resolve: &'a dyn Resolve,
}

impl VisitorMut for Requalify<'_> {
    type Break = ();
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some((_, col)) = self.resolve.column(expr) {
            let mut parts = self.qualifier.to_vec();
            parts.push(Ident::with_quote('"', col.name.as_str()));
            *expr = Expr::CompoundIdentifier(parts);
        }
        ControlFlow::Continue(())
    }
}

impl<'a> QueryRewriter<'a> {
    /// Moves the leakproof `WHERE` conjuncts of `select` that read one of
    /// its fences (and nothing else) into that fence, each AND-ed after
    /// what is there, the fence's tree lent first; says which fences were
    /// lent (their ids before and after) and which fence each condition
    /// went to.
    pub(super) fn push_down(&self, select: &mut Select, fences: &[Fence]) -> Pushed {
        let mut pushed = Pushed::default();
        let Some(selection) = select.selection.take() else {
            return pushed;
        };
        let (candidates, all_fenced) = self.candidates(select, fences);
        if candidates.is_empty() {
            select.selection = Some(selection);
            return pushed;
        }
        let resolve = SelectColumns {
            rewriter: self,
            candidates: &candidates,
            unqualified: all_fenced,
        };
        // Where each conjunct goes, judged in place: a condition with
        // nothing to move is left as it is.
        let targets: Vec<Option<usize>> = conjunct_refs(&selection)
            .iter()
            .map(|part| {
                let mut reads = Vec::new();
                if !leakproof(part, &resolve, Some(&mut reads), 0) {
                    return None;
                }
                match reads.split_first() {
                    Some((first, rest))
                        if rest.iter().all(|r| r == first)
                            && candidates.get(*first).is_some_and(|c| c.pushable) =>
                    {
                        Some(*first)
                    }
                    _ => None,
                }
            })
            .collect();
        if targets.iter().all(Option::is_none) {
            select.selection = Some(selection);
            return pushed;
        }
        // Each fence a condition goes to gets its tree before anything
        // moves; its id changes with it.
        let mut ids: Vec<*const u8> = candidates.iter().map(|c| c.id).collect();
        for (t, (candidate, id)) in candidates.iter().zip(&mut ids).enumerate() {
            if !targets.contains(&Some(t)) {
                continue;
            }
            match self.lend_tree(select, candidate) {
                Some(lent) => {
                    pushed.lent.push((*id, lent));
                    *id = lent;
                }
                None => {
                    select.selection = Some(selection);
                    return pushed;
                }
            }
        }
        let mut kept: Option<Expr> = None;
        let mut moved: Vec<(usize, Expr)> = Vec::new();
        for (mut part, target) in conjuncts(selection).into_iter().zip(targets) {
            match target.and_then(|t| candidates.get(t).map(|c| (t, c))) {
                Some((t, candidate)) => {
                    let qualifier = self.qualifier(candidate.table);
                    let _ = part.visit(&mut Requalify {
                        qualifier: &qualifier,
                        resolve: &resolve,
                    });
                    moved.push((t, part));
                }
                None => {
                    kept = Some(match kept {
                        None => part,
                        Some(acc) => and(acc, part),
                    });
                }
            }
        }
        select.selection = kept;
        for (t, part) in moved {
            let Some(candidate) = candidates.get(t) else {
                continue;
            };
            if let Some(fence) = fence_select(select, candidate.from, candidate.join) {
                fence.selection = Some(match fence.selection.take() {
                    None => part,
                    Some(policy) => {
                        pushed.moved.extend(ids.get(t));
                        Expr::BinaryOp {
                            left: Box::new(nested(policy)),
                            op: BinaryOperator::And,
                            right: Box::new(nested(part)),
                        }
                    }
                });
            }
        }
        pushed
    }

    /// Puts the tree of `candidate`'s policy subquery in place of its text
    /// (or leaves the tree it has); its id after.
    fn lend_tree(&self, select: &mut Select, candidate: &Candidate) -> Option<*const u8> {
        let item = select.from.get_mut(candidate.from)?;
        let relation = match candidate.join {
            None => &mut item.relation,
            Some(j) => &mut item.joins.get_mut(j)?.relation,
        };
        if let TableFactor::Table { alias, .. } = relation {
            let key = (candidate.table, candidate.locked);
            let subquery = self
                .policy_cache
                .read(key, || self.made_read(key.0, key.1))
                .ok()?;
            *relation = TableFactor::Derived {
                lateral: false,
                subquery,
                alias: alias.take(),
                sample: None,
            };
        }
        fence_id(relation)
    }

    /// The table's name as the policy inside its fence reads it.
    fn qualifier(&self, table: usize) -> Vec<Ident> {
        self.set
            .tables
            .get(table)
            .map(|t| object_name(&t.name).0)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.as_ident().cloned())
            .collect()
    }

    /// The fences among the top-level FROM items of `select`, and whether
    /// every top-level item is one.
    fn candidates(&self, select: &Select, fences: &[Fence]) -> (Vec<Candidate>, bool) {
        let mut out = Vec::new();
        let mut all_fenced = true;
        for (i, item) in select.from.iter().enumerate() {
            let positions = pushable_positions(&item.joins);
            let relations = std::iter::once((None, &item.relation)).chain(
                item.joins
                    .iter()
                    .enumerate()
                    .map(|(j, x)| (Some(j), &x.relation)),
            );
            for (join, relation) in relations {
                let Some((fence, alias)) = find_fence(fences, relation) else {
                    all_fenced = false;
                    continue;
                };
                let pushable = match (&positions, join) {
                    (Some((first, _)), None) => *first,
                    (Some((_, joined)), Some(j)) => joined.get(j).copied().unwrap_or(false),
                    (None, _) => false,
                };
                out.push(Candidate {
                    id: fence.id,
                    from: i,
                    join,
                    reference: fold(&alias.name, self.dialect),
                    table: fence.table,
                    locked: fence.locked,
                    pushable,
                });
            }
        }
        (out, all_fenced)
    }

    /// A write's `WHERE`: `policy AND user` when the user's condition is
    /// leakproof over the target, else guarded by `CASE` (see `guarded_where`).
    pub(super) fn target_where(
        &mut self,
        target: &Target,
        policy: Option<KeptPredicate>,
        user: Option<Expr>,
    ) -> Option<Expr> {
        let resolve = TargetColumns {
            rewriter: self,
            target,
        };
        match (policy, user) {
            (Some(policy), Some(user)) if leakproof(&user, &resolve, None, 0) => {
                Some(and(policy.nested(), user))
            }
            (policy, user) => guarded_where(policy, user),
        }
    }
}

/// The SELECT inside the fence at `from[i]` / its `joins[j]`.
fn fence_select(select: &mut Select, from: usize, join: Option<usize>) -> Option<&mut Select> {
    let item = select.from.get_mut(from)?;
    let relation = match join {
        None => &mut item.relation,
        Some(j) => &mut item.joins.get_mut(j)?.relation,
    };
    let TableFactor::Derived { subquery, .. } = relation else {
        return None;
    };
    match subquery.body.as_mut() {
        SetExpr::Select(select) => Some(select),
        _ => None,
    }
}
