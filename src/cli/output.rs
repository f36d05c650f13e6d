//! Writing results and diagnostics without panicking when a pipe closes
//! (`println!` would), and the small English of summaries.

use std::io::Write;

use rampart::lang::{Diagnostic, SourceMap};

use super::ErrorFormat;

/// Writes to stdout; a closed pipe is not worth a panic.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Writes to stderr.
pub fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Prints diagnostics on stderr in the chosen format.
pub fn diagnostics(sources: &SourceMap, diagnostics: &[Diagnostic], format: ErrorFormat) {
    if diagnostics.is_empty() {
        return;
    }
    stderr(&match format {
        ErrorFormat::Human => sources.render(diagnostics),
        ErrorFormat::Json => sources.render_json(diagnostics),
    });
}

/// `1 file`, `3 files`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
