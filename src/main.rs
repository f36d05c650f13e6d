//! The `rampart` command: argument parsing only; each subcommand's work is in
//! `cli/` on top of the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(error) => {
            // `--help` and `--version` arrive here too, and are not failures.
            let _ = error.print();
            let code = if error.use_stderr() {
                cli::EXIT_USAGE
            } else {
                cli::EXIT_OK
            };
            return ExitCode::from(code);
        }
    };
    ExitCode::from(cli::run(args))
}
