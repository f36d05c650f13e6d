//! Walking syntax trees: small helpers shared by the parser and formatter.

use super::ast::{Expr, ExprKind, InSet, Span};

/// Calls `f` on every span inside an expression, children first.
pub fn walk_spans_mut(expr: &mut Expr, f: &mut impl FnMut(&mut Span)) {
    for child in children_mut(&mut expr.kind) {
        walk_spans_mut(child, f);
    }
    match &mut expr.kind {
        ExprKind::Column(i) => f(&mut i.span),
        ExprKind::Context(_, i) => f(&mut i.span),
        ExprKind::Qualified(a, b) => {
            f(&mut a.span);
            f(&mut b.span);
        }
        ExprKind::Call { func, .. } => f(&mut func.span),
        ExprKind::Exists { table, alias, .. } => {
            f(&mut table.span);
            f(&mut table.name.span);
            if let Some(s) = &mut table.schema {
                f(&mut s.span);
            }
            if let Some(a) = alias {
                f(&mut a.span);
            }
        }
        _ => {}
    }
    f(&mut expr.span);
}

/// The direct sub-expressions of an expression.
pub fn children(kind: &ExprKind) -> Vec<&Expr> {
    match kind {
        ExprKind::Literal(_)
        | ExprKind::Column(_)
        | ExprKind::Context(..)
        | ExprKind::Qualified(..) => Vec::new(),
        ExprKind::Unary(_, e) => vec![e],
        ExprKind::Binary(_, l, r) => vec![l, r],
        ExprKind::In { expr, set, .. } => {
            let mut v: Vec<&Expr> = vec![expr];
            match set {
                InSet::List(items) => v.extend(items.iter()),
                InSet::Expr(e) => v.push(e),
            }
            v
        }
        ExprKind::IsNull { expr, .. } => vec![expr],
        ExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
        ExprKind::Call { args, .. } => args.iter().collect(),
        ExprKind::Exists { cond, .. } => vec![cond],
    }
}

/// The direct sub-expressions of an expression, mutably.
pub fn children_mut(kind: &mut ExprKind) -> Vec<&mut Expr> {
    match kind {
        ExprKind::Literal(_)
        | ExprKind::Column(_)
        | ExprKind::Context(..)
        | ExprKind::Qualified(..) => Vec::new(),
        ExprKind::Unary(_, e) => vec![e],
        ExprKind::Binary(_, l, r) => vec![l, r],
        ExprKind::In { expr, set, .. } => {
            let mut v: Vec<&mut Expr> = vec![expr];
            match set {
                InSet::List(items) => v.extend(items.iter_mut()),
                InSet::Expr(e) => v.push(e),
            }
            v
        }
        ExprKind::IsNull { expr, .. } => vec![expr],
        ExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
        ExprKind::Call { args, .. } => args.iter_mut().collect(),
        ExprKind::Exists { cond, .. } => vec![cond],
    }
}
