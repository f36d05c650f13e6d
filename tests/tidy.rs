//! House rules for source files (STYLE.md §1): every `.rs` file opens with a
//! `//!` comment saying what it is for, and none grows past `MAX_LINES`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// Folders whose `.rs` files are held to the rules (those that exist).
const ROOTS: &[&str] = &["src", "tests", "benches", "fuzz/fuzz_targets"];

/// Split a file by concept before it passes this.
const MAX_LINES: usize = 600;

/// One rule: what it asks for, and a check returning the problem, if any.
struct Rule {
    name: &'static str,
    problem: fn(&str) -> Option<String>,
}

const RULES: &[Rule] = &[
    Rule {
        name: "opens with a `//!` comment",
        problem: missing_module_comment,
    },
    Rule {
        name: "is at most MAX_LINES lines long",
        problem: too_long,
    },
];

fn missing_module_comment(source: &str) -> Option<String> {
    let first = source.lines().find(|line| !line.trim().is_empty());
    match first {
        Some(line) if line.starts_with("//!") => None,
        _ => Some("does not open with a `//!` comment saying what the file is for".into()),
    }
}

fn too_long(source: &str) -> Option<String> {
    let lines = source.lines().count();
    (lines > MAX_LINES)
        .then(|| format!("has {lines} lines, more than {MAX_LINES}: split it by concept"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn source_files_follow_the_house_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ROOTS {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(!files.is_empty(), "no .rs files found under {ROOTS:?}");

    let mut problems = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(root).unwrap_or(file).display();
        for rule in RULES {
            if let Some(problem) = (rule.problem)(&source) {
                problems.push(format!("{shown}: {problem}"));
            }
        }
    }
    let rules: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    assert!(
        problems.is_empty(),
        "every .rs file {}; these do not:\n{}",
        rules
            .join(" and ")
            .replace("MAX_LINES", &MAX_LINES.to_string()),
        problems.join("\n")
    );
}

#[test]
fn the_rules_catch_what_they_should() {
    assert!(missing_module_comment("//! ok\nfn main() {}").is_none());
    assert!(missing_module_comment("\n\n//! ok after blank lines").is_none());
    assert!(missing_module_comment("// a plain comment\n").is_some());
    assert!(missing_module_comment("#![no_main]\n//! too late").is_some());
    assert!(missing_module_comment("").is_some());
    assert!(too_long(&"x\n".repeat(MAX_LINES)).is_none());
    assert!(too_long(&"x\n".repeat(MAX_LINES + 1)).is_some());
}
