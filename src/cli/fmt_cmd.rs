//! `rampart fmt PATH…`: rewrite policy files in canonical form (only those
//! that change), or with `--check` list them; `-` formats stdin to stdout.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use rampart::lang::fmt::{format_parsed, FmtError};
use rampart::lang::load;
use rampart::lang::SourceMap;

use super::output;
use super::{ErrorFormat, EXIT_OK, EXIT_REFUSED, EXIT_USAGE};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  rampart fmt policies/           # rewrite every .policy file that is not formatted\n  rampart fmt --check policies/   # change nothing; list files that would change, exit 1 if any\n  rampart fmt - < orders.policy   # read stdin, write the formatted text to stdout\n\nComments are kept. A file that does not parse is left alone and reported."
)]
pub struct FmtArgs {
    /// Policy files, directories of `.policy` files (searched recursively), or `-` for stdin
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Change nothing: list the files that would change and exit 1 if there are any
    #[arg(long)]
    check: bool,
}

/// What happened to the files, for the exit code.
#[derive(Default)]
struct Outcome {
    refused: bool,
    io_error: bool,
}

pub fn run(args: &FmtArgs) -> u8 {
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && args.paths.len() > 1 {
        output::stderr("error: `-` (standard input) cannot be combined with other paths\n");
        return EXIT_USAGE;
    }
    let outcome = if stdin {
        format_stdin(args.check)
    } else {
        match load::policy_paths(&args.paths) {
            Ok(files) => {
                let mut outcome = Outcome::default();
                for file in &files {
                    format_path(file, args.check, &mut outcome);
                }
                outcome
            }
            Err(e) => {
                output::stderr(&format!("error: {e}\n"));
                return EXIT_USAGE;
            }
        }
    };
    if outcome.io_error {
        EXIT_USAGE
    } else if outcome.refused {
        EXIT_REFUSED
    } else {
        EXIT_OK
    }
}

fn format_stdin(check: bool) -> Outcome {
    let mut outcome = Outcome::default();
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        output::stderr(&format!("error: cannot read standard input: {e}\n"));
        outcome.io_error = true;
        return outcome;
    }
    let mut sources = SourceMap::new();
    let (id, parsed) = load::add_bytes(&mut sources, "<stdin>".to_string(), bytes);
    let Some(formatted) = format_one(&sources, id, parsed, &mut outcome) else {
        return outcome;
    };
    if check {
        let original = sources.file(id).map_or("", |f| f.text.as_str());
        if formatted != original {
            output::stdout("<stdin>\n");
            outcome.refused = true;
        }
    } else {
        output::stdout(&formatted);
    }
    outcome
}

fn format_path(path: &Path, check: bool, outcome: &mut Outcome) {
    let mut sources = SourceMap::new();
    let (id, parsed) = match load::read_file(&mut sources, path) {
        Ok(read) => read,
        Err(e) => {
            output::stderr(&format!("error: {e}\n"));
            outcome.io_error = true;
            return;
        }
    };
    let Some(formatted) = format_one(&sources, id, parsed, outcome) else {
        return;
    };
    let original = sources.file(id).map_or("", |f| f.text.as_str());
    if formatted == original {
        return;
    }
    if check {
        output::stdout(&format!("{}\n", path.display()));
        outcome.refused = true;
    } else if let Err(e) = std::fs::write(path, formatted) {
        output::stderr(&format!("error: cannot write `{}`: {e}\n", path.display()));
        outcome.io_error = true;
    }
}

/// The formatted text of one parsed source, or `None` after reporting why not.
fn format_one(
    sources: &SourceMap,
    id: rampart::lang::FileId,
    parsed: Result<rampart::lang::PolicyFile, Vec<rampart::lang::Diagnostic>>,
    outcome: &mut Outcome,
) -> Option<String> {
    let name = sources.file(id).map_or("<unknown>", |f| f.name.as_str());
    let text = sources.file(id).map_or("", |f| f.text.as_str());
    let result = parsed
        .map_err(FmtError::Parse)
        .and_then(|file| format_parsed(text, &file));
    match result {
        Ok(formatted) => Some(formatted),
        Err(FmtError::Parse(diagnostics)) => {
            output::diagnostics(sources, &diagnostics, ErrorFormat::Human);
            output::stderr(&format!("error: `{name}` does not parse; not formatted\n"));
            outcome.refused = true;
            None
        }
        Err(e @ FmtError::Unstable) => {
            output::stderr(&format!("error: `{name}`: {e}\n"));
            outcome.refused = true;
            None
        }
    }
}
