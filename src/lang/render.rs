//! Rendering diagnostics: `file:line:col: severity: message` followed by the
//! source snippet with a caret (laid out by `codespan-reporting`), or JSON.

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};

use super::diag::{Diagnostic, Severity, SourceMap};

pub(super) fn render_text(map: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut files = SimpleFiles::new();
    for (_, file) in map.files() {
        files.add(file.name.as_str(), file.text.as_str());
    }
    let config = Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&header(map, diagnostic));
        out.push('\n');
        let report = match diagnostic.severity {
            Severity::Error => Report::error(),
            Severity::Warning => Report::warning(),
        };
        let mut labels = vec![Label::primary(
            diagnostic.span.file as usize,
            diagnostic.span.range(),
        )];
        labels.extend(diagnostic.related.iter().map(|(span, label)| {
            Label::secondary(span.file as usize, span.range()).with_message(label.clone())
        }));
        let report = report
            .with_labels(labels)
            .with_notes(diagnostic.notes.clone());
        match term::emit_into_string(&config, &files, &report) {
            // The first line is codespan's own header; ours stands above it.
            Ok(snippet) => {
                for line in snippet.lines().skip(1) {
                    out.push_str(line.trim_end());
                    out.push('\n');
                }
            }
            Err(_) => out.push('\n'),
        }
    }
    out
}

fn header(map: &SourceMap, diagnostic: &Diagnostic) -> String {
    let name = map
        .file(diagnostic.span.file)
        .map_or("<unknown>", |f| f.name.as_str());
    let (line, column) = map.line_col(diagnostic.span);
    format!(
        "{name}:{line}:{column}: {}: {}",
        diagnostic.severity, diagnostic.message
    )
}

pub(super) fn render_json(map: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let (line, column) = map.line_col(diagnostic.span);
        let (end_line, end_column) = map.line_col(super::ast::Span {
            start: diagnostic.span.end,
            ..diagnostic.span
        });
        let file = map
            .file(diagnostic.span.file)
            .map_or("<unknown>", |f| f.name.as_str());
        let value = serde_json::json!({
            "severity": diagnostic.severity,
            "file": file,
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "message": diagnostic.message,
            "notes": diagnostic.notes,
        });
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out
}
