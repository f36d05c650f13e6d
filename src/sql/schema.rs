//! `CREATE TABLE` statements for the declared tables, per dialect: the
//! storage types that give the language's values their meaning.

use std::fmt::Write;

use sqlparser::ast::Ident;

use crate::lang::model::{PolicySet, Table, Ty};

use super::template::object_name;
use super::Dialect;

/// The column type a declared type is stored as.
pub fn storage_type(ty: Ty, dialect: Dialect) -> &'static str {
    match (dialect, ty) {
        (Dialect::Postgres, Ty::Int) => "bigint",
        (Dialect::Postgres, Ty::Float) => "double precision",
        (Dialect::Postgres, Ty::Bool) => "boolean",
        (Dialect::Postgres, Ty::Timestamp) => "timestamptz",
        (Dialect::Postgres, Ty::TextSet) => "text[]",
        (Dialect::Postgres, Ty::IntSet) => "bigint[]",
        (Dialect::Postgres, Ty::Text | Ty::Null) => "text",
        // SQLite: booleans are 0/1 and timestamps microseconds since the epoch.
        (Dialect::Sqlite, Ty::Int | Ty::Bool | Ty::Timestamp) => "INTEGER",
        (Dialect::Sqlite, Ty::Float) => "REAL",
        (Dialect::Sqlite, _) => "TEXT",
    }
}

/// `CREATE TABLE` for one table (and `CREATE SCHEMA` before it on PostgreSQL).
pub fn create_table(table: &Table, dialect: Dialect) -> String {
    let mut out = String::new();
    if let (Dialect::Postgres, Some(schema)) = (dialect, &table.name.schema) {
        let _ = writeln!(
            out,
            "CREATE SCHEMA IF NOT EXISTS {};",
            Ident::with_quote('"', schema.as_str())
        );
    }
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                Ident::with_quote('"', c.name.as_str()),
                storage_type(c.ty.ty, dialect),
                if c.ty.nullable { "" } else { " NOT NULL" }
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "CREATE TABLE {} ({});",
        object_name(&table.name),
        columns.join(", ")
    );
    out
}

/// `CREATE TABLE` for every declared table.
pub fn create_tables(set: &PolicySet, dialect: Dialect) -> String {
    set.tables
        .iter()
        .map(|t| create_table(t, dialect))
        .collect()
}
