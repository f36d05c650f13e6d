//! The `rampart` command line: the argument types and exit codes. Each
//! subcommand lives in a file of its own (`check_cmd.rs`, `fmt_cmd.rs`, …).

mod check_cmd;
mod demo_cmd;
mod emit_cmd;
mod engine_args;
mod eval_cmd;
mod explain_cmd;
mod fmt_cmd;
mod migrate_cmd;
mod output;
mod rewrite_cmd;
mod run_cmd;
mod shell_cmd;
mod table;
mod usage_cmd;

use clap::{Parser, Subcommand, ValueEnum};

/// Success.
pub const EXIT_OK: u8 = 0;
/// The input was refused: policy errors, a failed check, files not formatted.
pub const EXIT_REFUSED: u8 = 1;
/// Usage or I/O problems.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Row-level security and tenant isolation for SQL, from a small policy language",
    after_help = "Examples:\n  rampart check policies/saas\n  rampart fmt --check policies/\n\nExit codes: 0 ok, 1 input refused, 2 usage or I/O problem."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check policy files or directories of them
    Check(check_cmd::CheckArgs),
    /// Rewrite policy files in canonical form, comments kept
    Fmt(fmt_cmd::FmtArgs),
    /// Show the combined, tenant-specialised predicate for a table and command
    Explain(explain_cmd::ExplainArgs),
    /// Decide one row with every evaluator
    Eval(eval_cmd::EvalArgs),
    /// Print native PostgreSQL DDL (ENABLE/FORCE RLS, CREATE POLICY) for a policy set
    EmitPostgres(emit_cmd::EmitArgs),
    /// Print SQL rewritten so that each statement sees only the rows the policies admit
    Rewrite(rewrite_cmd::RewriteArgs),
    /// Run SQL through the engine as a context: rewrite, run, verify, print
    Run(run_cmd::RunArgs),
    /// A short tour of what Rampart does, on an in-memory database
    Demo(demo_cmd::DemoArgs),
    /// An interactive prompt running SQL as a context
    Shell(shell_cmd::ShellArgs),
    /// Move one tenant's rows to another database: copy, verify, cut over, roll back
    Migrate(migrate_cmd::MigrateArgs),
    /// Print each tenant's quota limits and stored bytes (`--recompute` rebuilds usage first)
    Usage(usage_cmd::UsageArgs),
}

/// How diagnostics are printed on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    /// `file:line:col: error: message`, the source line and a caret
    #[default]
    Human,
    /// One JSON object per line: severity, file, line, column, message
    Json,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check(args) => check_cmd::run(&args),
        Command::Fmt(args) => fmt_cmd::run(&args),
        Command::Explain(args) => explain_cmd::run(&args),
        Command::Eval(args) => eval_cmd::run(&args),
        Command::EmitPostgres(args) => emit_cmd::run(&args),
        Command::Rewrite(args) => rewrite_cmd::run(&args),
        Command::Run(args) => run_cmd::run(&args),
        Command::Demo(args) => demo_cmd::run(&args),
        Command::Shell(args) => shell_cmd::run(&args),
        Command::Migrate(args) => migrate_cmd::run(&args),
        Command::Usage(args) => usage_cmd::run(&args),
    }
}
