//! `rampart migrate`: moves one tenant's rows to another database (start),
//! compares both sides (`--verify`), cuts over (`--cutover`) or undoes it
//! (`--rollback`), through `rampart::migrate`.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};
use rampart::migrate::{render_checks, Method, Migration, Options, Step};
use rampart::Context;

use super::engine_args::{engine, report, PolicyArgs};
use super::{output, EXIT_OK, EXIT_REFUSED, EXIT_USAGE};

/// The environment variable of the test hook that ends a run after a step.
const STOP_AFTER: &str = "RAMPART_MIGRATE_STOP_AFTER";

/// `--method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// PostgreSQL logical replication (both sides PostgreSQL 15+)
    Replication,
    /// A snapshot copy (any databases)
    Snapshot,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  rampart migrate -p policies/saas --tenant acme -c @acme-admin.json \\
      --from postgres://app@old/app --to postgres://app@new/app            # copy, then stream changes
  rampart migrate -p policies/saas --tenant acme -c @acme-admin.json --from … --to … --verify
  rampart migrate -p policies/saas --tenant acme -c @acme-admin.json --from … --to … --cutover
  rampart migrate -p policies/saas --tenant acme -c @acme-admin.json --from … --to … --rollback

The tenant's rows of a table are those its SELECT policies admit to the
context (-c; default {\"tenant\": {\"id\": ID}}): give one that sees all of
them, such as an admin of the tenant. Between two PostgreSQL databases the
rows travel by logical replication (publication with a row filter on the
source, subscription on the target; wal_level = logical); otherwise, or with
--method snapshot, as a snapshot copy. Where the migration stands is kept in
the target's table rampart_migration: rerun a stopped command to finish it.
--verify exits 1 when the sides differ.")]
pub struct MigrateArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The tenant's id (`tenant.id`)
    #[arg(long, value_name = "ID")]
    tenant: String,
    /// The context the tenant's rows are read as: JSON text or `@file.json`
    #[arg(short = 'c', long = "context", value_name = "CONTEXT")]
    context: Option<String>,
    /// The database the tenant is in
    #[arg(long, value_name = "URL")]
    from: String,
    /// The database the tenant moves to (its tables must exist)
    #[arg(long, value_name = "URL")]
    to: String,
    /// Only these declared tables (default: all)
    #[arg(long, value_name = "TABLE", num_args = 1.., value_delimiter = ',')]
    tables: Vec<String>,
    /// How rows travel (default: replication between PostgreSQL databases)
    #[arg(long, value_enum)]
    method: Option<MethodArg>,
    /// Compare row counts and checksums of both sides; change nothing
    #[arg(long, conflicts_with_all = ["cutover", "rollback"])]
    verify: bool,
    /// Stop the tenant's writes, wait for catch-up, verify, switch (starting first if need be)
    #[arg(long, conflicts_with = "rollback")]
    cutover: bool,
    /// Undo a migration that is not cut over: target rows, replication objects
    #[arg(long)]
    rollback: bool,
    /// Seconds to wait for the copy and for catching up
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    timeout: u64,
}

pub fn run(args: &MigrateArgs) -> u8 {
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let context = match args.context.as_deref().map(read_context).transpose() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stop_after = match std::env::var(STOP_AFTER) {
        Ok(name) => match Step::from_name(&name) {
            Some(step) => Some(step),
            None => {
                output::stderr(&format!("error: {STOP_AFTER}: unknown step `{name}`\n"));
                return EXIT_USAGE;
            }
        },
        Err(_) => None,
    };
    let options = Options {
        context,
        tables: args.tables.clone(),
        method: args.method.map(|m| match m {
            MethodArg::Replication => Method::Replication,
            MethodArg::Snapshot => Method::Snapshot,
        }),
        progress: std::io::stderr().is_terminal(),
        stop_after,
        timeout: std::time::Duration::from_secs(args.timeout),
        ..Options::new(&args.tenant, &args.from, &args.to)
    };
    let migration = match Migration::new(&engine, options) {
        Ok(m) => m,
        Err(e) => return report(e),
    };
    let tenant = &args.tenant;
    if args.verify {
        return match migration.verify() {
            Ok(checks) => {
                output::stdout(&render_checks(&checks));
                if checks.iter().all(|c| c.matches()) {
                    EXIT_OK
                } else {
                    output::stderr("refused: the tenant's rows differ between source and target\n");
                    EXIT_REFUSED
                }
            }
            Err(e) => report(e),
        };
    }
    if args.rollback {
        return match migration.rollback() {
            Ok(undone) if undone.is_empty() => {
                output::stdout(&format!("nothing to roll back for tenant `{tenant}`\n"));
                EXIT_OK
            }
            Ok(undone) => {
                undone
                    .iter()
                    .for_each(|line| output::stdout(&format!("{line}\n")));
                output::stdout(&format!("rolled back the migration of tenant `{tenant}`\n"));
                EXIT_OK
            }
            Err(e) => report(e),
        };
    }
    if args.cutover {
        return match migration.cutover(None) {
            Ok(checks) => {
                output::stdout(&render_checks(&checks));
                output::stdout(&format!(
                    "cut over: tenant `{tenant}` now lives in the target; its rows on the source are left as they were\n"
                ));
                EXIT_OK
            }
            Err(e) => report(e),
        };
    }
    match migration.start(None) {
        Ok(()) => {
            let how = match migration.method() {
                Method::Replication => {
                    "copied; changes on the source stream to the target until `--cutover`"
                }
                Method::Snapshot => {
                    "copied (a snapshot: changes made since are not copied; `--cutover` verifies)"
                }
            };
            output::stdout(&format!("tenant `{tenant}`: {how}\n"));
            EXIT_OK
        }
        Err(e) => report(e),
    }
}

fn read_context(text: &str) -> Result<Context, u8> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            output::stderr(&format!("error: cannot read context file `{path}`: {e}\n"));
            EXIT_USAGE
        })?,
        None => text.to_string(),
    };
    Context::from_json(&text).map_err(report)
}
