//! Random expressions of every form, in the parser's normal form and of
//! bounded depth. Not typed: `1 + 'a'` is fine here, the checker is not.

use arbitrary::{Result, Unstructured};

use super::atoms;
use crate::lang::{BinaryOp, ContextKind, Expr, ExprKind, InSet, Literal, Span, UnaryOp};

const BINARY_OPS: &[BinaryOp] = &[
    BinaryOp::Or,
    BinaryOp::And,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Concat,
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Mod,
];

/// Function names: the built-ins, and any name (calls are not checked here).
const FUNCTIONS: &[&str] = &["lower", "upper", "length", "starts_with"];

/// The most items in a list, arguments in a call.
const MAX_LIST: u8 = 4;

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn boxed(u: &mut Unstructured<'_>, depth: u32) -> Result<Box<Expr>> {
    Ok(Box::new(expr(u, depth)?))
}

/// An expression at most `depth` levels tall (a leaf at depth 0 or when the
/// input runs out).
pub fn expr(u: &mut Unstructured<'_>, depth: u32) -> Result<Expr> {
    let Some(below) = depth.checked_sub(1) else {
        return leaf(u);
    };
    // Choice 0 is a leaf, which is what an exhausted input picks.
    Ok(match u.int_in_range(0u8..=12)? {
        0..=2 => leaf(u)?,
        3 => node(ExprKind::Unary(UnaryOp::Not, boxed(u, below)?)),
        4 => negate(expr(u, below)?),
        5 | 6 => node(ExprKind::Binary(
            *u.choose(BINARY_OPS)?,
            boxed(u, below)?,
            boxed(u, below)?,
        )),
        7 => node(ExprKind::In {
            expr: boxed(u, below)?,
            set: InSet::List(list(u, below)?),
            negated: u.arbitrary()?,
        }),
        8 => node(ExprKind::In {
            expr: boxed(u, below)?,
            set: InSet::Expr(boxed(u, below)?),
            negated: u.arbitrary()?,
        }),
        9 => node(ExprKind::IsNull {
            expr: boxed(u, below)?,
            negated: u.arbitrary()?,
        }),
        10 => node(ExprKind::Like {
            expr: boxed(u, below)?,
            pattern: boxed(u, below)?,
            negated: u.arbitrary()?,
        }),
        11 => call(u, below)?,
        _ => exists(u, below)?,
    })
}

/// A literal or a reference.
pub fn leaf(u: &mut Unstructured<'_>) -> Result<Expr> {
    Ok(node(match u.int_in_range(0u8..=3)? {
        0 => ExprKind::Literal(atoms::literal(u)?),
        1 => ExprKind::Column(atoms::ident(u)?),
        2 => {
            let block = if u.arbitrary()? {
                ContextKind::Tenant
            } else {
                ContextKind::Request
            };
            ExprKind::Context(block, atoms::ident(u)?)
        }
        _ => ExprKind::Qualified(atoms::ident(u)?, atoms::ident(u)?),
    }))
}

/// `-operand` as the parser builds it: the sign folds into a non-negative
/// numeric literal (`-3` is the literal -3), and stays an operator otherwise.
pub fn negate(operand: Expr) -> Expr {
    match operand.kind {
        ExprKind::Literal(Literal::Int(i)) if i >= 0 => node(ExprKind::Literal(Literal::Int(-i))),
        ExprKind::Literal(Literal::Float(x)) if x.is_sign_positive() => {
            node(ExprKind::Literal(Literal::Float(-x)))
        }
        kind => node(ExprKind::Unary(UnaryOp::Neg, Box::new(node(kind)))),
    }
}

fn list(u: &mut Unstructured<'_>, depth: u32) -> Result<Vec<Expr>> {
    let len = u.int_in_range(0..=MAX_LIST)?;
    (0..len).map(|_| expr(u, depth)).collect()
}

fn call(u: &mut Unstructured<'_>, depth: u32) -> Result<Expr> {
    let func = if u.ratio(3u8, 4)? {
        crate::lang::Ident::new(*u.choose(FUNCTIONS)?)
    } else {
        atoms::ident(u)?
    };
    Ok(node(ExprKind::Call {
        func,
        args: list(u, depth)?,
    }))
}

fn exists(u: &mut Unstructured<'_>, depth: u32) -> Result<Expr> {
    let table = atoms::table_name(u)?;
    let alias = if u.ratio(2u8, 3)? {
        Some(atoms::ident(u)?)
    } else {
        None
    };
    Ok(node(ExprKind::Exists {
        table,
        alias,
        cond: boxed(u, depth)?,
    }))
}
