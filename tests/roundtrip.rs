//! Every tree prints back (STYLE.md §4): `parse(print(ast)) == ast` and print is
//! a fixed point, for every `.policy` file in the repository and for generated trees.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rampart::gen;
use rampart::lang::{parse_file, PolicyFile};

/// Folders whose `.policy` files (recursively) must round-trip.
const POLICY_ROOTS: &[&str] = &["policies", "tests"];

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            policy_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "policy") {
            out.push(path);
        }
    }
}

/// Prints `ast`, parses the text back and checks both round-trip properties.
/// Comments are not part of the comparison: `Display` leaves them out (the
/// formatter puts them back). On failure, returns a message with the text.
fn round_trip(ast: &PolicyFile) -> Result<(), String> {
    let ast = &PolicyFile {
        items: ast.items.clone(),
        comments: Vec::new(),
    };
    let printed = ast.to_string();
    let reparsed = parse_file(0, &printed)
        .map_err(|d| format!("printed text does not parse: {d:?}\n--- printed:\n{printed}"))?;
    if &reparsed != ast {
        return Err(format!(
            "parse(print(ast)) != ast\n--- printed:\n{printed}\n--- ast:\n{ast:#?}\n--- reparsed:\n{reparsed:#?}"
        ));
    }
    let printed_again = reparsed.to_string();
    if printed_again != printed {
        return Err(format!(
            "print is not a fixed point\n--- first:\n{printed}\n--- second:\n{printed_again}"
        ));
    }
    Ok(())
}

#[test]
fn every_policy_file_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in POLICY_ROOTS {
        policy_files(&root.join(dir), &mut files);
    }
    files.sort();
    let mut parsed = 0;
    let mut failures = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        // Files that do not parse are error-case inputs for other tests.
        let Ok(ast) = parse_file(0, &source) else {
            continue;
        };
        parsed += 1;
        if let Err(message) = round_trip(&ast) {
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    assert!(parsed > 0, "no .policy files found under {POLICY_ROOTS:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Generated trees: enough cases to meet every item kind and expression form
/// many times over.
const GENERATED_CASES: u32 = 2048;

/// Bytes for `arbitrary::Unstructured`: long enough for a file of several items.
fn generator_input() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..4096)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(GENERATED_CASES))]

    #[test]
    fn generated_files_round_trip(bytes in generator_input()) {
        let mut u = gen::Unstructured::new(&bytes);
        let ast = gen::policy_file(&mut u).unwrap();
        if let Err(message) = round_trip(&ast) {
            prop_assert!(false, "{}", message);
        }
    }

    #[test]
    fn generated_expressions_round_trip(bytes in generator_input()) {
        let mut u = gen::Unstructured::new(&bytes);
        let expr = gen::expr(&mut u).unwrap();
        let printed = expr.to_string();
        let reparsed = rampart::lang::parse_expr(0, &printed);
        prop_assert_eq!(reparsed.as_ref().ok(), Some(&expr), "printed: {}", printed);
    }
}
