//! Query shapes built by parsing one fixed template and filling its parts
//! with tree nodes: sqlparser's structs are large, and no text is spliced.

use sqlparser::ast::{
    self as sql, Ident, ObjectName, Query, SelectItem, SetExpr, TableAlias, TableFactor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::sync::OnceLock;

use crate::lang::model::QualifiedName;

use super::EmitError;

/// A template parsed on first use and cloned after: cloning a small tree
/// costs a fraction of parsing it, and the rewriter makes one per table
/// reference.
fn cached(
    cell: &'static OnceLock<Result<Query, EmitError>>,
    template: &str,
) -> Result<Query, EmitError> {
    cell.get_or_init(|| parse_query(template)).clone()
}

fn parse_query(template: &str) -> Result<Query, EmitError> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, template)
        .map_err(|_| EmitError::Internal("template does not parse"))?;
    match statements.pop() {
        Some(sql::Statement::Query(q)) => Ok(*q),
        _ => Err(EmitError::Internal("template is not a query")),
    }
}

fn select_mut(query: &mut Query) -> Result<&mut sql::Select, EmitError> {
    match query.body.as_mut() {
        SetExpr::Select(select) => Ok(select),
        _ => Err(EmitError::Internal("template is not a SELECT")),
    }
}

/// The table name as a quoted object name: `"audit"."events"`.
pub fn object_name(name: &QualifiedName) -> ObjectName {
    let mut parts = Vec::new();
    if let Some(schema) = &name.schema {
        parts.push(Ident::with_quote('"', schema.as_str()));
    }
    parts.push(Ident::with_quote('"', name.name.as_str()));
    ObjectName::from(parts)
}

/// `SELECT 1 FROM "table" AS "alias" WHERE selection`
pub fn select_one_from(
    table: &QualifiedName,
    alias: &str,
    selection: sql::Expr,
) -> Result<Query, EmitError> {
    static TEMPLATE: OnceLock<Result<Query, EmitError>> = OnceLock::new();
    let mut query = cached(&TEMPLATE, "SELECT 1 FROM t AS a WHERE TRUE")?;
    let select = select_mut(&mut query)?;
    select.selection = Some(selection);
    let from = select
        .from
        .first_mut()
        .ok_or(EmitError::Internal("template has no FROM"))?;
    if let TableFactor::Table { name, alias: a, .. } = &mut from.relation {
        *name = object_name(table);
        if let Some(TableAlias {
            name: alias_name, ..
        }) = a
        {
            *alias_name = Ident::with_quote('"', alias);
        }
    }
    Ok(query)
}

/// `(SELECT expr)`: a scalar subquery, which PostgreSQL evaluates once per
/// statement when it reads nothing from the outer query.
pub fn scalar_subquery(expr: sql::Expr) -> Result<sql::Expr, EmitError> {
    static TEMPLATE: OnceLock<Result<Query, EmitError>> = OnceLock::new();
    let mut query = cached(&TEMPLATE, "SELECT 1")?;
    let select = select_mut(&mut query)?;
    select.projection = vec![SelectItem::UnnamedExpr(expr)];
    Ok(sql::Expr::Subquery(Box::new(query)))
}

/// `SELECT * FROM "table" WHERE selection OFFSET 0` (PostgreSQL), or
/// `… LIMIT -1 OFFSET 0` (SQLite, where `OFFSET` needs a `LIMIT`): a subquery
/// that neither database flattens into the outer query or pushes the outer
/// query's conditions into, so those only ever see the rows it admits.
pub fn fenced_select_all(
    table: &QualifiedName,
    selection: sql::Expr,
    dialect: super::Dialect,
) -> Result<Query, EmitError> {
    static POSTGRES: OnceLock<Result<Query, EmitError>> = OnceLock::new();
    static SQLITE: OnceLock<Result<Query, EmitError>> = OnceLock::new();
    let mut query = match dialect {
        super::Dialect::Postgres => cached(&POSTGRES, "SELECT * FROM t WHERE TRUE OFFSET 0")?,
        super::Dialect::Sqlite => cached(&SQLITE, "SELECT * FROM t WHERE TRUE LIMIT -1 OFFSET 0")?,
    };
    let select = select_mut(&mut query)?;
    select.selection = Some(selection);
    let from = select
        .from
        .first_mut()
        .ok_or(EmitError::Internal("template has no FROM"))?;
    match &mut from.relation {
        TableFactor::Table { name, .. } => *name = object_name(table),
        _ => return Err(EmitError::Internal("template FROM is not a table")),
    }
    Ok(query)
}

/// `VALUES (…), (…)` with the given rows.
pub fn values_query(rows: Vec<Vec<sql::Expr>>) -> Result<Query, EmitError> {
    let mut query = parse_query("VALUES (1)")?;
    let SetExpr::Values(values) = query.body.as_mut() else {
        return Err(EmitError::Internal("template is not VALUES"));
    };
    let template = values
        .rows
        .pop()
        .ok_or(EmitError::Internal("template has no row"))?;
    values.rows = rows
        .into_iter()
        .map(|content| sql::Parens {
            content,
            ..template.clone()
        })
        .collect();
    Ok(query)
}

/// `SELECT rampart_source.*, extra… FROM (inner) AS rampart_source`.
pub fn with_extra_columns(inner: Query, extra: Vec<sql::Expr>) -> Result<Query, EmitError> {
    let mut query = parse_query("SELECT rampart_source.* FROM (SELECT 1) AS rampart_source")?;
    let select = select_mut(&mut query)?;
    select
        .projection
        .extend(extra.into_iter().map(SelectItem::UnnamedExpr));
    let from = select
        .from
        .first_mut()
        .ok_or(EmitError::Internal("template has no FROM"))?;
    match &mut from.relation {
        TableFactor::Derived { subquery, .. } => **subquery = inner,
        _ => return Err(EmitError::Internal("template FROM is not a subquery")),
    }
    Ok(query)
}
