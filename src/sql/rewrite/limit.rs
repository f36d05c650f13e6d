//! `max_rows`: the tenant's quota tier caps how many rows a top-level query
//! returns, as its `LIMIT` (or `FETCH FIRST`), keeping a smaller one the user
//! wrote; a limit that is not a plain number is capped where it is evaluated.

use sqlparser::ast::{
    self as sql, CaseWhen, Expr, Fetch, Ident, LimitClause, Query, SelectItem, SetExpr,
};

use crate::lang::model::PolicySet;
use crate::lang::model::Value;
use crate::policy::quota::resolve;
use crate::sql::emit::{function, nested};
use crate::sql::template::scalar_subquery;
use crate::sql::Dialect;

use super::error::RewriteError;

/// The row cap of the tenant whose context values are `context`, if any.
pub fn max_rows(set: &PolicySet, context: &[Value]) -> Option<u64> {
    if set.quota_rules.is_empty() && set.tenant_overrides.is_empty() {
        return None;
    }
    resolve(set, context).limits.max_rows
}

/// Caps the rows `query` returns at `max_rows`.
pub fn cap_rows(query: &mut Query, max_rows: u64, dialect: Dialect) -> Result<(), RewriteError> {
    // SQLite takes no LIMIT after a bare VALUES list (a syntax error there);
    // such a list reads no table and returns the rows it spells out, so it
    // is left as written (found by the `rewrite` fuzz target).
    if dialect == Dialect::Sqlite
        && matches!(query.body.as_ref(), sqlparser::ast::SetExpr::Values(_))
        && query.limit_clause.is_none()
        && query.fetch.is_none()
    {
        return Ok(());
    }
    if let Some(fetch) = &mut query.fetch {
        return cap_fetch(fetch, max_rows, dialect);
    }
    match &mut query.limit_clause {
        None => {
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(number(max_rows)),
                offset: None,
                limit_by: Vec::new(),
            });
        }
        Some(LimitClause::LimitOffset {
            limit, limit_by, ..
        }) => {
            if !limit_by.is_empty() {
                return Err(unsupported("`LIMIT … BY`"));
            }
            *limit = Some(match limit.take() {
                // `LIMIT ALL`
                None => number(max_rows),
                Some(user) => capped(user, max_rows, dialect)?,
            });
        }
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => {
            let user = std::mem::replace(limit, number(0));
            *limit = capped(user, max_rows, dialect)?;
        }
    }
    Ok(())
}

fn cap_fetch(fetch: &mut Fetch, max_rows: u64, dialect: Dialect) -> Result<(), RewriteError> {
    if fetch.with_ties || fetch.percent {
        // Either can return more rows than its count.
        return Err(unsupported(
            "`FETCH … WITH TIES` / `PERCENT` under a `max_rows` quota",
        ));
    }
    if let Some(user) = fetch.quantity.take() {
        fetch.quantity = Some(capped(user, max_rows, dialect)?);
    }
    // Without a quantity, `FETCH FIRST ROW ONLY` is one row.
    Ok(())
}

fn unsupported(construct: &str) -> RewriteError {
    RewriteError::Unsupported {
        construct: construct.into(),
    }
}

fn number(n: u64) -> Expr {
    Expr::Value(sql::Value::Number(n.to_string(), false).into())
}

/// The user's limit if it is a number no larger than `max_rows`, else
/// `max_rows` for a larger number, else an expression that evaluates the
/// user's limit once and caps it.
fn capped(user: Expr, max_rows: u64, dialect: Dialect) -> Result<Expr, RewriteError> {
    if let Expr::Value(v) = &user {
        if let sql::Value::Number(text, _) = &v.value {
            if let Ok(n) = text.parse::<u64>() {
                return Ok(if n <= max_rows {
                    user
                } else {
                    number(max_rows)
                });
            }
        }
    }
    Ok(match dialect {
        // `LEAST` ignores a null (PostgreSQL's `LIMIT NULL` is no limit) and
        // keeps a negative value, which `LIMIT` refuses as before.
        Dialect::Postgres => function("least", vec![user, number(max_rows)]),
        // SQLite reads a negative limit as none: `(SELECT CASE WHEN v < 0 OR
        // v > max THEN max ELSE v END FROM (SELECT (user) AS v))` caps that
        // too and evaluates the user's expression once (a `?` stays one
        // parameter); null stays null, which SQLite refuses as before.
        Dialect::Sqlite => sqlite_capped(user, max_rows)?,
    })
}

fn template_error() -> RewriteError {
    RewriteError::Emit {
        table: String::new(),
        source: crate::sql::EmitError::Internal("the `max_rows` template"),
    }
}

fn sqlite_capped(user: Expr, max_rows: u64) -> Result<Expr, RewriteError> {
    let v = || Expr::Identifier(Ident::new("v"));
    let too_small = Expr::BinaryOp {
        left: Box::new(v()),
        op: sql::BinaryOperator::Lt,
        right: Box::new(number(0)),
    };
    let too_large = Expr::BinaryOp {
        left: Box::new(v()),
        op: sql::BinaryOperator::Gt,
        right: Box::new(number(max_rows)),
    };
    let case = Expr::Case {
        case_token: sql::helpers::attached_token::AttachedToken::empty(),
        end_token: sql::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![CaseWhen {
            condition: Expr::BinaryOp {
                left: Box::new(too_small),
                op: sql::BinaryOperator::Or,
                right: Box::new(too_large),
            },
            result: number(max_rows),
        }],
        else_result: Some(Box::new(v())),
    };
    let Ok(Expr::Subquery(mut outer)) = scalar_subquery(case) else {
        return Err(template_error());
    };
    let Ok(Expr::Subquery(inner)) = scalar_subquery(nested(user)) else {
        return Err(template_error());
    };
    let mut inner = *inner;
    if let SetExpr::Select(select) = inner.body.as_mut() {
        if let Some(SelectItem::UnnamedExpr(expr)) = select.projection.pop() {
            select.projection.push(SelectItem::ExprWithAlias {
                expr,
                alias: Ident::new("v"),
            });
        }
    }
    if let SetExpr::Select(select) = outer.body.as_mut() {
        select.from = vec![sql::TableWithJoins {
            relation: sql::TableFactor::Derived {
                lateral: false,
                subquery: Box::new(inner),
                alias: None,
                sample: None,
            },
            joins: Vec::new(),
        }];
    }
    Ok(Expr::Subquery(outer))
}
