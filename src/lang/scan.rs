//! A lexical pass before pest: collects comments (for the formatter) and
//! refuses nesting deeper than the limit before the recursive parser sees it.

use super::ast::{Comment, FileId, Span};
use super::diag::Diagnostic;

/// How deep expressions may nest: parentheses, brackets, calls, `exists` and
/// prefix `not` / `-` (LANGUAGE.md §4).
pub const MAX_NESTING: usize = 256;

pub struct Scanned {
    pub comments: Vec<Comment>,
    /// Set when brackets nest past [`MAX_NESTING`]: the place it crossed.
    pub error: Option<Diagnostic>,
}

/// Walks the text once, skipping strings and quoted names.
pub fn scan(file: FileId, source: &str) -> Scanned {
    let bytes = source.as_bytes();
    let mut comments = Vec::new();
    // Depth now, and the depth at each open bracket (to return to on close).
    let mut depth = 0usize;
    let mut opened: Vec<usize> = Vec::new();
    let mut error = None;
    let cross = |depth: usize, at: usize, len: usize, error: &mut Option<Diagnostic>| {
        if depth > MAX_NESTING && error.is_none() {
            *error = Some(Diagnostic::error(
                Span::new(file, at, at + len),
                format!("expression nests more than {MAX_NESTING} levels deep"),
            ));
        }
    };
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                let end = source
                    .get(i..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(source.len(), |n| i + n);
                let text = source.get(i + 1..end).unwrap_or("").trim_end_matches('\r');
                comments.push(Comment {
                    text: text.to_string(),
                    span: Span::new(file, i, end),
                });
                i = end;
                continue;
            }
            b'\'' | b'"' => {
                // Quotes are escaped by doubling, so skipping to the next quote
                // and re-entering on a doubled one is exact.
                i = bytes
                    .get(i + 1..)
                    .and_then(|rest| rest.iter().position(|&c| c == b))
                    .map_or(bytes.len(), |n| i + 1 + n + 1);
                continue;
            }
            b'(' | b'[' => {
                opened.push(depth);
                depth += 1;
                cross(depth, i, 1, &mut error);
            }
            b')' | b']' => depth = opened.pop().unwrap_or(0),
            b';' | b'{' | b'}' => {
                depth = 0;
                opened.clear();
            }
            // `exists … where cond` nests its condition up to the enclosing bracket.
            b'e' | b'E' if starts_word(bytes, i, b"exists") => {
                depth += 1;
                cross(depth, i, 6, &mut error);
                i += 6;
                continue;
            }
            c if is_ident_byte(c) => {
                // Skip the rest of a word so that `not_exists` is not read as `exists`.
                while bytes.get(i).is_some_and(|&c| is_ident_byte(c)) {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Scanned { comments, error }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Whether `word` (lower case) starts at `i` as a whole word, in any case.
fn starts_word(bytes: &[u8], i: usize, word: &[u8]) -> bool {
    let end = i + word.len();
    bytes
        .get(i..end)
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
        && !bytes.get(end).is_some_and(|&c| is_ident_byte(c))
}

/// The end of `source[start..end]` with trailing whitespace and comments
/// removed. pest's spans for rules ending in an optional or repeated part take
/// in the trivia after the last token; this cuts it off again. `comments` are
/// those [`scan`] found, in source order.
pub fn trim_trivia(source: &str, comments: &[Comment], start: usize, end: usize) -> usize {
    let is_trivia = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{feff}');
    let mut end = end.min(source.len());
    loop {
        end = source
            .get(start..end)
            .map_or(end, |s| start + s.trim_end_matches(is_trivia).len());
        // The last comment starting before `end`: does `end` fall inside it?
        let i = comments.partition_point(|c| (c.span.start as usize) < end);
        match i.checked_sub(1).and_then(|i| comments.get(i)) {
            Some(c) if c.span.start as usize >= start && end <= c.span.end as usize => {
                end = c.span.start as usize;
            }
            _ => return end,
        }
    }
}
