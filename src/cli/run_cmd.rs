//! `rampart run`: executes SQL through the engine as a context (rewrite,
//! run in a transaction, verify new rows, strip appended columns) and
//! prints each statement's result; stops at the first error.

use clap::{Args, ValueEnum};
use rampart::sql::schema::create_tables;

use super::engine_args::{context, engine, report, ContextArgs, PolicyArgs};
use super::{output, table, EXIT_OK};

/// `--format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables, as psql prints them
    #[default]
    Table,
    /// One JSON object per statement: {"columns", "rows", "affected"}
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart run -p policies/saas -c '{\"tenant\": {\"id\": \"acme\", \"plan\": \"pro\"}, \"request\": {\"user\": \"ann\", \"roles\": [\"admin\"]}}' --db sqlite:app.db 'SELECT id, amount FROM orders'\n\nWith --db sqlite::memory: the declared tables are created, empty, first.\nAn error prints error[SQLSTATE]: message, exits 1 and leaves the database\nas it was before that statement."
)]
pub struct RunArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    context: ContextArgs,
    /// `sqlite::memory:`, `sqlite:FILE` or `postgres://user@host:port/db`
    #[arg(long, value_name = "URL")]
    db: String,
    /// How results are printed
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// SQL to run, in order: each argument may hold several statements
    #[arg(required = true, value_name = "SQL")]
    sql: Vec<String>,
}

pub fn run(args: &RunArgs) -> u8 {
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let ctx = match context(&args.context) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut backend = match rampart::exec::open(&args.db) {
        Ok(b) => b,
        Err(e) => return report(e),
    };
    if args.db == "sqlite::memory:" {
        let ddl = create_tables(engine.policy_set(), backend.dialect());
        if let Err(e) = backend.batch(&ddl) {
            return report(e.into());
        }
    }
    if let Err(e) = engine.verify_schema(backend.as_mut()) {
        return report(e);
    }
    let mut session = match engine.connect(ctx, backend) {
        Ok(s) => s,
        Err(e) => return report(e),
    };
    for sql in &args.sql {
        let (results, error) = session.execute_each(sql);
        for result in &results {
            match args.format {
                Format::Table => output::stdout(&table::render(result)),
                Format::Json => output::stdout(&format!("{}\n", table::json(result))),
            }
        }
        if let Some(e) = error {
            return report(e);
        }
    }
    EXIT_OK
}
