//! Checker cases as data: `tests/lang/check/*.policy` must fail, with their
//! rendered diagnostics snapshotted; `tests/lang/valid/*.policy` must pass.
//! A line `#%% name.policy` in a case starts another file of the same set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use rampart::lang::{check, parse_file, Checked, SourceMap};

/// Splits a case into its files: `(name, text)`, the first named by the case.
fn split_files(name: &str, text: &str) -> Vec<(String, String)> {
    let mut files = vec![(name.to_string(), String::new())];
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix("#%% ") {
            files.push((format!("{name}/{}", next.trim()), String::new()));
        } else {
            files.last_mut().unwrap().1.push_str(line);
        }
    }
    files
}

fn run(path: &Path) -> (Checked, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let mut map = SourceMap::new();
    let mut files = Vec::new();
    for (file_name, file_text) in split_files(&name, &text) {
        let id = map.add(file_name, file_text.clone());
        match parse_file(id, &file_text) {
            Ok(file) => files.push(file),
            Err(errors) => panic!("case {name} does not parse:\n{}", map.render(&errors)),
        }
    }
    let checked = check(&files);
    let rendered = map.render(&checked.diagnostics);
    (checked, rendered)
}

fn snapshot_settings(folder: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("lang/{folder}/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn invalid_cases_report_errors() {
    snapshot_settings("check").bind(|| {
        insta::glob!("lang/check/*.policy", |path| {
            let (checked, rendered) = run(path);
            assert!(
                checked.set.is_none() && checked.has_errors(),
                "{} checked without errors:\n{rendered}",
                path.display()
            );
            insta::assert_snapshot!(rendered);
        });
    });
}

#[test]
fn valid_cases_check() {
    snapshot_settings("valid").bind(|| {
        insta::glob!("lang/valid/*.policy", |path| {
            let (checked, rendered) = run(path);
            assert!(
                checked.set.is_some() && !checked.has_errors(),
                "{} has errors:\n{rendered}",
                path.display()
            );
            insta::assert_snapshot!(rendered);
        });
    });
}
