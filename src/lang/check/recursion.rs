//! Policies whose `exists` reach back to their own table: PostgreSQL fails
//! such queries with "infinite recursion detected in policy", so we refuse them.

use std::collections::VecDeque;

use crate::lang::ast::{Command, Span};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{Policy, PolicySet, TExpr, TExprKind};

/// Every `exists` in an expression, nested ones included: `(table, span)`.
/// (Expression trees are bounded in height by the parser.)
fn exists_tables(expr: &TExpr, out: &mut Vec<(usize, Span)>) {
    if let TExprKind::Exists { table, .. } = &expr.kind {
        out.push((*table, expr.span));
    }
    for child in expr.kind.children() {
        exists_tables(child, out);
    }
}

/// Whether an expression reads a context field: in native DDL that is a
/// sub-query (`(SELECT current_setting(…))`), as an `exists` is.
fn reads_context(expr: &TExpr) -> bool {
    matches!(expr.kind, TExprKind::Context(_))
        || expr.kind.children().into_iter().any(reads_context)
}

/// Whether a policy becomes a sub-query in native DDL: an `exists`, a
/// context field, or `to` roles (a test on the `roles` setting).
fn has_subquery(policy: &Policy) -> bool {
    let mut read = Vec::new();
    for e in policy.using.iter().chain(policy.check.iter()) {
        exists_tables(e, &mut read);
    }
    policy.roles.is_some()
        || !read.is_empty()
        || policy
            .using
            .iter()
            .chain(policy.check.iter())
            .any(reads_context)
}

/// Reports each policy from which PostgreSQL's expansion of row security
/// would meet its own table again while that table's policies are active.
///
/// A policy on `t` reads each table its `exists` names through that table's
/// SELECT policies, and so on. PostgreSQL fails when it re-enters a table
/// whose SELECT policies contain a sub-query while expanding that same
/// table. In the native DDL every context field is read by a sub-query, so
/// an `exists`, a context field or `to` roles all count; a table whose SELECT
/// policies have none ends the chain. Open tables have no policies, so they
/// end it too.
pub fn check(set: &PolicySet, policies: &[(usize, Policy)], diags: &mut Vec<Diagnostic>) {
    let reads: Vec<Vec<(usize, Span)>> = policies
        .iter()
        .map(|(_, p)| {
            let mut out = Vec::new();
            for e in p.using.iter().chain(p.check.iter()) {
                exists_tables(e, &mut out);
            }
            out
        })
        .collect();
    // table → (table read, policy index), through SELECT policies only.
    let mut select_reads: Vec<Vec<(usize, usize)>> = vec![Vec::new(); set.tables.len()];
    for (index, ((table, policy), read)) in policies.iter().zip(&reads).enumerate() {
        if policy.applies_to(Command::Select) {
            if let Some(edges) = select_reads.get_mut(*table) {
                edges.extend(read.iter().map(|&(to, _)| (to, index)));
            }
        }
    }
    let mut select_subqueries = vec![false; set.tables.len()];
    for (table, policy) in policies {
        if policy.applies_to(Command::Select) && has_subquery(policy) {
            if let Some(flag) = select_subqueries.get_mut(*table) {
                *flag = true;
            }
        }
    }
    for (index, ((table, policy), read)) in policies.iter().zip(&reads).enumerate() {
        let reenters = select_subqueries.get(*table).copied().unwrap_or(false);
        if read.is_empty() || !reenters {
            continue;
        }
        if let Some((span, path)) = find_cycle(*table, index, read, &select_reads) {
            diags.push(Diagnostic::error(
                span,
                format!(
                    "infinite recursion detected in policy `{}` on table `{}`: {}",
                    policy.name,
                    table_name(set, *table),
                    describe(set, policies, *table, &path)
                ),
            ));
        }
    }
}

/// A step of a cycle: the table read, and the policy whose `exists` read it.
type Step = (usize, usize);

/// Breadth-first search from the tables `start`'s `exists` read back to
/// `table`: the span of the first `exists` on the way and the steps taken.
fn find_cycle(
    table: usize,
    start: usize,
    read: &[(usize, Span)],
    select_reads: &[Vec<(usize, usize)>],
) -> Option<(Span, Vec<Step>)> {
    // For each table reached: the step that reached it, from which table, and
    // the `exists` of the starting policy it all began with.
    let mut reached: Vec<Option<(Step, usize, Span)>> = vec![None; select_reads.len()];
    let mut queue = VecDeque::new();
    for &(to, span) in read {
        if to == table {
            return Some((span, vec![(to, start)]));
        }
        if let Some(slot @ None) = reached.get_mut(to) {
            *slot = Some(((to, start), table, span));
            queue.push_back(to);
        }
    }
    while let Some(from) = queue.pop_front() {
        for &(to, policy) in select_reads.get(from).into_iter().flatten() {
            if to == table {
                return Some(unwind(&reached, (to, policy), from));
            }
            let origin = reached_origin(&reached, from);
            if let Some(slot @ None) = reached.get_mut(to) {
                *slot = Some(((to, policy), from, origin));
                queue.push_back(to);
            }
        }
    }
    None
}

fn reached_origin(reached: &[Option<(Step, usize, Span)>], table: usize) -> Span {
    reached
        .get(table)
        .and_then(|r| r.map(|(_, _, origin)| origin))
        .unwrap_or_default()
}

/// The steps from the start to `last` (which reached back from `from`).
fn unwind(reached: &[Option<(Step, usize, Span)>], last: Step, from: usize) -> (Span, Vec<Step>) {
    let mut steps = vec![last];
    let mut at = from;
    // Each table is reached once, so the chain is at most as long as the tables.
    for _ in 0..reached.len() {
        let Some(Some((step, previous, _))) = reached.get(at) else {
            break;
        };
        steps.push(*step);
        if *previous == last.0 {
            break;
        }
        at = *previous;
    }
    steps.reverse();
    (reached_origin(reached, from), steps)
}

fn table_name(set: &PolicySet, table: usize) -> String {
    set.tables
        .get(table)
        .map_or_else(String::new, |t| t.name.to_string())
}

/// "its `exists` reads `a`, whose policy `p` reads `orders` again".
fn describe(set: &PolicySet, policies: &[(usize, Policy)], table: usize, steps: &[Step]) -> String {
    let mut text = String::new();
    for (i, &(to, policy)) in steps.iter().enumerate() {
        if i == 0 {
            text.push_str(&format!("its `exists` reads `{}`", table_name(set, to)));
        } else {
            let name = policies.get(policy).map_or("", |(_, p)| p.name.as_str());
            text.push_str(&format!(
                ", whose policy `{name}` reads `{}`",
                table_name(set, to)
            ));
        }
    }
    if steps.last().is_some_and(|&(to, _)| to == table) {
        text.push_str(" again");
    }
    text
}
