//! `rampart eval`: decide one row with every evaluator and print the
//! verdicts of the combined `using` and `check`; disagreement fails loudly.

use clap::{Args, ValueEnum};

use super::engine_args::{context, engine, report, ContextArgs, PolicyArgs, TargetArgs};
use super::{output, EXIT_OK, EXIT_USAGE};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart eval -p policies/saas -c @ctx.json --table orders --command update \\\n    --row '{\"id\": 1, \"tenant_id\": \"acme\", \"owner\": \"bob\", \"amount\": 5, \"status\": \"open\", \"note\": null, \"created\": null}'\n\nPrints `using: true|false|null` and `check: …` (a clause the command has not is left out).\nExit codes: 0 decided, 1 refused or an evaluation error (with its SQLSTATE), 2 usage."
)]
pub struct EvalArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    context: ContextArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// The row as JSON: `{"column": value, …}` with every declared column
    #[arg(long)]
    row: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn word(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    }
}

pub fn run(args: &EvalArgs) -> u8 {
    let command = match args.target.command() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let row: serde_json::Value = match serde_json::from_str(&args.row) {
        Ok(r) => r,
        Err(e) => {
            output::stderr(&format!("error: --row is not valid JSON: {e}\n"));
            return EXIT_USAGE;
        }
    };
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let ctx = match context(&args.context) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let verdict = match engine.evaluate(&ctx, &args.target.table, command, &row) {
        Ok(v) => v,
        Err(e) => return report(e),
    };
    let out = match args.format {
        Format::Text => {
            let mut out = String::new();
            if let Some(u) = verdict.using {
                out.push_str(&format!("using: {}\n", word(u)));
            }
            if let Some(c) = verdict.check {
                out.push_str(&format!("check: {}\n", word(c)));
            }
            out
        }
        Format::Json => {
            let mut object = serde_json::Map::new();
            if let Some(u) = verdict.using {
                object.insert(
                    "using".into(),
                    u.map_or(serde_json::Value::Null, Into::into),
                );
            }
            if let Some(c) = verdict.check {
                object.insert(
                    "check".into(),
                    c.map_or(serde_json::Value::Null, Into::into),
                );
            }
            format!("{}\n", serde_json::Value::Object(object))
        }
    };
    output::stdout(&out);
    EXIT_OK
}
