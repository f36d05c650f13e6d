//! Specialisation: replaces context fields whose values are known (a tenant's,
//! or a whole request's) by literals and folds constants with three-valued
//! logic, as PostgreSQL's planner folds constants.

use crate::lang::model::{TExpr, TExprKind, Value};
use crate::lang::BinaryOp;

use super::interp::{eval, Env};
use super::EvalError;

/// Known context values, indexed as [`crate::lang::model::PolicySet::context`];
/// `None` stays a run-time input.
pub type KnownContext = [Option<Value>];

/// `expr` with every known context field folded in and constants evaluated,
/// the way PostgreSQL's planner folds them (`eval_const_expressions`): a
/// subtree of constants is evaluated, so its error is raised here; `and` /
/// `or` are scanned left to right and a constant `false` / `true` decides
/// without looking further. Evaluating the result row by row, left to right,
/// is then what PostgreSQL does with the same SQL.
pub fn specialise(expr: &TExpr, known: &KnownContext) -> Result<TExpr, EvalError> {
    let kind = match &expr.kind {
        TExprKind::Context(i) => match known.get(*i) {
            Some(Some(v)) => TExprKind::Literal(v.clone()),
            _ => expr.kind.clone(),
        },
        TExprKind::Literal(_) | TExprKind::Column(_) | TExprKind::ExistsColumn { .. } => {
            expr.kind.clone()
        }
        TExprKind::Not(e) => TExprKind::Not(Box::new(specialise(e, known)?)),
        TExprKind::Neg(e) => TExprKind::Neg(Box::new(specialise(e, known)?)),
        TExprKind::IntToFloat(e) => TExprKind::IntToFloat(Box::new(specialise(e, known)?)),
        TExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), l, r) => {
            return fold_logic(*op, l, r, expr, known);
        }
        TExprKind::Binary(op, l, r) => TExprKind::Binary(
            *op,
            Box::new(specialise(l, known)?),
            Box::new(specialise(r, known)?),
        ),
        // An empty list is emitted as the constant `false` (`true` negated),
        // which PostgreSQL and SQLite fold without the operand: decided here
        // the same way, so an operand that would fail is never evaluated.
        TExprKind::InList { items, negated, .. } if items.is_empty() => {
            TExprKind::Literal(Value::Bool(*negated))
        }
        TExprKind::InList {
            expr: x,
            items,
            negated,
        } => TExprKind::InList {
            expr: Box::new(specialise(x, known)?),
            items: items
                .iter()
                .map(|i| specialise(i, known))
                .collect::<Result<_, _>>()?,
            negated: *negated,
        },
        TExprKind::InSet {
            expr: x,
            set,
            negated,
        } => {
            let x = specialise(x, known)?;
            let set = specialise(set, known)?;
            match &set.kind {
                // Emitted as a constant: decided without the operand.
                TExprKind::Literal(Value::TextSet(s)) if s.is_empty() => {
                    TExprKind::Literal(Value::Bool(*negated))
                }
                TExprKind::Literal(Value::IntSet(s)) if s.is_empty() => {
                    TExprKind::Literal(Value::Bool(*negated))
                }
                _ => TExprKind::InSet {
                    expr: Box::new(x),
                    set: Box::new(set),
                    negated: *negated,
                },
            }
        }
        TExprKind::IsNull { expr: x, negated } => TExprKind::IsNull {
            expr: Box::new(specialise(x, known)?),
            negated: *negated,
        },
        TExprKind::Like {
            expr: x,
            pattern,
            negated,
        } => TExprKind::Like {
            expr: Box::new(specialise(x, known)?),
            pattern: Box::new(specialise(pattern, known)?),
            negated: *negated,
        },
        TExprKind::Call(f, args) => TExprKind::Call(
            *f,
            args.iter()
                .map(|a| specialise(a, known))
                .collect::<Result<_, _>>()?,
        ),
        TExprKind::Exists { table, alias, cond } => {
            let cond = specialise(cond, known)?;
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

/// Evaluates a node whose operands are all literals; a strict node with a
/// `null` operand is `null` whatever the others are.
fn fold_constant(expr: TExpr) -> Result<TExpr, EvalError> {
    if strict_with_null(&expr.kind) {
        return Ok(TExpr {
            kind: TExprKind::Literal(Value::Null),
            ty: expr.ty,
            span: expr.span,
        });
    }
    let operands_constant = expr
        .kind
        .children()
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
        return Ok(expr);
    }
    let env = Env {
        row: &[],
        context: &[],
    };
    let value = eval(&expr, &env)?;
    Ok(TExpr {
        kind: TExprKind::Literal(value),
        ty: expr.ty,
        span: expr.span,
    })
}

/// PostgreSQL's planner replaces a call of a strict function or operator
/// with a constant `null` operand by `null` without evaluating the others
/// (`simplify_function`), so `(amount / 0) = NULL` is null, not an error.
/// `x in [a, …]` with a null `x` is strict too (`= ANY` of the items, or
/// `x = a OR …` for items that read columns); an empty list is a constant.
fn strict_with_null(kind: &TExprKind) -> bool {
    let null = |e: &TExpr| e.kind == TExprKind::Literal(Value::Null);
    match kind {
        TExprKind::Binary(BinaryOp::And | BinaryOp::Or, _, _) => false,
        TExprKind::Binary(_, l, r) => null(l) || null(r),
        TExprKind::Neg(e) | TExprKind::IntToFloat(e) => null(e),
        TExprKind::Like { expr, pattern, .. } => null(expr) || null(pattern),
        TExprKind::Call(_, args) => args.iter().any(null),
        TExprKind::InList { expr, items, .. } => !items.is_empty() && null(expr),
        _ => false,
    }
}

/// `and` / `or`: the left operand first; a deciding constant (`false` for
/// `and`, `true` for `or`) ends the scan; the other constant drops out.
fn fold_logic(
    op: BinaryOp,
    l: &TExpr,
    r: &TExpr,
    whole: &TExpr,
    known: &KnownContext,
) -> Result<TExpr, EvalError> {
    let deciding = op == BinaryOp::Or;
    let constant = |v: Value| TExpr {
        kind: TExprKind::Literal(v),
        ty: whole.ty,
        span: whole.span,
    };
    let l = specialise(l, known)?;
    if is_bool(&l, deciding) {
        return Ok(constant(Value::Bool(deciding)));
    }
    let r = specialise(r, known)?;
    if is_bool(&r, deciding) {
        return Ok(constant(Value::Bool(deciding)));
    }
    if is_bool(&l, !deciding) {
        return Ok(r);
    }
    if is_bool(&r, !deciding) {
        return Ok(l);
    }
    fold_constant(TExpr {
        kind: TExprKind::Binary(op, Box::new(l), Box::new(r)),
        ty: whole.ty,
        span: whole.span,
    })
}

fn is_bool(e: &TExpr, b: bool) -> bool {
    e.kind == TExprKind::Literal(Value::Bool(b))
}

/// Whether evaluating `e` could raise an error (overflow, division by zero,
/// a bad `like` pattern): such an operand must not be skipped or reordered.
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
    here || e.kind.children().into_iter().any(can_fail)
}
