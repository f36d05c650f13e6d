//! Policy text → syntax tree, expressions: precedence chains, prefix
//! operators (folding `-3` into a literal), tests, calls, `exists`, literals.

use pest::iterators::Pair;

use super::{unquote_string, Builder, Built, Rule, Sized, MAX_EXPR_HEIGHT};
use crate::lang::ast::*;
use crate::lang::diag::Diagnostic;
use crate::lang::scan::MAX_NESTING;

impl Builder<'_> {
    /// Builds an expression; `depth` is the nesting so far (parentheses,
    /// prefix `not` / `-`, lists, calls and `exists`).
    pub(super) fn expr(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let built = match pair.as_rule() {
            Rule::expr => match pair.into_inner().next() {
                Some(p) => self.expr(p, depth)?,
                None => return Err(Diagnostic::error(span, "expected an expression")),
            },
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr => {
                self.chain(pair, depth)?
            }
            Rule::not_expr => self.prefixed(pair, depth, UnaryOp::Not)?,
            Rule::neg_expr => self.prefixed(pair, depth, UnaryOp::Neg)?,
            Rule::cmp_expr => self.comparison(pair, depth)?,
            Rule::paren => {
                let depth = self.deeper(depth, span)?;
                match pair.into_inner().next() {
                    Some(p) => self.expr(p, depth)?,
                    None => return Err(Diagnostic::error(span, "expected an expression")),
                }
            }
            _ => self.atom(pair, depth)?,
        };
        if built.height > MAX_EXPR_HEIGHT {
            return Err(Diagnostic::error(
                span,
                format!(
                    "expression is too long: its tree is more than {MAX_EXPR_HEIGHT} levels tall"
                ),
            ));
        }
        Ok(built)
    }

    fn deeper(&self, depth: u32, span: Span) -> Built<u32> {
        let depth = depth + 1;
        if depth as usize > MAX_NESTING {
            Err(nesting_error(span))
        } else {
            Ok(depth)
        }
    }

    /// `a op b op c …`, left-associative.
    fn chain(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner
            .next()
            .ok_or_else(|| Diagnostic::error(span, "expected an expression"))?;
        let mut acc = self.expr(first, depth)?;
        while let Some(op_pair) = inner.next() {
            let op = binary_op(op_pair.as_str());
            let rhs_pair = inner
                .next()
                .ok_or_else(|| Diagnostic::error(span, "expected an operand"))?;
            let rhs = self.expr(rhs_pair, depth)?;
            let whole = acc.expr.span.to(rhs.expr.span);
            let height = acc.height.max(rhs.height) + 1;
            if height > MAX_EXPR_HEIGHT {
                return Err(Diagnostic::error(
                    whole,
                    format!(
                        "expression is too long: its tree is more than {MAX_EXPR_HEIGHT} levels tall"
                    ),
                ));
            }
            acc = Sized {
                expr: Expr::new(
                    ExprKind::Binary(op, Box::new(acc.expr), Box::new(rhs.expr)),
                    whole,
                ),
                height,
            };
        }
        Ok(acc)
    }

    /// `not not x`, `- - x`: prefix operators then an operand.
    fn prefixed(&self, pair: Pair<'_, Rule>, depth: u32, op: UnaryOp) -> Built<Sized> {
        let mut prefixes = Vec::new();
        let mut operand = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_not | Rule::minus => prefixes.push(self.span(&p)),
                _ => operand = Some(p),
            }
        }
        let mut depth = depth;
        for span in &prefixes {
            depth = self.deeper(depth, *span)?;
        }
        let operand = operand.ok_or_else(|| {
            Diagnostic::error(
                prefixes.last().copied().unwrap_or_default(),
                "expected an operand",
            )
        })?;
        // `-9223372036854775808` is i64::MIN: the digits alone do not fit.
        let mut acc = if op == UnaryOp::Neg
            && operand.as_rule() == Rule::number
            && operand.as_str() == "9223372036854775808"
        {
            let whole = prefixes.pop().unwrap_or_default().to(self.span(&operand));
            Sized {
                expr: Expr::new(ExprKind::Literal(Literal::Int(i64::MIN)), whole),
                height: 1,
            }
        } else {
            self.expr(operand, depth)?
        };
        for span in prefixes.into_iter().rev() {
            let whole = span.to(acc.expr.span);
            acc = match (op, acc.expr.kind) {
                // `-3` is a literal: fold the sign in, which also admits i64::MIN.
                (UnaryOp::Neg, ExprKind::Literal(Literal::Int(i))) if i >= 0 => Sized {
                    expr: Expr::new(ExprKind::Literal(Literal::Int(-i)), whole),
                    height: acc.height,
                },
                (UnaryOp::Neg, ExprKind::Literal(Literal::Float(x))) if x.is_sign_positive() => {
                    Sized {
                        expr: Expr::new(ExprKind::Literal(Literal::Float(-x)), whole),
                        height: acc.height,
                    }
                }
                (op, kind) => Sized {
                    expr: Expr::new(
                        ExprKind::Unary(op, Box::new(Expr::new(kind, acc.expr.span))),
                        whole,
                    ),
                    height: acc.height + 1,
                },
            };
        }
        Ok(acc)
    }

    fn comparison(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner
            .next()
            .ok_or_else(|| Diagnostic::error(span, "expected an expression"))?;
        let lhs = self.expr(first, depth)?;
        let Some(tail) = inner.next() else {
            return Ok(lhs);
        };
        let tail_span = self.span(&tail);
        let whole = lhs.expr.span.to(tail_span);
        let rule = tail.as_rule();
        let parts: Vec<Pair<'_, Rule>> = tail.into_inner().collect();
        let negated = parts.iter().any(|p| p.as_rule() == Rule::negation);
        let lhs_height = lhs.height;
        let lhs = Box::new(lhs.expr);
        if rule == Rule::compare {
            let [op, rhs] = <[Pair<'_, Rule>; 2]>::try_from(parts)
                .map_err(|_| Diagnostic::error(tail_span, "expected a comparison"))?;
            let rhs = self.expr(rhs, depth)?;
            return Ok(Sized {
                height: lhs_height.max(rhs.height) + 1,
                expr: Expr::new(
                    ExprKind::Binary(binary_op(op.as_str()), lhs, Box::new(rhs.expr)),
                    whole,
                ),
            });
        }
        let operand = parts.into_iter().find(|p| {
            !matches!(
                p.as_rule(),
                Rule::negation | Rule::kw_in | Rule::kw_is | Rule::kw_like | Rule::kw_null
            )
        });
        let (kind, height) = match (rule, operand) {
            (Rule::is_test, _) => (ExprKind::IsNull { expr: lhs, negated }, lhs_height + 1),
            (Rule::in_test, Some(p)) if p.as_rule() == Rule::list => {
                let depth = self.deeper(depth, self.span(&p))?;
                let mut items = Vec::new();
                let mut height = lhs_height;
                for item in p.into_inner() {
                    let built = self.expr(item, depth)?;
                    height = height.max(built.height);
                    items.push(built.expr);
                }
                (
                    ExprKind::In {
                        expr: lhs,
                        set: InSet::List(items),
                        negated,
                    },
                    height + 1,
                )
            }
            (Rule::in_test, Some(p)) => {
                let set = self.expr(p, depth)?;
                (
                    ExprKind::In {
                        expr: lhs,
                        set: InSet::Expr(Box::new(set.expr)),
                        negated,
                    },
                    lhs_height.max(set.height) + 1,
                )
            }
            (Rule::like_test, Some(p)) => {
                let pattern = self.expr(p, depth)?;
                (
                    ExprKind::Like {
                        expr: lhs,
                        pattern: Box::new(pattern.expr),
                        negated,
                    },
                    lhs_height.max(pattern.height) + 1,
                )
            }
            _ => return Err(Diagnostic::error(tail_span, "expected an operand")),
        };
        Ok(Sized {
            expr: Expr::new(kind, whole),
            height,
        })
    }

    fn atom(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let leaf = |kind| {
            Ok(Sized {
                expr: Expr::new(kind, span),
                height: 1,
            })
        };
        match pair.as_rule() {
            Rule::kw_null => leaf(ExprKind::Literal(Literal::Null)),
            Rule::kw_true => leaf(ExprKind::Literal(Literal::Bool(true))),
            Rule::kw_false => leaf(ExprKind::Literal(Literal::Bool(false))),
            Rule::number => leaf(ExprKind::Literal(number(pair.as_str(), span)?)),
            Rule::string => leaf(ExprKind::Literal(Literal::Text(unquote_string(
                pair.as_str(),
            )))),
            Rule::timestamp_lit => {
                let text = pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::string)
                    .map(|p| unquote_string(p.as_str()))
                    .unwrap_or_default();
                leaf(ExprKind::Literal(Literal::Timestamp(timestamp(
                    &text, span,
                )?)))
            }
            Rule::reference => match pair.into_inner().next() {
                Some(p) => self.reference(p),
                None => Err(Diagnostic::error(span, "expected a name")),
            },
            Rule::call => {
                let depth = self.deeper(depth, span)?;
                let mut inner = pair.into_inner();
                let func = self.next_ident(&mut inner, span)?;
                let mut args = Vec::new();
                let mut height = 0;
                for a in inner {
                    let built = self.expr(a, depth)?;
                    height = height.max(built.height);
                    args.push(built.expr);
                }
                Ok(Sized {
                    expr: Expr::new(ExprKind::Call { func, args }, span),
                    height: height + 1,
                })
            }
            Rule::exists_expr => {
                let depth = self.deeper(depth, span)?;
                let mut table = None;
                let mut alias = None;
                let mut cond = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::table_name_ref => table = Some(self.table_name(p)?),
                        Rule::alias => {
                            if let Some(i) = p.into_inner().next() {
                                alias = Some(self.ident(i)?);
                            }
                        }
                        Rule::expr => cond = Some(self.expr(p, depth)?),
                        _ => {}
                    }
                }
                let table = table.ok_or_else(|| Diagnostic::error(span, "expected a table"))?;
                let cond =
                    cond.ok_or_else(|| Diagnostic::error(span, "expected a `where` condition"))?;
                Ok(Sized {
                    expr: Expr::new(
                        ExprKind::Exists {
                            table,
                            alias,
                            cond: Box::new(cond.expr),
                        },
                        span,
                    ),
                    height: cond.height + 1,
                })
            }
            other => Err(self.unexpected(&pair, other)),
        }
    }

    fn reference(&self, pair: Pair<'_, Rule>) -> Built<Sized> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let parts: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let kind = match (rule, parts.as_slice()) {
            (Rule::context_ref, [block, field]) => {
                let kind = if block.as_str().eq_ignore_ascii_case("tenant") {
                    ContextKind::Tenant
                } else {
                    ContextKind::Request
                };
                ExprKind::Context(kind, self.ident(field.clone())?)
            }
            (Rule::qualified_ref, [table, column]) => {
                ExprKind::Qualified(self.ident(table.clone())?, self.ident(column.clone())?)
            }
            (Rule::column_ref, [name]) => ExprKind::Column(self.ident(name.clone())?),
            _ => return Err(Diagnostic::error(span, "expected a name")),
        };
        Ok(Sized {
            expr: Expr::new(kind, span),
            height: 1,
        })
    }
}

fn nesting_error(span: Span) -> Diagnostic {
    Diagnostic::error(
        span,
        format!("expression nests more than {MAX_NESTING} levels deep"),
    )
}

fn binary_op(text: &str) -> BinaryOp {
    match text.to_ascii_lowercase().as_str() {
        "or" => BinaryOp::Or,
        "and" => BinaryOp::And,
        "||" => BinaryOp::Concat,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "%" => BinaryOp::Mod,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        _ => BinaryOp::Ge,
    }
}

/// Reads a numeric literal: an int unless it has a `.` or an exponent.
fn number(text: &str, span: Span) -> Built<Literal> {
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Literal::Float(x)),
            _ => Err(Diagnostic::error(
                span,
                format!("number `{text}` is out of range for `float`"),
            )),
        }
    } else {
        match text.parse::<i64>() {
            Ok(i) => Ok(Literal::Int(i)),
            Err(_) => Err(Diagnostic::error(
                span,
                format!("number `{text}` is out of range for `int` (64-bit)"),
            )),
        }
    }
}

/// Reads an RFC 3339 timestamp into microseconds since the epoch.
fn timestamp(text: &str, span: Span) -> Built<i64> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        Diagnostic::error(
            span,
            format!(
                "invalid timestamp `{text}`: {e} (expected RFC 3339, like `2026-01-01T00:00:00Z`)"
            ),
        )
    })?;
    Ok(parsed.timestamp_micros())
}
