//! The SQL rewriter: parses statements with `sqlparser`, replaces every
//! reference to a declared table with a subquery applying its policies, and
//! prints the result. Only queries (`SELECT`, set operations, `VALUES`) for now.
//!
//! Each reference `FROM orders o` becomes
//! `FROM (SELECT * FROM "orders" WHERE <policy> OFFSET 0) AS o` (SQLite:
//! `LIMIT -1 OFFSET 0`, as its `OFFSET` needs a `LIMIT`). The `OFFSET 0` is
//! the optimisation fence: neither PostgreSQL nor SQLite flattens a subquery
//! with an offset into the outer query or pushes the outer `WHERE` into it,
//! so a user condition that could fail or leak through a function (division
//! by zero, a `raise`-ing function) only ever runs on admitted rows, as with
//! PostgreSQL's security-barrier quals. A `MATERIALIZED` CTE would fence too
//! but must be hoisted to the top of the statement and is always
//! materialised; `OFFSET 0` stays where the reference was, keeps indexes
//! usable for the policy itself, and has the same shape in both dialects.
//! The cost: the user's conditions on that table no longer use its indexes.
//!
//! Everything not understood is refused with an error naming it (fail
//! closed); see `RewriteError`.

mod deny;
mod error;
mod query;
mod scope;
mod table;

use std::ops::ControlFlow;

use sqlparser::ast::{Statement, VisitMut};
use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};

use crate::lang::model::{PolicySet, Value};

use super::Dialect;

pub use error::RewriteError;

/// The longest SQL text accepted, in bytes.
pub const MAX_SQL_BYTES: usize = 1 << 20;
/// How deep the parser may recurse (nested subqueries, parentheses, …).
pub const MAX_DEPTH: usize = 50;

/// Rewritten statements. (A RETURNING plan for writes will sit beside `sql`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The rewritten statements, joined by `";\n"`.
    pub sql: String,
}

/// Rewrites `sql` so that every statement sees only the rows the policies
/// admit for the context `context` (values of `set.context`, in order).
/// Refuses every statement if any one is refused.
pub fn rewrite(
    set: &PolicySet,
    context: &[Value],
    dialect: Dialect,
    sql: &str,
) -> Result<Rewritten, RewriteError> {
    let statements = parse(sql, dialect)?;
    let known: Vec<Option<Value>> = context.iter().cloned().map(Some).collect();
    let mut printed = Vec::with_capacity(statements.len());
    for mut statement in statements {
        rewrite_statement(set, &known, dialect, &mut statement)?;
        printed.push(statement.to_string());
    }
    Ok(Rewritten {
        sql: printed.join(";\n"),
    })
}

/// Parses within the size and depth limits.
fn parse(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, RewriteError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(RewriteError::TooLarge {
            len: sql.len(),
            limit: MAX_SQL_BYTES,
        });
    }
    if let Some(offset) = sql.find('\0') {
        return Err(RewriteError::Syntax {
            message: format!("NUL character at byte {offset}"),
        });
    }
    let parser_dialect: &dyn ParserDialect = match dialect {
        Dialect::Postgres => &PostgreSqlDialect {},
        Dialect::Sqlite => &SQLiteDialect {},
    };
    let statements = Parser::new(parser_dialect)
        .with_recursion_limit(MAX_DEPTH)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| match e {
            ParserError::RecursionLimitExceeded => RewriteError::TooDeep { limit: MAX_DEPTH },
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
                RewriteError::Syntax { message: m }
            }
        })?;
    if statements.is_empty() {
        return Err(RewriteError::Empty);
    }
    Ok(statements)
}

fn rewrite_statement(
    set: &PolicySet,
    known: &crate::policy::KnownContext,
    dialect: Dialect,
    statement: &mut Statement,
) -> Result<(), RewriteError> {
    let Statement::Query(query) = statement else {
        return Err(RewriteError::Unsupported {
            construct: format!("`{}` statements", statement_kind(statement)),
        });
    };
    let mut rewriter = query::QueryRewriter::new(set, dialect, known);
    match query.visit(&mut rewriter) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

/// `CREATE TABLE` for `Statement::CreateTable { … }`: the variant's name in words.
fn statement_kind(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut words = String::new();
    for (i, c) in variant.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            words.push(' ');
        }
        words.push(c.to_ascii_uppercase());
    }
    words
}
