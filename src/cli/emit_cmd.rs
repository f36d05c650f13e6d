//! `rampart emit-postgres`: native PostgreSQL DDL for a policy set.

use std::path::PathBuf;

use clap::Args;

use super::engine_args::{report, PolicyArgs};
use super::{output, EXIT_OK};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart emit-postgres policies/saas | psql \"$DATABASE_URL\"\n\nContext is read from settings `rampart.<block>_<field>`; set them per transaction:\n  SELECT set_config('rampart.tenant_id', 'acme', true);"
)]
pub struct EmitArgs {
    /// A `.policy` file or a directory of them
    #[arg(value_name = "PATH")]
    path: PathBuf,
}

pub fn run(args: &EmitArgs) -> u8 {
    let engine = match super::engine_args::engine(&PolicyArgs {
        policies: args.path.clone(),
    }) {
        Ok(e) => e,
        Err(code) => return code,
    };
    match engine.emit_postgres() {
        Ok(ddl) => {
            output::stdout(&ddl);
            EXIT_OK
        }
        Err(e) => report(e),
    }
}
