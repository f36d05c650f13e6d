//! Typing operators: logic, comparison, arithmetic, `||`, `in`, `is null` and
//! `like`, with `int`→`float` conversion and `null` taking its neighbour's type.

use super::expr::{coerce, ExprChecker, Typed};
use crate::lang::ast::{BinaryOp, Expr, InSet, Span, UnaryOp};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{TExpr, TExprKind, Ty};

fn node(kind: TExprKind, ty: Ty, span: Span) -> Typed {
    Some(TExpr { kind, ty, span })
}

fn binary_node(op: BinaryOp, lhs: TExpr, rhs: TExpr, ty: Ty, span: Span) -> Typed {
    node(
        TExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
        ty,
        span,
    )
}

/// The type two operands meet at: a bare `null` takes the other's type and an
/// `int` beside a `float` becomes a `float`.
fn common_type(lhs: Ty, rhs: Ty) -> Option<Ty> {
    match (lhs, rhs) {
        (Ty::Null, t) | (t, Ty::Null) => Some(t),
        (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Some(Ty::Float),
        (a, b) if a == b => Some(a),
        _ => None,
    }
}

/// Both operands converted to their common type `ty`.
fn both_as(lhs: TExpr, rhs: TExpr, ty: Ty) -> Option<(TExpr, TExpr)> {
    Some((coerce(lhs, ty).ok()?, coerce(rhs, ty).ok()?))
}

impl ExprChecker<'_> {
    pub(super) fn unary(&mut self, op: UnaryOp, operand: &Expr, span: Span) -> Typed {
        let operand = self.expr(operand)?;
        match op {
            UnaryOp::Not => {
                let operand = self.expect(operand, Ty::Bool, "the operand of `not`")?;
                node(TExprKind::Not(Box::new(operand)), Ty::Bool, span)
            }
            UnaryOp::Neg if operand.ty.is_numeric() => {
                let ty = operand.ty;
                node(TExprKind::Neg(Box::new(operand)), ty, span)
            }
            UnaryOp::Neg => self.error(
                operand.span,
                format!(
                    "the operand of `-` must be `int` or `float`, found `{}`",
                    operand.ty
                ),
            ),
        }
    }

    pub(super) fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> Typed {
        let lhs = self.expr(lhs);
        let rhs = self.expr(rhs);
        match op {
            BinaryOp::And | BinaryOp::Or => self.same_operands(op, lhs, rhs, Ty::Bool, span),
            BinaryOp::Concat => self.same_operands(op, lhs, rhs, Ty::Text, span),
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                self.arithmetic(op, lhs, rhs, span)
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => self.comparison(op, lhs?, rhs?, span),
        }
    }

    /// `and`, `or` (on `bool`) and `||` (on `text`): both operands of `ty`.
    fn same_operands(&mut self, op: BinaryOp, lhs: Typed, rhs: Typed, ty: Ty, span: Span) -> Typed {
        let what = format!("operands of `{}`", op.symbol());
        let lhs = lhs.and_then(|l| self.expect(l, ty, &what));
        let rhs = rhs.and_then(|r| self.expect(r, ty, &what));
        binary_node(op, lhs?, rhs?, ty, span)
    }

    fn arithmetic(&mut self, op: BinaryOp, lhs: Typed, rhs: Typed, span: Span) -> Typed {
        let lhs = lhs.and_then(|l| self.numeric_operand(op, l));
        let rhs = rhs.and_then(|r| self.numeric_operand(op, r));
        let (lhs, rhs) = (lhs?, rhs?);
        if lhs.ty == Ty::Null && rhs.ty == Ty::Null {
            return self.error(
                span,
                format!(
                    "cannot tell whether `null {} null` is `int` or `float`",
                    op.symbol()
                ),
            );
        }
        // Both are numbers or `null` by now, so they meet.
        let ty = common_type(lhs.ty, rhs.ty)?;
        let (lhs, rhs) = both_as(lhs, rhs, ty)?;
        binary_node(op, lhs, rhs, ty, span)
    }

    fn numeric_operand(&mut self, op: BinaryOp, operand: TExpr) -> Typed {
        let ok = match operand.ty {
            Ty::Int | Ty::Null => true,
            // PostgreSQL has no `%` for `double precision`.
            Ty::Float => op != BinaryOp::Mod,
            _ => false,
        };
        if ok {
            return Some(operand);
        }
        let wanted = if op == BinaryOp::Mod {
            "`int`"
        } else {
            "`int` or `float`"
        };
        self.error(
            operand.span,
            format!(
                "operands of `{}` must be {wanted}, found `{}`",
                op.symbol(),
                operand.ty
            ),
        )
    }

    fn comparison(&mut self, op: BinaryOp, lhs: TExpr, rhs: TExpr, span: Span) -> Typed {
        if lhs.ty.is_set() || rhs.ty.is_set() {
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!("sets cannot be compared with `{}`", op.symbol()),
                )
                .with_note("help: test membership with `x in set`"),
            );
            return None;
        }
        match common_type(lhs.ty, rhs.ty) {
            Some(ty) => {
                let (lhs, rhs) = both_as(lhs, rhs, ty)?;
                binary_node(op, lhs, rhs, Ty::Bool, span)
            }
            None => {
                self.diags.push(
                    Diagnostic::error(
                        span,
                        format!("cannot compare `{}` with `{}`", lhs.ty, rhs.ty),
                    )
                    .with_related(lhs.span, format!("this is `{}`", lhs.ty))
                    .with_related(rhs.span, format!("this is `{}`", rhs.ty)),
                );
                None
            }
        }
    }

    pub(super) fn membership(
        &mut self,
        expr: &Expr,
        set: &InSet,
        negated: bool,
        span: Span,
    ) -> Typed {
        let expr = self.expr(expr);
        match set {
            InSet::List(items) => {
                let items: Vec<Typed> = items.iter().map(|i| self.expr(i)).collect();
                self.in_list(expr?, items, negated, span)
            }
            InSet::Expr(set) => {
                let set = self.expr(set);
                self.in_set(expr?, set?, negated, span)
            }
        }
    }

    /// `x in [a, b]`: the items and `x` share one type (`int`s become
    /// `float`s when any of them is a `float`).
    fn in_list(&mut self, expr: TExpr, items: Vec<Typed>, negated: bool, span: Span) -> Typed {
        if expr.ty.is_set() {
            return self.error(
                expr.span,
                format!(
                    "the left side of `in` must be a single value, found `{}`",
                    expr.ty
                ),
            );
        }
        let items = items.into_iter().collect::<Option<Vec<_>>>()?;
        let base = std::iter::once(expr.ty)
            .chain(items.iter().map(|i| i.ty))
            .find(|t| *t != Ty::Null)
            .unwrap_or(Ty::Null);
        let any_float = expr.ty == Ty::Float || items.iter().any(|i| i.ty == Ty::Float);
        let target = if base.is_numeric() && any_float {
            Ty::Float
        } else {
            base
        };
        let expr = match coerce(expr, target) {
            Ok(e) => e,
            // Only a set can stand first and not fit: reported as an item below.
            Err(e) => e,
        };
        let mut checked = Vec::new();
        let mut failed = false;
        for item in items {
            match coerce(item, target) {
                Ok(item) if !item.ty.is_set() => checked.push(item),
                Ok(item) | Err(item) => {
                    failed = true;
                    let message = if item.ty.is_set() {
                        format!(
                            "items of an `in` list must be single values, found `{}`",
                            item.ty
                        )
                    } else {
                        format!(
                            "items of this `in` list must be `{target}`, found `{}`",
                            item.ty
                        )
                    };
                    self.diags.push(Diagnostic::error(item.span, message));
                }
            }
        }
        if failed {
            return None;
        }
        node(
            TExprKind::InList {
                expr: Box::new(expr),
                items: checked,
                negated,
            },
            Ty::Bool,
            span,
        )
    }

    /// `x in request.roles`: the set holds `x`'s type.
    fn in_set(&mut self, expr: TExpr, set: TExpr, negated: bool, span: Span) -> Typed {
        let Some(element) = set.ty.element() else {
            return self.error(
                set.span,
                format!(
                    "the right side of `in` must be a list `[…]` or a set, found `{}`",
                    set.ty
                ),
            );
        };
        let expr = match coerce(expr, element) {
            Ok(e) if e.ty == element => e,
            Ok(e) | Err(e) => {
                return self.error(
                    e.span,
                    format!(
                        "membership in a `{}` needs a `{element}` on the left, found `{}`",
                        set.ty, e.ty
                    ),
                )
            }
        };
        node(
            TExprKind::InSet {
                expr: Box::new(expr),
                set: Box::new(set),
                negated,
            },
            Ty::Bool,
            span,
        )
    }

    pub(super) fn is_null(&mut self, expr: &Expr, negated: bool, span: Span) -> Typed {
        let expr = self.expr(expr)?;
        node(
            TExprKind::IsNull {
                expr: Box::new(expr),
                negated,
            },
            Ty::Bool,
            span,
        )
    }

    pub(super) fn like(&mut self, expr: &Expr, pattern: &Expr, negated: bool, span: Span) -> Typed {
        let expr = self.expr(expr);
        let pattern = self.expr(pattern);
        let expr = expr.and_then(|e| self.expect(e, Ty::Text, "operands of `like`"));
        let pattern = pattern.and_then(|p| self.expect(p, Ty::Text, "operands of `like`"));
        node(
            TExprKind::Like {
                expr: Box::new(expr?),
                pattern: Box::new(pattern?),
                negated,
            },
            Ty::Bool,
            span,
        )
    }
}
