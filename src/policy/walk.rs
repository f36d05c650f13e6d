//! Walking typed expressions: the direct children of a node.

use crate::lang::model::{TExpr, TExprKind};

/// The direct sub-expressions of a typed expression, left to right.
pub fn children(kind: &TExprKind) -> Vec<&TExpr> {
    match kind {
        TExprKind::Literal(_)
        | TExprKind::Column(_)
        | TExprKind::Context(_)
        | TExprKind::ExistsColumn { .. } => Vec::new(),
        TExprKind::Not(e) | TExprKind::Neg(e) | TExprKind::IntToFloat(e) => vec![e],
        TExprKind::Binary(_, l, r) => vec![l, r],
        TExprKind::InList { expr, items, .. } => std::iter::once(&**expr).chain(items).collect(),
        TExprKind::InSet { expr, set, .. } => vec![expr, set],
        TExprKind::IsNull { expr, .. } => vec![expr],
        TExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
        TExprKind::Call(_, args) => args.iter().collect(),
        TExprKind::Exists { cond, .. } => vec![cond],
    }
}
