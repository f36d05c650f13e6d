//! Specialisation: replaces context fields whose values are known (a tenant's,
//! or a whole request's) by literals and folds constants with three-valued
//! logic, never hiding an error that evaluation would raise.

use crate::lang::model::{TExpr, TExprKind, Value};
use crate::lang::BinaryOp;

use super::interp::{eval, Env};

/// Known context values, indexed as [`crate::lang::model::PolicySet::context`];
/// `None` stays a run-time input.
pub type KnownContext = [Option<Value>];

/// `expr` with every known context field folded in and constants simplified.
pub fn specialise(expr: &TExpr, known: &KnownContext) -> TExpr {
    let kind = match &expr.kind {
        TExprKind::Context(i) => match known.get(*i) {
            Some(Some(v)) => TExprKind::Literal(v.clone()),
            _ => expr.kind.clone(),
        },
        TExprKind::Literal(_) | TExprKind::Column(_) | TExprKind::ExistsColumn { .. } => {
            expr.kind.clone()
        }
        TExprKind::Not(e) => TExprKind::Not(Box::new(specialise(e, known))),
        TExprKind::Neg(e) => TExprKind::Neg(Box::new(specialise(e, known))),
        TExprKind::IntToFloat(e) => TExprKind::IntToFloat(Box::new(specialise(e, known))),
        TExprKind::Binary(BinaryOp::And, l, r) => {
            return fold_and(specialise(l, known), specialise(r, known), expr);
        }
        TExprKind::Binary(BinaryOp::Or, l, r) => {
            return fold_or(specialise(l, known), specialise(r, known), expr);
        }
        TExprKind::Binary(op, l, r) => TExprKind::Binary(
            *op,
            Box::new(specialise(l, known)),
            Box::new(specialise(r, known)),
        ),
        TExprKind::InList {
            expr: x,
            items,
            negated,
        } => TExprKind::InList {
            expr: Box::new(specialise(x, known)),
            items: items.iter().map(|i| specialise(i, known)).collect(),
            negated: *negated,
        },
        TExprKind::InSet {
            expr: x,
            set,
            negated,
        } => TExprKind::InSet {
            expr: Box::new(specialise(x, known)),
            set: Box::new(specialise(set, known)),
            negated: *negated,
        },
        TExprKind::IsNull { expr: x, negated } => TExprKind::IsNull {
            expr: Box::new(specialise(x, known)),
            negated: *negated,
        },
        TExprKind::Like {
            expr: x,
            pattern,
            negated,
        } => TExprKind::Like {
            expr: Box::new(specialise(x, known)),
            pattern: Box::new(specialise(pattern, known)),
            negated: *negated,
        },
        TExprKind::Call(f, args) => {
            TExprKind::Call(*f, args.iter().map(|a| specialise(a, known)).collect())
        }
        TExprKind::Exists { table, alias, cond } => {
            let cond = specialise(cond, known);
            if cond.kind == TExprKind::Literal(Value::Bool(false))
                || cond.kind == TExprKind::Literal(Value::Null)
            {
                // No row of the other table can pass: the subquery is empty.
                TExprKind::Literal(Value::Bool(false))
            } else {
                TExprKind::Exists {
                    table: *table,
                    alias: alias.clone(),
                    cond: Box::new(cond),
                }
            }
        }
    };
    fold_constant(TExpr {
        kind,
        ty: expr.ty,
        span: expr.span,
    })
}

/// Evaluates a node whose operands are all literals, unless that would fail.
fn fold_constant(expr: TExpr) -> TExpr {
    let operands_constant = crate::policy::walk::children(&expr.kind)
        .iter()
        .all(|c| matches!(c.kind, TExprKind::Literal(_)));
    let foldable = !matches!(
        expr.kind,
        TExprKind::Literal(_)
            | TExprKind::Column(_)
            | TExprKind::Context(_)
            | TExprKind::ExistsColumn { .. }
            | TExprKind::Exists { .. }
    );
    if !(operands_constant && foldable) {
        return expr;
    }
    let env = Env {
        row: &[],
        context: &[],
    };
    match eval(&expr, &env) {
        Ok(value) => TExpr {
            kind: TExprKind::Literal(value),
            ty: expr.ty,
            span: expr.span,
        },
        // Keep it: evaluation raises the error at run time, as it should.
        Err(_) => expr,
    }
}

fn is_bool(e: &TExpr, b: bool) -> bool {
    e.kind == TExprKind::Literal(Value::Bool(b))
}

fn fold_and(l: TExpr, r: TExpr, whole: &TExpr) -> TExpr {
    if is_bool(&l, false) || (is_bool(&r, false) && !can_fail(&l)) {
        return with_span(l.clone(), Value::Bool(false), whole);
    }
    if is_bool(&l, true) {
        return r;
    }
    if is_bool(&r, true) {
        return l;
    }
    fold_constant(TExpr {
        kind: TExprKind::Binary(BinaryOp::And, Box::new(l), Box::new(r)),
        ty: whole.ty,
        span: whole.span,
    })
}

fn fold_or(l: TExpr, r: TExpr, whole: &TExpr) -> TExpr {
    if is_bool(&l, true) || (is_bool(&r, true) && !can_fail(&l)) {
        return with_span(l.clone(), Value::Bool(true), whole);
    }
    if is_bool(&l, false) {
        return r;
    }
    if is_bool(&r, false) {
        return l;
    }
    fold_constant(TExpr {
        kind: TExprKind::Binary(BinaryOp::Or, Box::new(l), Box::new(r)),
        ty: whole.ty,
        span: whole.span,
    })
}

fn with_span(mut e: TExpr, v: Value, whole: &TExpr) -> TExpr {
    e.kind = TExprKind::Literal(v);
    e.ty = whole.ty;
    e.span = whole.span;
    e
}

/// Whether evaluating `e` could raise an error (overflow, division by zero,
/// a bad `like` pattern); dropping such an operand would change meaning.
pub fn can_fail(e: &TExpr) -> bool {
    let here = match &e.kind {
        TExprKind::Neg(_) => true,
        TExprKind::Binary(op, _, _) => matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
        ),
        TExprKind::Like { .. } => true,
        _ => false,
    };
    here || crate::policy::walk::children(&e.kind)
        .into_iter()
        .any(can_fail)
}
