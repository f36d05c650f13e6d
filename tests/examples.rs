//! The worked examples in `policies/`: each directory is one policy set that
//! checks with no errors and no warnings, in canonical format (`rampart fmt`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use rampart::lang::fmt::format_source;
use rampart::lang::{check, parse_file, SourceMap};

/// The example sets; each must also be a directory under `policies/`.
const EXAMPLES: &[&str] = &["saas", "healthcare", "blog"];

/// Parses and checks one directory of `.policy` files as one set, returning
/// the rendered diagnostics (empty when there are none).
fn check_dir(dir: &Path) -> String {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "policy"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{} has no .policy files", dir.display());
    let mut map = SourceMap::new();
    let mut files = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let id = map.add(path.display().to_string(), text.clone());
        match parse_file(id, &text) {
            Ok(file) => files.push(file),
            Err(errors) => return map.render(&errors),
        }
    }
    map.render(&check(&files).diagnostics)
}

#[test]
fn every_example_checks_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut listed: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = EXAMPLES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected, "policies/ and EXAMPLES disagree");

    let mut failures = String::new();
    for example in EXAMPLES {
        let rendered = check_dir(&root.join(example));
        if !rendered.is_empty() {
            failures.push_str(&format!("--- policies/{example}:\n{rendered}\n"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn every_example_is_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut unformatted = Vec::new();
    for example in EXAMPLES {
        for entry in std::fs::read_dir(root.join(example)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let formatted = format_source(0, &text).unwrap();
            if formatted != text {
                unformatted.push(path.display().to_string());
            }
        }
    }
    assert!(
        unformatted.is_empty(),
        "not in canonical form (run `rampart fmt` on them):\n{}",
        unformatted.join("\n")
    );
}
