//! `rampart check PATH…`: parse and check a policy set, print every
//! diagnostic on stderr and a one-line summary on stdout.

use std::path::PathBuf;

use clap::Args;
use rampart::lang::load::{self, Loaded};
use rampart::lang::{Diagnostic, Item, Severity};

use super::output::{self, count};
use super::{ErrorFormat, EXIT_OK, EXIT_REFUSED, EXIT_USAGE};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  rampart check policies/saas\n  rampart check orders.policy roles.policy\n  rampart check --error-format json policies/ 2> diagnostics.jsonl\n  cat orders.policy | rampart check -\n\nWarnings do not fail the check. Exit codes: 0 ok, 1 errors found, 2 usage or I/O problem."
)]
pub struct CheckArgs {
    /// Policy sets: each a `.policy` file or a directory of them (searched recursively, merged), or `-` for stdin
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// How to print diagnostics on stderr
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human, value_name = "FORMAT")]
    error_format: ErrorFormat,
}

/// Checks each PATH as a policy set of its own (a file, or a directory of
/// `.policy` files merged), so `rampart check policies/saas policies/blog`
/// checks two independent sets.
pub fn run(args: &CheckArgs) -> u8 {
    if args.paths.len() > 1 && args.paths.iter().any(|p| p.as_os_str() == "-") {
        output::stderr("error: `-` (standard input) cannot be combined with other paths\n");
        return EXIT_USAGE;
    }
    let several = args.paths.len() > 1;
    let mut worst = EXIT_OK;
    for path in &args.paths {
        let prefix = if several {
            format!("{}: ", path.display())
        } else {
            String::new()
        };
        worst = worst.max(check_one(path, &prefix, args.error_format));
    }
    worst
}

fn check_one(path: &PathBuf, prefix: &str, error_format: ErrorFormat) -> u8 {
    let loaded = match read(std::slice::from_ref(path)) {
        Ok(loaded) => loaded,
        Err(message) => {
            output::stderr(&format!("error: {message}\n"));
            return EXIT_USAGE;
        }
    };
    let Loaded {
        sources,
        files,
        mut diagnostics,
    } = loaded;
    let mut ok = !diagnostics.iter().any(Diagnostic::is_error);
    // Checking files that did not parse would only add noise about the
    // declarations they were meant to make.
    if ok {
        let checked = rampart::lang::check(&files);
        ok = checked.set.is_some();
        diagnostics.extend(checked.diagnostics);
    }
    output::diagnostics(&sources, &diagnostics, error_format);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let file_count = sources.files().count();
    let tally = format!(
        "{}, {}",
        count(errors, "error", "errors"),
        count(warnings, "warning", "warnings")
    );
    if !ok || errors > 0 {
        if error_format == ErrorFormat::Human {
            output::stderr(&format!(
                "{prefix}refused: {tally} in {}\n",
                count(file_count, "file", "files")
            ));
        }
        return EXIT_REFUSED;
    }
    let items = files.iter().flat_map(|f| f.items.iter());
    let (tables, policies) = items.fold((0, 0), |(t, p), item| match item {
        Item::Table(_) => (t + 1, p),
        Item::Policy(_) => (t, p + 1),
        _ => (t, p),
    });
    output::stdout(&format!(
        "{prefix}checked {}: {}, {}, {tally}\n",
        count(file_count, "file", "files"),
        count(tables, "table", "tables"),
        count(policies, "policy", "policies"),
    ));
    EXIT_OK
}

/// Loads the paths, or standard input when the only path is `-`.
fn read(paths: &[PathBuf]) -> Result<Loaded, String> {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        if paths.len() > 1 {
            return Err("`-` (standard input) cannot be combined with other paths".to_string());
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(load::load_bytes("<stdin>", bytes));
    }
    load::load(paths).map_err(|e| e.to_string())
}
