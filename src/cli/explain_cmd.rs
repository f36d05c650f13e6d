//! `rampart explain`: the combined, tenant-specialised predicate for a table
//! and command, which policies applied and why, as policy text and as SQL.

use clap::Args;
use rampart::{ExplainedPredicate, Explanation};

use super::engine_args::{context, engine, report, ContextArgs, PolicyArgs, TargetArgs};
use super::{output, EXIT_OK, EXIT_REFUSED};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart explain -p policies/saas -c '{\"tenant\": {\"id\": \"acme\", \"plan\": \"pro\"}, \"request\": {\"user\": \"bob\", \"roles\": [\"member\"]}}' --table orders --command select"
)]
pub struct ExplainArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    context: ContextArgs,
    #[command(flatten)]
    target: TargetArgs,
}

pub fn run(args: &ExplainArgs) -> u8 {
    let command = match args.target.command() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let ctx = match context(&args.context) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let explained = match engine.explain(&ctx, &args.target.table, command) {
        Ok(x) => x,
        Err(e) => return report(e),
    };
    output::stdout(&render(&explained));
    if explained.using.is_none() && explained.check.is_none() {
        return EXIT_REFUSED;
    }
    EXIT_OK
}

/// An explanation as the command prints it.
pub fn render(explained: &Explanation) -> String {
    let command = explained.command;
    let mut out = format!(
        "table `{}`, command `{command}`\n\npolicies:\n",
        explained.table
    );
    if explained.applied.is_empty() {
        out.push_str("  (none applies: every row is denied)\n");
    }
    for (name, why) in &explained.applied {
        out.push_str(&format!("  applies  {name}: {why}\n"));
    }
    for (name, why) in &explained.skipped {
        out.push_str(&format!("  skipped  {name}: {why}\n"));
    }
    let mut section = |title: &str, p: &Option<ExplainedPredicate>| {
        if let Some(p) = p {
            out.push_str(&format!(
                "\n{title}:\n  rampart:  {}\n  postgres: {}\n  sqlite:   {}\n",
                p.rampart, p.postgres, p.sqlite
            ));
        }
    };
    section("using (existing rows)", &explained.using);
    section("check (new rows)", &explained.check);
    out
}
