//! Checking that a database has the declared tables and columns, so that a
//! schema that differs from the policy set is reported by name up front
//! rather than as a failure in the middle of a tenant's statement.

use sqlparser::ast::Ident;

use crate::engine::Engine;
use crate::error::{DatabaseError, Error};
use crate::sql::template::object_name;

use super::Backend;

impl Engine {
    /// Checks that every declared table exists on `backend` with every
    /// declared column: errors name the table (42P01) or the column (42703).
    /// Column types are not compared (SQLite has none to compare).
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
        }
        Ok(())
    }
}
