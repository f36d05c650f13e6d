//! The progress bar of a migration (`indicatif`): tables done and rows
//! copied, on stderr, and nothing at all when stderr is not a terminal or
//! the caller asked for none.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Tables and rows of one copy.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `rows` rows; hidden unless `shown` (and stderr a terminal,
    /// which indicatif checks itself).
    pub fn new(shown: bool, rows: u64) -> Progress {
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(rows), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>12} {msg:<24} [{bar:30}] {pos}/{len} rows ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// Now working on `table`, the `n`th of `of`.
    pub fn table(&self, table: &str, n: usize, of: usize) {
        self.bar.set_prefix(format!("table {n}/{of}"));
        self.bar.set_message(table.to_string());
    }

    pub fn rows_done(&self, rows: u64) {
        self.bar.inc(rows);
    }

    pub fn set_rows(&self, rows: u64) {
        self.bar.set_position(rows);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
