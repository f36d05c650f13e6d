//! Formatter cases as data: each `tests/fmt/*.policy` is formatted and the
//! result snapshotted (insta), and every case is held to the properties.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::lang::fmt::{format_source, FmtError};
use rampart::lang::{parse_file, PolicyFile};

/// Formats `source`, checking that the result keeps the syntax tree and every
/// comment, and that formatting it again changes nothing.
fn format_checked(name: &str, source: &str) -> String {
    let before = parse_file(0, source).unwrap_or_else(|e| panic!("{name} does not parse: {e:?}"));
    let out = format_source(0, source).unwrap_or_else(|e| panic!("{name}: {e}"));
    let after = parse_file(0, &out)
        .unwrap_or_else(|e| panic!("{name}: output does not parse: {e:?}\n{out}"));
    assert_eq!(
        before.items, after.items,
        "{name}: the syntax tree changed\n{out}"
    );
    assert_eq!(
        sorted_comments(&before),
        sorted_comments(&after),
        "{name}: comments changed\n{out}"
    );
    let again = format_source(0, &out).unwrap();
    assert_eq!(out, again, "{name}: formatting is not idempotent");
    out
}

fn sorted_comments(file: &PolicyFile) -> Vec<String> {
    let mut texts: Vec<String> = file
        .comments
        .iter()
        .map(|c| c.text.trim_end().to_string())
        .collect();
    texts.sort();
    texts
}

#[test]
fn formatted_cases() {
    insta::glob!("fmt/*.policy", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let out = format_checked(&path.display().to_string(), &source);
        insta::assert_snapshot!(out);
    });
}

/// A comment dropped into every gap between tokens (at the end of a line or
/// on a line of its own, alternately) must survive formatting, which must
/// stay idempotent. `format_source` itself verifies that the tree and the
/// comments are kept.
#[test]
fn a_comment_anywhere_survives() {
    for case in ["comments_everywhere", "messy_saas", "quoted_identifiers"] {
        let path = format!("{}/tests/fmt/{case}.policy", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap();
        for (k, at) in gaps(&source).into_iter().enumerate() {
            let insert = if k % 2 == 0 {
                " #probe\n"
            } else {
                "\n#probe\n"
            };
            let variant = format!("{}{insert}{}", &source[..at], &source[at..]);
            let out = match format_source(0, &variant) {
                Ok(out) => out,
                Err(FmtError::Parse(_)) => continue,
                Err(e) => panic!("{case} with a comment at byte {at}: {e}"),
            };
            assert!(
                out.contains("#probe"),
                "{case} at byte {at}: comment lost\n{out}"
            );
            let again = format_source(0, &out).unwrap();
            assert_eq!(
                out, again,
                "{case} with a comment at byte {at}: not idempotent"
            );
        }
    }
}

/// The start of each run of whitespace: every gap between tokens.
fn gaps(source: &str) -> Vec<usize> {
    let mut previous = None;
    source
        .char_indices()
        .filter(|&(_, c)| {
            let starts_run = c.is_whitespace() && !previous.is_some_and(char::is_whitespace);
            previous = Some(c);
            starts_run
        })
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_file_that_does_not_parse_is_refused() {
    let result = format_source(0, "policy p on t using ;");
    assert!(matches!(
        result,
        Err(rampart::lang::fmt::FmtError::Parse(_))
    ));
}
