//! Small constructors of `sqlparser` expression nodes (literals, casts,
//! function calls, column references) shared by emission and the rewriter.

use sqlparser::ast::{
    self as sql, BinaryOperator, CastKind, DataType, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentList, FunctionArguments, Ident, ObjectName,
};

use crate::sql::EmitError;

pub fn value_expr(value: sql::Value) -> sql::Expr {
    sql::Expr::Value(value.into())
}

pub fn bool_literal(b: bool) -> sql::Expr {
    value_expr(sql::Value::Boolean(b))
}

pub fn int_literal(i: i64) -> sql::Expr {
    if i == i64::MIN {
        // `-9223372036854775808` would read as numeric: stay in bigint.
        return sql::Expr::Nested(Box::new(sql::Expr::BinaryOp {
            left: Box::new(value_expr(sql::Value::Number(
                (i64::MIN + 1).to_string(),
                false,
            ))),
            op: BinaryOperator::Minus,
            right: Box::new(value_expr(sql::Value::Number("1".into(), false))),
        }));
    }
    let number = value_expr(sql::Value::Number(i.to_string(), false));
    if i < 0 {
        sql::Expr::Nested(Box::new(number))
    } else {
        number
    }
}

/// A quoted text literal, every `'` doubled (sqlparser's printer leaves a quote
/// after `\` or `'` alone); refuses NUL, which no SQL text value can hold.
pub fn text_literal(s: &str) -> Result<sql::Expr, EmitError> {
    if s.contains('\0') {
        return Err(EmitError::NulInText);
    }
    let quoted = format!("'{}'", s.replace('\'', "''"));
    Ok(value_expr(sql::Value::Placeholder(quoted)))
}

/// `"qualifier"."column"`, every part quoted so no name is read as a keyword.
pub fn column_ref(qualifier: &[String], column: &str) -> sql::Expr {
    let mut parts: Vec<Ident> = qualifier
        .iter()
        .map(|q| Ident::with_quote('"', q.as_str()))
        .collect();
    parts.push(Ident::with_quote('"', column));
    sql::Expr::CompoundIdentifier(parts)
}

pub fn cast(expr: sql::Expr, data_type: DataType) -> sql::Expr {
    sql::Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type,
        format: None,
    }
}

/// Wraps compound expressions in parentheses so printing keeps the tree's grouping.
pub fn nested(expr: sql::Expr) -> sql::Expr {
    if needs_parens(&expr) {
        sql::Expr::Nested(Box::new(expr))
    } else {
        expr
    }
}

/// Whether [`nested`] parenthesises `expr`.
pub fn needs_parens(expr: &sql::Expr) -> bool {
    matches!(
        expr,
        sql::Expr::BinaryOp { .. } | sql::Expr::UnaryOp { .. } | sql::Expr::Like { .. }
    )
}

pub fn function(name: &str, args: Vec<sql::Expr>) -> sql::Expr {
    sql::Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        within_group: Vec::new(),
        filter: None,
        null_treatment: None,
        over: None,
    })
}
