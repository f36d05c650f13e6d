//! The flat form of a top-level SELECT: where its FROM items are declared
//! tables joined by inner joins only and every condition that could be
//! evaluated beside a policy is leakproof (the rule of `unfence.rs`), each
//! table keeps its place and its policy is AND-ed into the `WHERE`, ahead of
//! the user's condition:
//!
//! ```sql
//! SELECT id FROM orders o WHERE status = 'open'
//! -- becomes
//! SELECT id FROM orders o WHERE ("o"."owner" = 'bob' AND "o"."tenant_id" = 'acme') AND status = 'open'
//! ```
//!
//! That is what the unfenced subquery form means — PostgreSQL and SQLite
//! flatten `(SELECT * FROM t WHERE p) AS o` into the same — written the way
//! a person would: the database plans it without pulling subqueries up, the
//! statement is shorter to print, and no user condition has to be moved
//! into a subquery. With an inner join a row of either side reaches the
//! output only if it passes both the join and the `WHERE`, so where the
//! policy sits among them changes nothing but the order, and the order is
//! free because every condition is leakproof.
//!
//! Outer joins, `LATERAL`, derived tables, WITH, row locks and table
//! functions keep the subquery form, as does a reference name starting
//! with `rampart_` (the names the policies' `exists` subqueries give their
//! tables).

use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, Query, Select, SetExpr, TableFactor,
};

use crate::policy::combine::StatementKind;

use super::error::RewriteError;
use super::query::QueryRewriter;
use super::target::Target;
use super::tenant::HidingKey;
use super::unfence::FlatJudgement;

/// A table reference kept in place, and how its policy names it.
pub(super) struct FlatTable {
    /// The `TableFactor` in the statement (it does not move while the
    /// statement is rewritten).
    pub factor: *const TableFactor,
    /// The declared table (its index).
    pub index: usize,
    /// How the statement names it: its alias, or its declared name.
    pub qualifier: Vec<String>,
}

/// The SELECT of a query without WITH, set operations or row locks.
fn flat_select(query: &Query) -> Option<&Select> {
    if query.with.is_some() || !query.locks.is_empty() {
        return None;
    }
    match query.body.as_ref() {
        SetExpr::Select(select) => Some(select),
        _ => None,
    }
}

/// Whether a join keeps the flat form: an inner or cross join.
fn inner(operator: &JoinOperator) -> bool {
    match operator {
        JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => matches!(
            c,
            JoinConstraint::On(_)
                | JoinConstraint::Using(_)
                | JoinConstraint::Natural
                | JoinConstraint::None
        ),
        _ => false,
    }
}

impl QueryRewriter<'_> {
    /// The table references of `query` that keep their place, when the
    /// statement's query can take the flat form; empty when it cannot.
    /// Judged before anything is rewritten, so the tables are still plain.
    pub(super) fn flat_tables(&mut self, query: &Query) -> Vec<FlatTable> {
        let Some(select) = flat_select(query) else {
            return Vec::new();
        };
        let mut relations = Vec::new();
        for from in &select.from {
            if !from.joins.iter().all(|j| inner(&j.join_operator)) {
                return Vec::new();
            }
            relations.push(&from.relation);
            relations.extend(from.joins.iter().map(|j| &j.relation));
        }
        let plain = relations.iter().all(|relation| {
            matches!(
                relation,
                TableFactor::Table {
                    alias,
                    args: None,
                    with_hints,
                    version: None,
                    with_ordinality: false,
                    partitions,
                    json_path: None,
                    sample: None,
                    index_directives,
                    inheritance: None,
                    ..
                } if with_hints.is_empty()
                    && partitions.is_empty()
                    && index_directives.is_empty()
                    && alias.as_ref().is_none_or(|a| a.columns.is_empty())
            )
        });
        if !plain {
            return Vec::new();
        }
        // The conditions' shape first, then the names: a statement whose
        // shape is refused resolves none.
        let Some(judgement) = FlatJudgement::shape(select) else {
            self.leaky = true;
            return Vec::new();
        };
        let mut resolved = Vec::with_capacity(relations.len());
        for relation in relations {
            let TableFactor::Table { name, alias, .. } = relation else {
                return Vec::new();
            };
            let Ok((index, qualifier, reference)) =
                self.target_parts(name, alias.as_ref().map(|a| &a.name))
            else {
                // Refused by the walk, with its own message, or a name of
                // the rewriter's own (`rampart_…`): the subquery form.
                return Vec::new();
            };
            resolved.push((relation, index, qualifier, reference));
        }
        let items = resolved
            .iter()
            .map(|(_, index, _, reference)| (reference.as_str(), *index));
        // Subqueries in the conditions are judged with every declared
        // table, at any level, taken as a known FROM item (none is
        // rewritten yet).
        self.judging_plain = true;
        let leakproof = judgement.holds(self, items);
        self.judging_plain = false;
        if !leakproof {
            self.leaky = true;
            return Vec::new();
        }
        resolved
            .into_iter()
            .filter(|(_, index, ..)| self.set.tables.get(*index).is_some_and(|t| !t.open))
            .map(|(relation, index, qualifier, _)| FlatTable {
                factor: relation,
                index,
                qualifier,
            })
            .collect()
    }

    /// Whether `factor` is one of the statement's flat tables.
    pub(super) fn is_flat(&self, factor: &TableFactor) -> bool {
        self.flat.iter().any(|f| std::ptr::eq(f.factor, factor))
    }

    /// AND-s the flat tables' policies into the `WHERE` of the statement's
    /// SELECT, in FROM order, ahead of the user's condition:
    /// `p1 AND p2 AND (user)`. Each policy is made once per tenant and
    /// reference name, and lent (`lend.rs` takes it back).
    pub(super) fn add_flat_policies(&mut self, query: &mut Query) -> Result<(), RewriteError> {
        let flat = std::mem::take(&mut self.flat);
        let SetExpr::Select(select) = query.body.as_mut() else {
            return Ok(());
        };
        let mut policies: Option<Expr> = None;
        for FlatTable {
            index, qualifier, ..
        } in flat
        {
            let key: HidingKey = (index, StatementKind::Select, true);
            let made = self.policy_cache.hiding(key, &qualifier, || {
                let target = Target {
                    index,
                    name: self
                        .set
                        .tables
                        .get(index)
                        .map_or_else(String::new, |t| t.name.to_string()),
                    qualifier: qualifier.clone(),
                    reference: String::new(),
                };
                self.make_hiding_predicate(&target, StatementKind::Select, true)
            })?;
            let Some(policy) = made else {
                continue;
            };
            policies = Some(match policies {
                None => policy.nested(),
                Some(acc) => and(acc, policy.nested()),
            });
        }
        if let Some(policies) = policies {
            select.selection = Some(match select.selection.take() {
                Some(user) => and(policies, loosest(user)),
                None => policies,
            });
        }
        Ok(())
    }
}

/// The user's condition as the right side of `AND`: parenthesised only where
/// it binds more loosely (`OR`, `XOR`); everything else binds at least as
/// tightly as `AND` in PostgreSQL and SQLite.
pub(super) fn loosest(user: Expr) -> Expr {
    match user {
        e @ Expr::BinaryOp {
            op: BinaryOperator::Or | BinaryOperator::Xor,
            ..
        } => Expr::Nested(Box::new(e)),
        e => e,
    }
}

pub(super) fn and(left: Expr, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    }
}
