//! Rendering diagnostics: `file:line:col: severity: message` followed by the
//! source snippet with a caret (laid out by `codespan-reporting`), or JSON.
//! A very long source line is shown as a window around the caret, with `…`.

use std::collections::BTreeSet;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, Config};

use super::ast::Span;
use super::diag::{Diagnostic, Severity, SourceFile, SourceMap};

/// Source lines longer than this (in characters) are shown as a window.
pub const MAX_SNIPPET_CHARS: usize = 120;
/// How much of a long line to show before the caret, in characters.
const CHARS_BEFORE_CARET: usize = 40;
/// A multi-line label spanning more lines than this shows only its first and last.
const MAX_LABEL_LINES: usize = 4;
const ELLIPSIS: &str = "…";

pub(super) fn render_text(map: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let config = Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&header(map, diagnostic));
        out.push('\n');
        let excerpts = Excerpts::for_diagnostic(map, diagnostic);
        let report = match diagnostic.severity {
            Severity::Error => Report::error(),
            Severity::Warning => Report::warning(),
        };
        let mut labels = Vec::new();
        if let Some(range) = excerpts.map_span(diagnostic.span) {
            labels.push(Label::primary(diagnostic.span.file as usize, range));
        }
        for (span, label) in &diagnostic.related {
            if let Some(range) = excerpts.map_span(*span) {
                labels.push(Label::secondary(span.file as usize, range).with_message(label));
            }
        }
        let report = report
            .with_labels(labels)
            .with_notes(diagnostic.notes.clone());
        match term::emit_into_string(&config, &excerpts, &report) {
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

/// The lines of each file that one diagnostic shows, long ones cut to a
/// window, presented to codespan as files of their own that keep the real
/// line and column numbers.
struct Excerpts {
    /// Indexed by file id; `None` for files the diagnostic does not mention.
    files: Vec<Option<Excerpt>>,
}

struct Excerpt {
    name: String,
    /// The shown lines, each followed by `\n`.
    text: String,
    lines: Vec<ExcerptLine>,
}

struct ExcerptLine {
    /// Where the window sits in `Excerpt::text` (without the `…` around it).
    view: Range<usize>,
    /// Where the whole shown line ends in `Excerpt::text`: its `\n`.
    newline: usize,
    /// The real 1-based line number.
    number: usize,
    /// The bytes of the real file shown on this line.
    window: Range<usize>,
    /// Bytes of the leading `…` (0 when the window starts the line).
    prefix: usize,
    /// Characters of the real line before the window.
    chars_before: usize,
}

impl Excerpts {
    fn for_diagnostic(map: &SourceMap, diagnostic: &Diagnostic) -> Excerpts {
        let spans: Vec<Span> = std::iter::once(diagnostic.span)
            .chain(diagnostic.related.iter().map(|(s, _)| *s))
            .collect();
        let files = map
            .files()
            .map(|(id, file)| {
                let here: Vec<Span> = spans.iter().copied().filter(|s| s.file == id).collect();
                let focus = (diagnostic.span.file == id).then_some(diagnostic.span);
                (!here.is_empty()).then(|| Excerpt::new(file, &here, focus))
            })
            .collect();
        Excerpts { files }
    }

    fn get(&self, id: usize) -> Result<&Excerpt, FilesError> {
        self.files
            .get(id)
            .and_then(Option::as_ref)
            .ok_or(FilesError::FileMissing)
    }

    /// A real span as a byte range of its excerpt.
    fn map_span(&self, span: Span) -> Option<Range<usize>> {
        let excerpt = self.get(span.file as usize).ok()?;
        let start = excerpt.map(span.start as usize);
        let end = excerpt.map(span.end as usize).max(start);
        Some(start..end)
    }
}

impl Excerpt {
    fn new(file: &SourceFile, spans: &[Span], focus: Option<Span>) -> Excerpt {
        let text = file.text.as_str();
        let starts = file.line_starts();
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset).max(1) - 1;
        let mut shown = BTreeSet::new();
        for span in spans {
            let (start, end) = (span.start as usize, span.end as usize);
            let first = line_of(start);
            let last = line_of(end.saturating_sub(1).max(start));
            if last.saturating_sub(first) < MAX_LABEL_LINES {
                shown.extend(first..=last);
            } else {
                shown.extend([first, last]);
            }
        }
        let mut excerpt = Excerpt {
            name: file.name.clone(),
            text: String::new(),
            lines: Vec::new(),
        };
        for line in shown {
            let begin = starts
                .get(line)
                .copied()
                .unwrap_or(text.len())
                .min(text.len());
            let end = starts
                .get(line + 1)
                .map_or(text.len(), |&next| next.saturating_sub(1))
                .max(begin);
            let body = text.get(begin..end).unwrap_or("").trim_end_matches('\r');
            // The caret this line is shown for: the primary span if it is here.
            let caret = focus
                .map(|s| s.start as usize)
                .filter(|&s| (begin..=end).contains(&s))
                .or_else(|| {
                    spans
                        .iter()
                        .map(|s| s.start as usize)
                        .find(|s| (begin..=end).contains(s))
                })
                .unwrap_or(begin);
            excerpt.push_line(line + 1, begin, body, caret);
        }
        excerpt
    }

    fn push_line(&mut self, number: usize, begin: usize, body: &str, caret: usize) {
        let total = body.chars().count();
        let (from, to) = if total <= MAX_SNIPPET_CHARS {
            (0, total)
        } else {
            let caret_char = body
                .get(..caret.saturating_sub(begin).min(body.len()))
                .map_or(0, |s| s.chars().count());
            let from = caret_char
                .saturating_sub(CHARS_BEFORE_CARET)
                .min(total - MAX_SNIPPET_CHARS);
            (from, from + MAX_SNIPPET_CHARS)
        };
        let byte_at = |n: usize| body.char_indices().nth(n).map_or(body.len(), |(i, _)| i);
        let (from_byte, to_byte) = (byte_at(from), byte_at(to));
        let start = self.text.len();
        let prefix = if from > 0 { ELLIPSIS.len() } else { 0 };
        if from > 0 {
            self.text.push_str(ELLIPSIS);
        }
        self.text
            .push_str(body.get(from_byte..to_byte).unwrap_or(""));
        let view_end = self.text.len();
        if to < total {
            self.text.push_str(ELLIPSIS);
        }
        let newline = self.text.len();
        self.text.push('\n');
        self.lines.push(ExcerptLine {
            view: start..view_end,
            newline,
            number,
            window: begin + from_byte..begin + to_byte,
            prefix,
            chars_before: from,
        });
    }

    /// A real byte offset as an offset in `text`, clamped to the window of its line.
    fn map(&self, offset: usize) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.window.start <= offset)
            .saturating_sub(1);
        match self.lines.get(i) {
            Some(line) if offset >= line.window.start => {
                let within = offset.min(line.window.end) - line.window.start;
                line.view.start + line.prefix + within
            }
            Some(line) => line.view.start + line.prefix,
            None => 0,
        }
    }

    fn line(&self, index: usize) -> Result<&ExcerptLine, FilesError> {
        self.lines.get(index).ok_or(FilesError::LineTooLarge {
            given: index,
            max: self.lines.len().saturating_sub(1),
        })
    }
}

impl<'a> Files<'a> for Excerpts {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.get(id)?.name.as_str())
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.get(id)?.text.as_str())
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        let excerpt = self.get(id)?;
        Ok(excerpt
            .lines
            .partition_point(|l| l.view.start <= byte_index)
            .saturating_sub(1))
    }

    fn line_number(&'a self, id: usize, line_index: usize) -> Result<usize, FilesError> {
        Ok(self.get(id)?.line(line_index)?.number)
    }

    fn column_number(
        &'a self,
        id: usize,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, FilesError> {
        let excerpt = self.get(id)?;
        let line = excerpt.line(line_index)?;
        let from = line.view.start + line.prefix;
        let to = byte_index.clamp(from, line.view.end);
        let chars = excerpt.text.get(from..to).map_or(0, |s| s.chars().count());
        Ok(line.chars_before + chars + 1)
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, FilesError> {
        let line = self.get(id)?.line(line_index)?;
        Ok(line.view.start..line.newline + 1)
    }
}

pub(super) fn render_json(map: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let (line, column) = map.line_col(diagnostic.span);
        let (end_line, end_column) = map.line_col(Span {
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
