//! Setting up a differential test database: the corpus's tables filled and
//! under native RLS, the non-owner role granted, presets as column defaults
//! for native INSERTs, and a context's `rampart.*` settings.

use std::collections::BTreeSet;

use postgres::Client;
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine};

use crate::common::pg::{quote_ident, TestDb};
use crate::random_sets::Rng;

/// Rows each table starts with.
pub const ROWS_PER_TABLE: usize = 24;

/// Sets the context's `rampart.*` settings for the session.
pub fn set_context(client: &mut Client, engine: &Engine, ctx: &Context) {
    let values = engine.context_values(ctx).unwrap();
    for (field, value) in engine.policy_set().context.iter().zip(&values) {
        let name = format!("rampart.{}_{}", field.block.keyword(), field.name);
        client
            .query(
                "SELECT set_config($1, $2, false)",
                &[&name, &crate::inputs::setting_text(value)],
            )
            .unwrap();
    }
}

/// Creates the tables, fills them, loads native RLS and grants the role
/// every statement the corpora write.
pub fn load(
    db: &TestDb,
    su: &mut Client,
    engine: &Engine,
    corpus: &crate::corpus::Corpus,
    rng: &mut Rng,
) {
    let set = engine.policy_set();
    su.batch_execute(&create_tables(set, Dialect::Postgres))
        .unwrap();
    crate::data::fill(su, set, &corpus.pools, rng, ROWS_PER_TABLE);
    su.batch_execute(&engine.emit_postgres().unwrap()).unwrap();
    let schemas: BTreeSet<String> = set
        .tables
        .iter()
        .map(|t| t.name.schema.clone().unwrap_or_else(|| "public".into()))
        .collect();
    for s in &schemas {
        su.batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {s} TO {r}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r};",
            s = quote_ident(s),
            r = db.role
        ))
        .unwrap();
    }
}

/// Every declared table's name, quoted (and schema-qualified when declared so).
pub fn table_names(engine: &Engine) -> Vec<String> {
    engine
        .policy_set()
        .tables
        .iter()
        .map(|table| {
            let mut name = String::new();
            if let Some(schema) = &table.name.schema {
                name.push_str(&quote_ident(schema));
                name.push('.');
            }
            name.push_str(&quote_ident(&table.name.name));
            name
        })
        .collect()
}
