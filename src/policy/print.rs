//! Typed expressions back to policy text: converted to the syntax tree, whose
//! `Display` prints canonical source (for `explain` and test snapshots).

use crate::lang::ast::{Expr, ExprKind, Ident, InSet, Literal, Span, TableName, UnaryOp};
use crate::lang::model::{PolicySet, TExpr, TExprKind, Value};

/// Renders `expr`, a predicate over `table`'s rows, as policy text.
pub fn to_text(set: &PolicySet, table: usize, expr: &TExpr) -> String {
    to_ast(set, table, &mut Vec::new(), expr).to_string()
}

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn column_name(set: &PolicySet, table: usize, column: usize) -> String {
    set.tables
        .get(table)
        .and_then(|t| t.columns.get(column))
        .map_or_else(|| format!("${column}"), |c| c.name.clone())
}

/// `exists` binders in scope: (table, alias) outermost first.
fn to_ast(set: &PolicySet, table: usize, binders: &mut Vec<(usize, String)>, expr: &TExpr) -> Expr {
    let mut sub = |e: &TExpr| Box::new(to_ast(set, table, binders, e));
    let kind = match &expr.kind {
        TExprKind::Literal(v) => return literal(v),
        TExprKind::Column(i) => ExprKind::Column(Ident::new(column_name(set, table, *i))),
        TExprKind::Context(i) => match set.context.get(*i) {
            Some(f) => ExprKind::Context(f.block, Ident::new(f.name.clone())),
            None => ExprKind::Column(Ident::new(format!("$context{i}"))),
        },
        TExprKind::ExistsColumn { level, column } => {
            let (t, alias) = binders
                .get(*level)
                .cloned()
                .unwrap_or((table, "?".to_string()));
            ExprKind::Qualified(Ident::new(alias), Ident::new(column_name(set, t, *column)))
        }
        TExprKind::Not(e) => ExprKind::Unary(UnaryOp::Not, sub(e)),
        TExprKind::Neg(e) => ExprKind::Unary(UnaryOp::Neg, sub(e)),
        // The conversion is implicit in the language.
        TExprKind::IntToFloat(e) => return *sub(e),
        TExprKind::Binary(op, l, r) => ExprKind::Binary(*op, sub(l), sub(r)),
        TExprKind::InList {
            expr: x,
            items,
            negated,
        } => ExprKind::In {
            expr: sub(x),
            set: InSet::List(items.iter().map(|i| *sub(i)).collect()),
            negated: *negated,
        },
        TExprKind::InSet {
            expr: x,
            set: s,
            negated,
        } => {
            let set_part = match &s.kind {
                TExprKind::Literal(Value::TextSet(items)) => InSet::List(
                    items
                        .iter()
                        .map(|t| node(ExprKind::Literal(Literal::Text(t.clone()))))
                        .collect(),
                ),
                TExprKind::Literal(Value::IntSet(items)) => InSet::List(
                    items
                        .iter()
                        .map(|i| node(ExprKind::Literal(Literal::Int(*i))))
                        .collect(),
                ),
                _ => InSet::Expr(sub(s)),
            };
            ExprKind::In {
                expr: sub(x),
                set: set_part,
                negated: *negated,
            }
        }
        TExprKind::IsNull { expr: x, negated } => ExprKind::IsNull {
            expr: sub(x),
            negated: *negated,
        },
        TExprKind::Like {
            expr: x,
            pattern,
            negated,
        } => ExprKind::Like {
            expr: sub(x),
            pattern: sub(pattern),
            negated: *negated,
        },
        TExprKind::Call(f, args) => ExprKind::Call {
            func: Ident::new(f.name()),
            args: args.iter().map(|a| *sub(a)).collect(),
        },
        TExprKind::Exists {
            table: other,
            alias,
            cond,
        } => {
            binders.push((*other, alias.clone()));
            let cond = to_ast(set, table, binders, cond);
            binders.pop();
            let name = set.tables.get(*other).map(|t| t.name.clone());
            let (schema, name) = name.map_or((None, "?".to_string()), |n| (n.schema, n.name));
            let same_as_name = alias == &name;
            ExprKind::Exists {
                table: TableName {
                    schema: schema.map(Ident::new),
                    name: Ident::new(name),
                    span: Span::default(),
                },
                alias: (!same_as_name).then(|| Ident::new(alias.clone())),
                cond: Box::new(cond),
            }
        }
    };
    node(kind)
}

fn literal(v: &Value) -> Expr {
    let lit = |l| node(ExprKind::Literal(l));
    match v {
        Value::Null => lit(Literal::Null),
        Value::Bool(b) => lit(Literal::Bool(*b)),
        Value::Int(i) => lit(Literal::Int(*i)),
        Value::Float(x) => lit(Literal::Float(*x)),
        Value::Text(s) => lit(Literal::Text(s.clone())),
        Value::Timestamp(t) => lit(Literal::Timestamp(*t)),
        // A set on its own only appears as the right side of `in`.
        Value::TextSet(items) => node(ExprKind::Call {
            func: Ident::new("set"),
            args: items
                .iter()
                .map(|t| node(ExprKind::Literal(Literal::Text(t.clone()))))
                .collect(),
        }),
        Value::IntSet(items) => node(ExprKind::Call {
            func: Ident::new("set"),
            args: items
                .iter()
                .map(|i| node(ExprKind::Literal(Literal::Int(*i))))
                .collect(),
        }),
    }
}
