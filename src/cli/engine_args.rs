//! Arguments shared by the subcommands that run a policy set against a
//! context (`-p PATH`, `-c CONTEXT`), and turning library errors into exit codes.

use std::path::PathBuf;

use clap::Args;
use rampart::{Context, Engine, Error};

use super::{output, EXIT_REFUSED, EXIT_USAGE};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A `.policy` file or a directory of them
    #[arg(short = 'p', long = "policies", value_name = "PATH")]
    pub policies: PathBuf,
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// The context as JSON text, or `@file.json`
    #[arg(short = 'c', long = "context", value_name = "CONTEXT")]
    pub context: String,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The table, as declared (`orders`, `audit.events`)
    #[arg(long)]
    pub table: String,
    /// `select`, `insert`, `update` or `delete`
    #[arg(long)]
    pub command: String,
}

impl TargetArgs {
    /// The command, or the exit code after saying why not.
    pub fn command(&self) -> Result<rampart::Command, u8> {
        rampart::Command::from_name(&self.command)
            .ok_or_else(|| report(Error::UnknownCommand(self.command.clone())))
    }
}

/// Loads the policy set, printing why not on failure.
pub fn engine(args: &PolicyArgs) -> Result<Engine, u8> {
    Engine::load(&args.policies).map_err(report)
}

/// Reads `-c`: JSON text or `@file`.
pub fn context(args: &ContextArgs) -> Result<Context, u8> {
    let text = match args.context.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            output::stderr(&format!("error: cannot read context file `{path}`: {e}\n"));
            EXIT_USAGE
        })?,
        None => args.context.clone(),
    };
    Context::from_json(&text).map_err(report)
}

/// Prints an error as `error[SQLSTATE]: message` and gives its exit code.
pub fn report(error: Error) -> u8 {
    match &error {
        Error::Policy { rendered, count } => {
            output::stderr(rendered);
            output::stderr(&format!("refused: {count} error(s) in the policy set\n"));
            EXIT_REFUSED
        }
        Error::Load(_) | Error::Url(_) => {
            output::stderr(&format!("error: {error}\n"));
            EXIT_USAGE
        }
        // The database could not be reached: an I/O problem, not a refusal.
        Error::Database(e) if e.sqlstate.starts_with("08") => {
            output::stderr(&format!("error[{}]: {error}\n", error.sqlstate()));
            EXIT_USAGE
        }
        Error::Migrate(e) if migration_usage(e) => {
            output::stderr(&format!("error[{}]: {error}\n", error.sqlstate()));
            EXIT_USAGE
        }
        _ => {
            output::stderr(&format!("error[{}]: {error}\n", error.sqlstate()));
            EXIT_REFUSED
        }
    }
}

/// A migration error that is a usage or I/O problem: bad options, a URL,
/// a database that cannot be reached.
fn migration_usage(error: &rampart::migrate::MigrateError) -> bool {
    use rampart::migrate::MigrateError;
    match error {
        MigrateError::Usage(_) => true,
        MigrateError::On { error, .. } => {
            matches!(**error, Error::Url(_) | Error::Load(_)) || error.sqlstate().starts_with("08")
        }
        _ => false,
    }
}
