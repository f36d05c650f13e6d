//! Checking that a database has the declared tables and columns, of types
//! that store the declared ones, so that a schema that differs from the
//! policy set is reported by name up front rather than as a failure (or a
//! different answer) in the middle of a tenant's statement.

use sqlparser::ast::Ident;

use crate::engine::Engine;
use crate::error::{DatabaseError, Error};
use crate::lang::model::{PolicySet, Table, Ty};
use crate::sql::template::object_name;
use crate::sql::usage::quote_literal;
use crate::sql::Dialect;

use super::{Backend, SqlValue};

impl Engine {
    /// Checks that every declared table exists on `backend` with every
    /// declared column, of a type that stores the declared one: errors name
    /// the table (42P01), the column (42703), or the column with its declared
    /// and found types (42804).
    ///
    /// On PostgreSQL a column's type must be the one Rampart's emitted SQL
    /// is written for: `int` is `bigint` (not `integer` or `smallint`, whose
    /// arithmetic overflows at 32 or 16 bits inside a policy where the
    /// language's 64-bit `int` does not), `float` is `double precision` (not
    /// `real`, which rounds what is stored), `bool` is `boolean`,
    /// `timestamp` is `timestamptz` (a `timestamp` without time zone would
    /// compare by the session's time zone), `text` is `text` or `varchar`
    /// (not `char(n)`, which ignores trailing blanks when comparing), sets
    /// are `text[]` (or `varchar[]`) and `bigint[]`; a domain or any other
    /// type is refused. On SQLite, where a column has an affinity rather
    /// than a type, the declared type's affinity is required: `int`,
    /// `bool` and `timestamp` INTEGER (or NUMERIC, which stores the same),
    /// `float` REAL, `text` TEXT. Nullability is not compared: every
    /// evaluator gives a null its three-valued meaning whatever the
    /// declaration says, and a database's `NOT NULL` only refuses writes.
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("orders.policy", r#"
    ///     context tenant { id: text }
    ///     table orders { id: int, tenant_id: text }
    ///     policy isolation on orders using tenant_id == tenant.id;
    /// "#)?;
    /// let mut backend = rampart::exec::open("sqlite::memory:")?;
    /// backend.batch("CREATE TABLE orders (id INTEGER, tenant_id REAL)")?;
    /// let error = engine.verify_schema(backend.as_mut()).unwrap_err();
    /// assert_eq!(error.sqlstate(), "42804");
    /// assert!(error.to_string().contains("`tenant_id`"));
    /// # Ok::<(), rampart::Error>(())
    /// ```
    ///
    /// A missing column:
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("orders.policy", r#"
    ///     context tenant { id: text }
    ///     table orders { id: int, tenant_id: text }
    ///     policy isolation on orders using tenant_id == tenant.id;
    /// "#)?;
    /// let mut backend = rampart::exec::open("sqlite::memory:")?;
    /// backend.batch("CREATE TABLE orders (id INTEGER)")?;
    /// let error = engine.verify_schema(backend.as_mut()).unwrap_err();
    /// assert_eq!(error.sqlstate(), "42703");
    /// assert!(error.to_string().contains("tenant_id"));
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn verify_schema(&self, backend: &mut dyn Backend) -> Result<(), Error> {
        self.verify_tables(backend, &[])
    }

    /// [`Engine::verify_schema`] for the declared tables named in `only`
    /// (as `table_by_text` reads them), or every table when it is empty.
    pub fn verify_tables(&self, backend: &mut dyn Backend, only: &[String]) -> Result<(), Error> {
        let set = self.policy_set();
        for table in &set.tables {
            if !only.is_empty()
                && !only.iter().any(|o| {
                    set.table_by_text(o)
                        .is_some_and(|(_, t)| t.name == table.name)
                })
            {
                continue;
            }
            let name = object_name(&table.name);
            let probe = |columns: &str| format!("SELECT {columns} FROM {name} LIMIT 0");
            if let Err(e) = backend.run(&probe("1"), true) {
                return Err(Error::Database(DatabaseError::new(
                    "42P01",
                    format!(
                        "the database has no table `{}` as the policy set declares ({})",
                        table.name, e.message
                    ),
                )));
            }
            for column in &table.columns {
                // Qualified: SQLite reads an unknown bare "name" as a string.
                let quoted = format!("{name}.{}", Ident::with_quote('"', column.name.as_str()));
                if backend.run(&probe(&quoted), true).is_err() {
                    return Err(Error::Database(DatabaseError::new(
                        "42703",
                        format!(
                            "table `{}` in the database has no column `{}`, which the policy set declares",
                            table.name, column.name
                        ),
                    )));
                }
            }
            verify_types(table, backend)?;
        }
        Ok(())
    }
}

/// Refuses a declared column whose type in the database does not store its
/// declared type (see [`Engine::verify_schema`]).
fn verify_types(table: &Table, backend: &mut dyn Backend) -> Result<(), Error> {
    let dialect = backend.dialect();
    let found = column_types(table, backend)?;
    for column in &table.columns {
        let Some((_, found_type, key)) = found.iter().find(|(name, _, _)| *name == column.name)
        else {
            continue;
        };
        let fits = match dialect {
            Dialect::Postgres => pg_stores(column.ty.ty, key),
            Dialect::Sqlite => sqlite_stores(column.ty.ty, key),
        };
        if !fits {
            let shown = if found_type.is_empty() {
                "no type".to_string()
            } else {
                format!("type `{found_type}`")
            };
            let affinity = match dialect {
                Dialect::Postgres => String::new(),
                Dialect::Sqlite => format!(" ({key} affinity)"),
            };
            return Err(Error::Database(DatabaseError::new(
                "42804",
                format!(
                    "column `{}` of table `{}` is declared `{}`, but the database's column has \
                     {shown}{affinity}; expected {}",
                    column.name,
                    table.name,
                    column.ty.ty,
                    expected(column.ty.ty, dialect)
                ),
            )));
        }
    }
    Ok(())
}

/// `(column, type as the database names it, key)` for every column of
/// `table` in `backend`: the key is PostgreSQL's `typname` (`int8`,
/// `_text`) or SQLite's affinity of the declared type.
fn column_types(
    table: &Table,
    backend: &mut dyn Backend,
) -> Result<Vec<(String, String, String)>, Error> {
    let sql = match backend.dialect() {
        Dialect::Postgres => format!(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = {}::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            quote_literal(&object_name(&table.name).to_string())
        ),
        Dialect::Sqlite => {
            let name = quote_literal(&table.name.name);
            match &table.name.schema {
                Some(schema) => format!(
                    "SELECT name, type FROM pragma_table_info({name}, {})",
                    quote_literal(schema)
                ),
                None => format!("SELECT name, type FROM pragma_table_info({name})"),
            }
        }
    };
    let dialect = backend.dialect();
    let raw = backend.run(&sql, true)?;
    Ok(raw
        .rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [SqlValue::Text(name), SqlValue::Text(shown), SqlValue::Text(key)] => {
                Some((name.clone(), shown.clone(), key.clone()))
            }
            [SqlValue::Text(name), SqlValue::Text(declared)] if dialect == Dialect::Sqlite => {
                Some((
                    name.clone(),
                    declared.clone(),
                    sqlite_affinity(declared).to_string(),
                ))
            }
            _ => None,
        })
        .collect())
}

/// Whether a PostgreSQL column of type `typname` stores the declared type.
fn pg_stores(ty: Ty, typname: &str) -> bool {
    match ty {
        Ty::Int => typname == "int8",
        Ty::Float => typname == "float8",
        Ty::Bool => typname == "bool",
        Ty::Timestamp => typname == "timestamptz",
        Ty::Text | Ty::Null => matches!(typname, "text" | "varchar"),
        Ty::TextSet => matches!(typname, "_text" | "_varchar"),
        Ty::IntSet => typname == "_int8",
    }
}

/// Whether an SQLite column of `affinity` stores the declared type as the
/// emitted SQL expects it (integers, 0/1, microseconds, reals or text).
fn sqlite_stores(ty: Ty, affinity: &str) -> bool {
    match ty {
        Ty::Int | Ty::Bool | Ty::Timestamp => matches!(affinity, "INTEGER" | "NUMERIC"),
        Ty::Float => affinity == "REAL",
        Ty::Text | Ty::Null | Ty::TextSet | Ty::IntSet => affinity == "TEXT",
    }
}

/// The affinity SQLite gives a column declared `declared` (its rules, in
/// their order); `ANY` (no conversion at all in a STRICT table) as BLOB.
fn sqlite_affinity(declared: &str) -> &'static str {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        "INTEGER"
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t)) {
        "TEXT"
    } else if upper.contains("BLOB") || upper.trim().is_empty() || upper.trim() == "ANY" {
        "BLOB"
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|t| upper.contains(t)) {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// What a declared type must be stored as, for messages.
fn expected(ty: Ty, dialect: Dialect) -> &'static str {
    match (dialect, ty) {
        (Dialect::Postgres, Ty::Int) => "`bigint`",
        (Dialect::Postgres, Ty::Float) => "`double precision`",
        (Dialect::Postgres, Ty::Bool) => "`boolean`",
        (Dialect::Postgres, Ty::Timestamp) => "`timestamptz`",
        (Dialect::Postgres, Ty::Text | Ty::Null) => "`text` or `varchar`",
        (Dialect::Postgres, Ty::TextSet) => "`text[]`",
        (Dialect::Postgres, Ty::IntSet) => "`bigint[]`",
        (Dialect::Sqlite, Ty::Int | Ty::Bool | Ty::Timestamp) => {
            "INTEGER affinity (a type naming `INT`, such as `INTEGER`)"
        }
        (Dialect::Sqlite, Ty::Float) => "REAL affinity (`REAL`, `DOUBLE`, `FLOAT`)",
        (Dialect::Sqlite, _) => "TEXT affinity (`TEXT`, `VARCHAR`, `CLOB`)",
    }
}

/// For each declared table of `set`, in order, which of its declared
/// columns the database fills with null when an INSERT leaves them out:
/// those without a default (nor a domain's, whose default it would take),
/// not identity or generated, and on SQLite not part of a primary key (an
/// `INTEGER PRIMARY KEY` takes the next rowid). `None` for a table the
/// database lacks or whose columns cannot be read. The queries read the
/// catalog only and fail on nothing (a missing table reads as no rows), so
/// they may run inside a user's transaction.
pub fn null_defaults(set: &PolicySet, backend: &mut dyn Backend) -> Vec<Option<Vec<bool>>> {
    set.tables
        .iter()
        .map(|table| table_null_defaults(table, backend))
        .collect()
}

fn table_null_defaults(table: &Table, backend: &mut dyn Backend) -> Option<Vec<bool>> {
    let sql = match backend.dialect() {
        Dialect::Postgres => format!(
            "SELECT a.attname::text, NOT (a.atthasdef OR a.attidentity <> '' \
             OR a.attgenerated <> '' OR t.typtype = 'd') \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = to_regclass({}) AND a.attnum > 0 AND NOT a.attisdropped",
            quote_literal(&object_name(&table.name).to_string())
        ),
        Dialect::Sqlite => {
            let name = quote_literal(&table.name.name);
            let schema = table
                .name
                .schema
                .as_deref()
                .map(|s| format!(", {}", quote_literal(s)))
                .unwrap_or_default();
            format!(
                "SELECT name, dflt_value IS NULL AND hidden = 0 AND pk = 0 \
                 FROM pragma_table_xinfo({name}{schema})"
            )
        }
    };
    let dialect = backend.dialect();
    let raw = backend.run(&sql, true).ok()?;
    let found: Vec<(String, bool)> = raw
        .rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [SqlValue::Text(name), SqlValue::Bool(null)] => Some((name.clone(), *null)),
            [SqlValue::Text(name), SqlValue::Int(null)] => Some((name.clone(), *null == 1)),
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return None;
    }
    // A declared column the database lacks has no known default. SQLite
    // names columns without regard to ASCII case.
    let same = |found: &str, declared: &str| match dialect {
        Dialect::Postgres => found == declared,
        Dialect::Sqlite => found.eq_ignore_ascii_case(declared),
    };
    Some(
        table
            .columns
            .iter()
            .map(|c| {
                found
                    .iter()
                    .any(|(name, null)| *null && same(name, &c.name))
            })
            .collect(),
    )
}
