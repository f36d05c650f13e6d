//! `rampart eval`: decide one row with the interpreter and the compiled
//! predicate, print the verdicts of the combined `using` and `check` and each
//! evaluator's answers (and why a clause was not compiled); disagreement
//! fails loudly.

use clap::{Args, ValueEnum};
use rampart::engine::{ClauseEvaluation, Evaluation};
use rampart::policy::EvalError;
use rampart::Error;
use serde_json::Value as Json;

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
    after_help = "Example:\n  rampart eval -p policies/saas -c @ctx.json --table orders --command update \\\n    --row '{\"id\": 1, \"tenant_id\": \"acme\", \"owner\": \"bob\", \"amount\": 5, \"status\": \"open\", \"note\": null, \"created\": null}'\n\nPrints `using: true|false|null` and `check: …` (a clause the command has not is left out),\nthen each evaluator's answers: `interpreter: …`, `compiled: …`, and `not compiled: <clause>: <why>`\nwhere compilation was refused (the interpreter decides those). The evaluators disagreeing is a\nbug: both answers are printed and the command fails with XX000.\nExit codes: 0 decided, 1 refused or an evaluation error (with its SQLSTATE), 2 usage."
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

/// An evaluator's answer in words: `true`, `false`, `null`, `error[22012]`.
fn answer(a: &Result<Option<bool>, EvalError>) -> String {
    match a {
        Ok(v) => word(*v).into(),
        Err(e) => format!("error[{}]", e.sqlstate()),
    }
}

fn answer_json(a: &Result<Option<bool>, EvalError>) -> Json {
    match a {
        Ok(v) => v.map_or(Json::Null, Into::into),
        Err(e) => format!("error[{}]: {e}", e.sqlstate()).into(),
    }
}

/// The clauses the command has, by name.
fn clauses(e: &Evaluation) -> Vec<(&'static str, &ClauseEvaluation)> {
    [("using", &e.using), ("check", &e.check)]
        .into_iter()
        .filter_map(|(name, c)| c.as_ref().map(|c| (name, c)))
        .collect()
}

/// `interpreter: …`, `compiled: …` and, for clauses not compiled,
/// `not compiled: <clause>: <why>` lines.
fn evaluators_text(e: &Evaluation) -> String {
    let mut interpreter = Vec::new();
    let mut compiled = Vec::new();
    let mut refused = String::new();
    for (name, c) in clauses(e) {
        interpreter.push(format!("{name} {}", answer(&c.interpreter)));
        match &c.compiled {
            Ok(a) => compiled.push(format!("{name} {}", answer(a))),
            Err(why) => refused.push_str(&format!(
                "not compiled: {name}: {why} (the interpreter decides)\n"
            )),
        }
    }
    let mut out = format!("interpreter: {}\n", interpreter.join(", "));
    if !compiled.is_empty() {
        out.push_str(&format!("compiled: {}\n", compiled.join(", ")));
    }
    out + &refused
}

/// `"interpreter"`, `"compiled"` and (when a clause was not compiled)
/// `"not_compiled"` objects, keyed by clause.
fn evaluators_json(e: &Evaluation, object: &mut serde_json::Map<String, Json>) {
    let mut interpreter = serde_json::Map::new();
    let mut compiled = serde_json::Map::new();
    let mut refused = serde_json::Map::new();
    for (name, c) in clauses(e) {
        interpreter.insert(name.into(), answer_json(&c.interpreter));
        match &c.compiled {
            Ok(a) => compiled.insert(name.into(), answer_json(a)),
            Err(why) => refused.insert(name.into(), why.to_string().into()),
        };
    }
    object.insert("interpreter".into(), interpreter.into());
    object.insert("compiled".into(), compiled.into());
    if !refused.is_empty() {
        object.insert("not_compiled".into(), refused.into());
    }
}

pub fn run(args: &EvalArgs) -> u8 {
    let command = match args.target.command() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let row: Json = match serde_json::from_str(&args.row) {
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
    let evaluation = match engine.evaluate_both(&ctx, &args.target.table, command, &row) {
        Ok(v) => v,
        Err(e) => return report(e),
    };
    let verdict = match evaluation.verdict() {
        Ok(v) => v,
        Err(e @ Error::Disagreement(_)) => {
            // Never expected: show both answers, then fail.
            output::stdout(&evaluators_text(&evaluation));
            return report(e);
        }
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
            out + &evaluators_text(&evaluation)
        }
        Format::Json => {
            let mut object = serde_json::Map::new();
            if let Some(u) = verdict.using {
                object.insert("using".into(), u.map_or(Json::Null, Into::into));
            }
            if let Some(c) = verdict.check {
                object.insert("check".into(), c.map_or(Json::Null, Into::into));
            }
            evaluators_json(&evaluation, &mut object);
            format!("{}\n", Json::Object(object))
        }
    };
    output::stdout(&out);
    EXIT_OK
}
