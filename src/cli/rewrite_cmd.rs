//! `rampart rewrite`: prints SQL rewritten so that each statement sees only
//! the rows the policies admit for the context; a refusal exits 1.

use clap::{Args, ValueEnum};
use rampart::Dialect;

use super::engine_args::{context, engine, report, ContextArgs, PolicyArgs};
use super::{output, EXIT_OK};

/// `--dialect`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    #[default]
    Postgres,
    Sqlite,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart rewrite -p policies/saas -c '{\"tenant\": {\"id\": \"acme\", \"plan\": \"pro\"}, \"request\": {\"user\": \"bob\", \"roles\": [\"member\"]}}' 'SELECT * FROM orders o WHERE o.amount > 10'"
)]
pub struct RewriteArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    context: ContextArgs,
    /// The SQL dialect to parse and print
    #[arg(long, value_enum, default_value_t = DialectArg::Postgres)]
    dialect: DialectArg,
    /// The SQL: one or more statements separated by `;`
    sql: String,
}

pub fn run(args: &RewriteArgs) -> u8 {
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let ctx = match context(&args.context) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dialect = match args.dialect {
        DialectArg::Postgres => Dialect::Postgres,
        DialectArg::Sqlite => Dialect::Sqlite,
    };
    match engine.rewrite(&ctx, dialect, &args.sql) {
        Ok(sql) => {
            output::stdout(&format!("{sql}\n"));
            EXIT_OK
        }
        Err(e) => report(e),
    }
}
