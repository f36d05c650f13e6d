//! SQL text over the tables of a checked policy set, for the rewriter's fuzz
//! target: single-table SELECTs whose results can be compared, and joins,
//! subqueries, set operations, CTEs and writes that must only never panic.

use std::fmt::Write;

use arbitrary::{Result, Unstructured};

use super::typed::TEXTS;
use crate::lang::model::{PolicySet, QualifiedName, Table, Ty};

/// A generated statement; `table` is set for a single-table SELECT whose
/// result depends only on that table's admitted rows.
#[derive(Clone, Debug)]
pub struct Query {
    pub sql: String,
    pub table: Option<usize>,
}

/// A statement over `set`'s tables (`None` when it declares none).
pub fn statement(u: &mut Unstructured<'_>, set: &PolicySet) -> Result<Option<Query>> {
    if set.tables.is_empty() {
        return Ok(None);
    }
    let table = u.choose_index(set.tables.len())?;
    Ok(Some(match u.int_in_range(0u8..=9)? {
        0..=4 => Query {
            sql: single_select(u, set, table)?,
            table: Some(table),
        },
        kind => Query {
            sql: other(u, set, table, kind)?,
            table: None,
        },
    }))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn object(name: &QualifiedName) -> String {
    match &name.schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(&name.name)),
        None => quote(&name.name),
    }
}

fn text_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A literal of `ty`, valid SQL in both dialects.
fn literal(u: &mut Unstructured<'_>, ty: Ty) -> Result<String> {
    Ok(match ty {
        Ty::Int | Ty::Timestamp => {
            let i: i64 = if u.ratio(3u8, 4)? {
                u.int_in_range(-3..=3)?
            } else {
                u.arbitrary()?
            };
            i.to_string()
        }
        Ty::Float => u.choose(&["0.5", "-1.5", "0", "1e300", "2.0"])?.to_string(),
        Ty::Bool => u.choose(&["TRUE", "FALSE"])?.to_string(),
        Ty::Null => "NULL".to_string(),
        Ty::Text | Ty::TextSet | Ty::IntSet => text_literal(u.choose(TEXTS)?),
    })
}

/// A column reference, qualified by `alias` when one is given.
fn column(u: &mut Unstructured<'_>, table: &Table, alias: Option<&str>) -> Result<(String, Ty)> {
    let Some(index) = (!table.columns.is_empty())
        .then(|| u.choose_index(table.columns.len()))
        .transpose()?
    else {
        return Ok(("1".to_string(), Ty::Int));
    };
    let Some(c) = table.columns.get(index) else {
        return Ok(("1".to_string(), Ty::Int));
    };
    let name = quote(&c.name);
    Ok(match alias {
        Some(a) if u.arbitrary()? => (format!("{a}.{name}"), c.ty.ty),
        _ => (name, c.ty.ty),
    })
}

/// A condition on `table`'s columns, at most `depth` connectives deep.
fn condition(
    u: &mut Unstructured<'_>,
    table: &Table,
    alias: Option<&str>,
    depth: u32,
) -> Result<String> {
    let below = depth.saturating_sub(1);
    Ok(match u.int_in_range(0u8..=8)? {
        0 if depth > 0 => format!("NOT ({})", condition(u, table, alias, below)?),
        1 | 2 if depth > 0 => {
            let op = u.choose(&["AND", "OR"])?;
            format!(
                "({} {op} {})",
                condition(u, table, alias, below)?,
                condition(u, table, alias, below)?
            )
        }
        3 => {
            let (c, _) = column(u, table, alias)?;
            let not = if u.arbitrary()? { " NOT" } else { "" };
            format!("{c} IS{not} NULL")
        }
        4 => {
            let (c, ty) = column(u, table, alias)?;
            format!("{c} IN ({}, {})", literal(u, ty)?, literal(u, ty)?)
        }
        5 => {
            let (c, ty) = column(u, table, alias)?;
            if ty == Ty::Text {
                format!(
                    "{c} LIKE {}",
                    text_literal(u.choose(&["a%", "%", "_", "b"])?)
                )
            } else {
                format!("{c} = {c}")
            }
        }
        _ => {
            let (c, ty) = column(u, table, alias)?;
            let op = u.choose(&["=", "<>", "<", "<=", ">", ">="])?;
            format!("{c} {op} {}", literal(u, ty)?)
        }
    })
}

/// `SELECT … FROM table [AS a] [WHERE …] [GROUP BY …]`.
fn single_select(u: &mut Unstructured<'_>, set: &PolicySet, index: usize) -> Result<String> {
    let Some(table) = set.tables.get(index) else {
        return Ok("SELECT 1".to_string());
    };
    let alias = if u.arbitrary()? { Some("a") } else { None };
    let mut sql = String::from("SELECT ");
    let mut group = None;
    match u.int_in_range(0u8..=4)? {
        0 | 1 => sql.push('*'),
        2 => {
            let (c, _) = column(u, table, alias)?;
            let _ = write!(sql, "count(*), {c}");
            group = Some(c);
        }
        3 => sql.push_str("count(*)"),
        _ => {
            let (a, _) = column(u, table, alias)?;
            let (b, _) = column(u, table, alias)?;
            let distinct = if u.arbitrary()? { "DISTINCT " } else { "" };
            let _ = write!(sql, "{distinct}{a}, {b}");
        }
    }
    let _ = write!(sql, " FROM {}", object(&table.name));
    if let Some(a) = alias {
        let _ = write!(sql, " AS {a}");
    }
    if u.ratio(2u8, 3)? {
        let _ = write!(sql, " WHERE {}", condition(u, table, alias, 3)?);
    }
    if let Some(c) = group {
        let _ = write!(sql, " GROUP BY {c}");
    }
    Ok(sql)
}

/// Joins, subqueries, set operations, CTEs and writes.
fn other(u: &mut Unstructured<'_>, set: &PolicySet, index: usize, kind: u8) -> Result<String> {
    let Some(table) = set.tables.get(index) else {
        return Ok("SELECT 1".to_string());
    };
    let other_index = u.choose_index(set.tables.len())?;
    let other = set.tables.get(other_index).unwrap_or(table);
    let name = object(&table.name);
    let other_name = object(&other.name);
    // A write on its own, or inside a WITH item read by a query.
    let write_or_item = |u: &mut Unstructured<'_>, write: String| -> Result<String> {
        Ok(if u.arbitrary()? {
            write
        } else {
            format!("WITH w AS ({write}) SELECT count(*) FROM w, {other_name}")
        })
    };
    Ok(match kind {
        5 => {
            let (a, _) = column(u, table, Some("a"))?;
            let (b, _) = column(u, other, Some("b"))?;
            let join = u.choose(&["JOIN", "LEFT JOIN", "CROSS JOIN"])?;
            let on = if *join == "CROSS JOIN" {
                String::new()
            } else {
                format!(" ON {a} = {b}")
            };
            format!("SELECT * FROM {name} AS a {join} {other_name} AS b{on}")
        }
        6 => {
            let (c, _) = column(u, table, None)?;
            format!(
                "SELECT {c} FROM {name} WHERE EXISTS (SELECT 1 FROM {other_name} WHERE {}) \
                 {} SELECT {c} FROM {name}",
                condition(u, other, None, 2)?,
                u.choose(&["UNION", "UNION ALL", "EXCEPT", "INTERSECT"])?
            )
        }
        7 => format!(
            "WITH w AS (SELECT * FROM {name} WHERE {}) SELECT count(*) FROM w, {other_name}",
            condition(u, table, None, 2)?
        ),
        8 => {
            let delete = format!(
                "DELETE FROM {name} WHERE {}{}",
                condition(u, table, None, 2)?,
                if u.arbitrary()? { " RETURNING *" } else { "" }
            );
            write_or_item(u, delete)?
        }
        _ => {
            let (c, ty) = column(u, table, None)?;
            let update = format!(
                "UPDATE {name} SET {c} = {} WHERE {}{}",
                literal(u, ty)?,
                condition(u, table, None, 2)?,
                if u.arbitrary()? { " RETURNING *" } else { "" }
            );
            write_or_item(u, update)?
        }
    })
}
