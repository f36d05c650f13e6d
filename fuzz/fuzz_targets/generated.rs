//! Fuzz target: bytes → a generated syntax tree (`rampart::gen`) → print →
//! parse. Reaches trees that text mutation rarely builds; they must round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::gen::{self, Unstructured};
use rampart::lang::parse_file;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(ast) = gen::policy_file(&mut u) else {
        return;
    };
    let printed = ast.to_string();
    let reparsed = match parse_file(0, &printed) {
        Ok(reparsed) => reparsed,
        Err(diagnostics) => {
            panic!("printed text does not parse: {diagnostics:?}\n--- printed:\n{printed}")
        }
    };
    assert!(
        reparsed == ast,
        "parse(print(ast)) != ast\n--- printed:\n{printed}\n--- ast:\n{ast:#?}\n--- reparsed:\n{reparsed:#?}"
    );
    assert!(
        reparsed.to_string() == printed,
        "print is not a fixed point\n{printed}"
    );
});
