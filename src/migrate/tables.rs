//! The tables a migration moves and, for each, the tenant's rows as SQL:
//! the combined SELECT `using` specialised for the migration's context, in
//! each dialect, and bare-columned for a PostgreSQL publication row filter.

use crate::engine::{Context, Engine};
use crate::error::Error;
use crate::exec::{Backend, SqlValue};
use crate::lang::model::Ty;
use crate::sql::Dialect;

use super::values::{literal, quote_ident, quote_text};
use super::MigrateError;

/// One table of a migration.
#[derive(Clone, Debug)]
pub struct TenantTable {
    /// As declared (`orders`, `audit.events`).
    pub name: String,
    /// Quoted and qualified for SQL (`"audit"."events"`).
    pub sql_name: String,
    /// Declared columns and types, in order.
    pub columns: Vec<(String, Ty)>,
    /// The tenant's rows on PostgreSQL and on SQLite, columns qualified by
    /// the table's name.
    postgres: String,
    sqlite: String,
    /// The same for a publication row filter (bare column names).
    pub row_filter: String,
}

impl TenantTable {
    /// The tables named in `only` (every declared table when empty).
    pub fn plan(
        engine: &Engine,
        ctx: &Context,
        only: &[String],
    ) -> Result<Vec<TenantTable>, Error> {
        let set = engine.policy_set();
        let mut wanted = Vec::new();
        for name in only {
            let (index, table) = set
                .table_by_text(name)
                .ok_or_else(|| Error::UnknownTable(name.clone()))?;
            if table.open {
                return Err(Error::Migrate(MigrateError::Usage(format!(
                    "table `{name}` is open (shared by every tenant): it is not moved with a tenant"
                ))));
            }
            wanted.push(index);
        }
        let mut out = Vec::new();
        for (index, table) in set.tables.iter().enumerate() {
            if table.open || (!wanted.is_empty() && !wanted.contains(&index)) {
                continue;
            }
            let name = table.name.to_string();
            let qualifier = Some(table.name.name.as_str());
            let sql_name = match &table.name.schema {
                Some(schema) => {
                    format!("{}.{}", quote_ident(schema), quote_ident(&table.name.name))
                }
                None => quote_ident(&table.name.name),
            };
            out.push(TenantTable {
                postgres: engine.select_predicate_sql(ctx, &name, Dialect::Postgres, qualifier)?,
                sqlite: engine.select_predicate_sql(ctx, &name, Dialect::Sqlite, qualifier)?,
                row_filter: engine.select_predicate_sql(ctx, &name, Dialect::Postgres, None)?,
                columns: table
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.ty))
                    .collect(),
                sql_name,
                name,
            });
        }
        Ok(out)
    }

    /// The tenant's rows as a condition in `dialect`.
    pub fn predicate(&self, dialect: Dialect) -> &str {
        match dialect {
            Dialect::Postgres => &self.postgres,
            Dialect::Sqlite => &self.sqlite,
        }
    }

    fn column_list(&self) -> String {
        let names: Vec<String> = self.columns.iter().map(|(c, _)| quote_ident(c)).collect();
        names.join(", ")
    }

    /// `SELECT <declared columns> FROM t WHERE <tenant>`.
    pub fn select_sql(&self, dialect: Dialect) -> String {
        format!(
            "SELECT {} FROM {} WHERE {}",
            self.column_list(),
            self.sql_name,
            self.predicate(dialect)
        )
    }

    /// `SELECT count(*) FROM t WHERE <tenant>`.
    pub fn count_sql(&self, dialect: Dialect) -> String {
        format!(
            "SELECT count(*) FROM {} WHERE {}",
            self.sql_name,
            self.predicate(dialect)
        )
    }

    /// `DELETE FROM t WHERE <tenant>`.
    pub fn delete_sql(&self, dialect: Dialect) -> String {
        format!(
            "DELETE FROM {} WHERE {}",
            self.sql_name,
            self.predicate(dialect)
        )
    }

    /// The declared columns' types in `backend`, as it names them
    /// (`bigint`, `text`; SQLite's declared type in upper case).
    pub fn column_types(&self, backend: &mut dyn Backend) -> Result<Vec<(String, String)>, Error> {
        let text = |t: &str| quote_text(t).map_err(|m| Error::Migrate(MigrateError::Usage(m)));
        let sql = match backend.dialect() {
            Dialect::Postgres => format!(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                 WHERE a.attrelid = {}::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                text(&self.sql_name)?
            ),
            Dialect::Sqlite => {
                let (schema, name) = match self.name.split_once('.') {
                    Some((s, n)) => (text(s)?, text(n)?),
                    None => ("'main'".to_string(), text(&self.name)?),
                };
                format!("SELECT name, upper(type) FROM pragma_table_info({name}, {schema})")
            }
        };
        let raw = backend.run(&sql, true)?;
        Ok(raw
            .rows
            .into_iter()
            .filter_map(|row| match (row.first(), row.get(1)) {
                (Some(SqlValue::Text(c)), Some(SqlValue::Text(t))) => Some((c.clone(), t.clone())),
                _ => None,
            })
            .filter(|(c, _)| self.columns.iter().any(|(d, _)| d == c))
            .collect())
    }

    /// The tenant's rows in `backend`.
    pub fn count(&self, backend: &mut dyn Backend) -> Result<u64, Error> {
        let raw = backend.run(&self.count_sql(backend.dialect()), true)?;
        match raw.rows.first().and_then(|r| r.first()) {
            Some(SqlValue::Int(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
            _ => Ok(0),
        }
    }

    /// `INSERT INTO t (<columns>) VALUES …` for `rows` (declared columns in
    /// order), literals for `dialect`.
    pub fn insert_sql(&self, rows: &[Vec<SqlValue>], dialect: Dialect) -> Result<String, Error> {
        let mut tuples = Vec::with_capacity(rows.len());
        for row in rows {
            tuples.push(format!("({})", self.literals(row, dialect)?.join(", ")));
        }
        Ok(format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.sql_name,
            self.column_list(),
            tuples.join(", ")
        ))
    }

    /// One row's values as literals for `dialect`.
    pub fn literals(&self, row: &[SqlValue], dialect: Dialect) -> Result<Vec<String>, Error> {
        self.columns
            .iter()
            .zip(row)
            .map(|((column, ty), value)| {
                literal(value, *ty, dialect).map_err(|message| {
                    Error::Migrate(MigrateError::Value {
                        table: self.name.clone(),
                        column: column.clone(),
                        message,
                    })
                })
            })
            .collect()
    }
}
