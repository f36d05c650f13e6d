//! One table reference: resolving its name (WITH item, declared table, or
//! refused) and replacing a declared table with the subquery that applies
//! its combined, tenant-specialised SELECT policy under the user's alias.

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{self as sql, Ident, Query, TableAlias, TableFactor, Visit, Visitor};

use crate::lang::model::{PolicySet, TExpr};
use crate::policy::combine::{and, conditions, OnFail, RowImage, StatementKind};
use crate::policy::specialise;
use crate::sql::template::fenced_select_all;
use crate::sql::{Dialect, EmitError, Scope};

use super::error::RewriteError;
use super::fence::{fence_id, Fence};
use super::printed::raw_table;
use super::query::QueryRewriter;
use super::scope::{fold, fold_declared, idents, is_declared, CteMeaning, Frame};
use super::tenant::ReadText;

/// One part of a table name: folded (a `String` from [`fold`]) or as
/// written (an `ObjectNamePart`, compared as it would fold without making
/// the folded string).
pub(super) trait NamePart {
    /// Whether the part folds to `folded`.
    fn folds_to(&self, folded: &str, dialect: Dialect) -> bool;
    /// Whether the part names the declared `name`.
    fn names(&self, name: &str, dialect: Dialect) -> bool;
    /// Whether the part, folded, starts with `prefix` (lower-case ASCII).
    fn folded_starts_with(&self, prefix: &str, dialect: Dialect) -> bool;
}

impl NamePart for String {
    fn folds_to(&self, folded: &str, _: Dialect) -> bool {
        self == folded
    }
    fn names(&self, name: &str, dialect: Dialect) -> bool {
        is_declared(self, name, dialect)
    }
    fn folded_starts_with(&self, prefix: &str, _: Dialect) -> bool {
        self.starts_with(prefix)
    }
}

impl NamePart for sql::ObjectNamePart {
    fn folds_to(&self, folded: &str, dialect: Dialect) -> bool {
        self.as_ident()
            .is_some_and(|i| super::scope::folds_to(i, folded, dialect))
    }
    fn names(&self, name: &str, dialect: Dialect) -> bool {
        self.as_ident()
            .is_some_and(|i| super::scope::names_declared(i, name, dialect))
    }
    fn folded_starts_with(&self, prefix: &str, dialect: Dialect) -> bool {
        self.as_ident()
            .is_some_and(|i| match (dialect, i.quote_style) {
                (Dialect::Postgres, Some(_)) => i.value.starts_with(prefix),
                _ => i
                    .value
                    .as_bytes()
                    .get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes())),
            })
    }
}

/// System schemas and relation prefixes: catalogs are never read through the rewriter.
pub(super) fn is_system(parts: &[impl NamePart], dialect: Dialect) -> bool {
    let schema_is_system = parts.len() > 1
        && parts.first().is_some_and(|s| {
            s.folds_to("pg_catalog", dialect) || s.folds_to("information_schema", dialect)
        });
    let name_is_system = parts.last().is_some_and(|n| {
        n.folded_starts_with("pg_", dialect) || n.folded_starts_with("sqlite_", dialect)
    });
    schema_is_system || name_is_system
}

/// The declared table a name means, if any. An unqualified declared table
/// also answers to `public.` (PostgreSQL) or `main.` (SQLite).
pub(super) fn resolve(set: &PolicySet, parts: &[impl NamePart], dialect: Dialect) -> Option<usize> {
    let default_schema = match dialect {
        Dialect::Postgres => "public",
        Dialect::Sqlite => "main",
    };
    set.tables.iter().position(|t| {
        let name = &t.name.name;
        match (parts, &t.name.schema) {
            ([n], None) => n.names(name, dialect),
            ([s, n], Some(schema)) => s.names(schema, dialect) && n.names(name, dialect),
            ([s, n], None) => s.folds_to(default_schema, dialect) && n.names(name, dialect),
            _ => false,
        }
    })
}

impl QueryRewriter<'_> {
    /// Leaves a WITH item or an open table as it is; replaces a declared
    /// table by `(SELECT * FROM "t" WHERE <policy> OFFSET 0) AS alias`.
    pub(super) fn rewrite_table_reference(
        &mut self,
        factor: &mut TableFactor,
    ) -> Result<(), RewriteError> {
        let TableFactor::Table { name, alias, .. } = factor else {
            return Ok(());
        };
        let frame = self
            .frames
            .last()
            .ok_or_else(|| RewriteError::Unsupported {
                construct: "a table reference outside a query".into(),
            })?;
        let parts = idents(name).ok_or_else(|| RewriteError::Unsupported {
            construct: format!("computed table name `{name}`"),
        })?;
        let folded: Vec<String> = parts.iter().map(|i| fold(i, self.dialect)).collect();
        if let [single] = folded.as_slice() {
            match frame.meaning(single) {
                CteMeaning::Cte => return Ok(()),
                CteMeaning::Ambiguous => {
                    return Err(RewriteError::ForwardCteReference {
                        name: name.to_string(),
                    })
                }
                CteMeaning::Table => {}
            }
        }
        if is_system(&folded, self.dialect) {
            return Err(RewriteError::SystemRelation {
                name: name.to_string(),
            });
        }
        let index =
            resolve(self.set, &folded, self.dialect).ok_or_else(|| RewriteError::UnknownTable {
                name: name.to_string(),
            })?;
        let Some(table) = self.set.tables.get(index) else {
            return Ok(());
        };
        if table.open {
            return Ok(());
        }
        let alias = alias.clone().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: parts
                .last()
                .map_or_else(|| Ident::new("t"), |i| (*i).clone()),
            columns: Vec::new(),
            at: None,
        });
        let locked = frame.lock.reaches_ident(&alias.name, self.dialect);
        // The same table read the same way gets the same subquery: made
        // (combined, specialised, emitted) and printed once per tenant, and
        // placed as its text; its tree is lent only where a condition is
        // moved into it (`pushdown.rs`).
        let text = self
            .policy_cache
            .read_text((index, locked), || self.made_read(index, locked))?;
        if frame.has_with_names() {
            check_hidden_tables(&text.names, frame, self.dialect, &table.name.to_string())?;
        }
        *factor = raw_table(text.fenced.clone(), Some(alias));
        let Some(id) = fence_id(factor) else {
            return Err(RewriteError::Unsupported {
                construct: "a policy subquery that could not be placed".into(),
            });
        };
        let fence = Fence {
            id,
            table: index,
            locked,
            text,
            lent: false,
        };
        if let Some(level) = self.fences.last_mut() {
            level.push(fence.clone());
        }
        self.all_fences.push(fence);
        Ok(())
    }

    /// The policy subquery of a read of table `index` and its text.
    pub(super) fn made_read(
        &self,
        index: usize,
        locked: bool,
    ) -> Result<(Box<Query>, Arc<ReadText>), RewriteError> {
        let mut query = self.policy_subquery(index, locked)?;
        let names = unqualified_tables(&query);
        let text = ReadText::new(&mut query, names);
        Ok((Box::new(query), Arc::new(text)))
    }

    /// The policy a reference to table `index` applies: SELECT `using`, and
    /// UPDATE `using` too under `FOR UPDATE / FOR SHARE` (PostgreSQL's table).
    fn policy_subquery(&self, index: usize, locked: bool) -> Result<Query, RewriteError> {
        let table = self
            .set
            .tables
            .get(index)
            .ok_or(RewriteError::UnknownTable {
                name: index.to_string(),
            })?;
        let table_name = table.name.to_string();
        let emit_error = |source: EmitError| RewriteError::Emit {
            table: table_name.clone(),
            source,
        };
        let kind = if locked {
            StatementKind::SelectForUpdate
        } else {
            StatementKind::Select
        };
        let mut predicate: Option<TExpr> = None;
        for condition in conditions(self.set, index, kind, true) {
            if condition.image != RowImage::Existing || condition.on_fail != OnFail::Hide {
                return Err(emit_error(EmitError::Internal(
                    "a SELECT met a condition on new rows",
                )));
            }
            predicate = Some(match predicate {
                None => condition.combined.expr,
                Some(acc) => and(acc, condition.combined.expr),
            });
        }
        let predicate = predicate
            .ok_or_else(|| emit_error(EmitError::Internal("a SELECT met no condition")))?;
        let special =
            specialise(&predicate, self.known).map_err(|e| emit_error(EmitError::Eval(e)))?;
        let mut qualifier = Vec::new();
        qualifier.extend(table.name.schema.clone());
        qualifier.push(table.name.name.clone());
        let selection = self
            .emitter
            .expr(&special, &Scope::new(index, qualifier))
            .map_err(emit_error)?;
        fenced_select_all(&table.name, selection, self.dialect).map_err(emit_error)
    }
}

/// The tables a generated subquery names unqualified: its own, and those
/// its policy's `exists` reads.
fn unqualified_tables(subquery: &Query) -> Vec<String> {
    struct Names(Vec<String>);
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &sql::ObjectName) -> ControlFlow<()> {
            if let Some([single]) = idents(relation).as_deref() {
                self.0.push(single.value.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let mut names = Names(Vec::new());
    let _ = subquery.visit(&mut names);
    names.0
}

/// A WITH item in scope named as a table the generated subquery names
/// unqualified (`names`) would stand in for it, so that is refused.
fn check_hidden_tables(
    names: &[String],
    frame: &Frame,
    dialect: Dialect,
    reader: &str,
) -> Result<(), RewriteError> {
    for table in names {
        let folded = fold_declared(table, dialect);
        if frame.meaning(&folded) != CteMeaning::Table {
            return Err(RewriteError::CteHidesPolicyTable {
                cte: table.clone(),
                table: table.clone(),
                reader: reader.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use sqlparser::ast::{ObjectName, SetExpr, Statement, TableFactor};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::{is_system, resolve};
    use crate::sql::rewrite::scope::{fold, idents};
    use crate::sql::Dialect;
    use crate::Engine;

    fn name(table: &str) -> ObjectName {
        let sql = format!("SELECT 1 FROM {table}");
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
            .unwrap()
            .remove(0);
        let Statement::Query(query) = statement else {
            panic!("{sql} is a query");
        };
        let SetExpr::Select(select) = *query.body else {
            panic!("{sql} is a SELECT");
        };
        match &select.from[0].relation {
            TableFactor::Table { name, .. } => name.clone(),
            other => panic!("{other} is a table"),
        }
    }

    /// A name's parts as written resolve (and are told system relations)
    /// as the same parts folded into strings do.
    #[test]
    fn names_as_written_resolve_as_folded() {
        let engine = Engine::from_source(
            "names.policy",
            r#"
            context tenant { id: text }
            table orders { id: int }
            table "Mixed" { id: int }
            table billing.invoices { id: int }
            table Billing.Upper { id: int }
            "#,
        )
        .unwrap();
        let set = engine.policy_set();
        let names = [
            "orders",
            "ORDERS",
            "\"orders\"",
            "\"ORDERS\"",
            "public.orders",
            "\"public\".orders",
            "PUBLIC.orders",
            "main.orders",
            "Main.\"orders\"",
            "other.orders",
            "\"Mixed\"",
            "Mixed",
            "mixed",
            "billing.invoices",
            "BILLING.\"invoices\"",
            "\"billing\".INVOICES",
            "billing.upper",
            "\"Billing\".\"Upper\"",
            "invoices",
            "a.b.orders",
            "pg_class",
            "\"pg_class\"",
            "PG_CLASS",
            "\"PG_Class\"",
            "pg_catalog.anything",
            "\"PG_CATALOG\".x",
            "information_schema.tables",
            "sqlite_master",
            "SQLITE_Schema",
            "pg",
            "p",
            "\"é_pg\"",
            "ünïcode",
        ];
        let mut resolved = 0;
        for text in names {
            let name = name(text);
            for dialect in [Dialect::Postgres, Dialect::Sqlite] {
                let folded: Vec<String> = idents(&name)
                    .unwrap()
                    .iter()
                    .map(|i| fold(i, dialect))
                    .collect();
                assert_eq!(
                    is_system(&name.0, dialect),
                    is_system(&folded, dialect),
                    "{text} on {dialect:?}"
                );
                let index = resolve(set, &name.0, dialect);
                assert_eq!(
                    index,
                    resolve(set, &folded, dialect),
                    "{text} on {dialect:?}"
                );
                resolved += usize::from(index.is_some());
            }
        }
        assert!(resolved >= 20, "{resolved} of the names resolved");
    }
}
