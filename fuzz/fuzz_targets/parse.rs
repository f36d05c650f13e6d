//! Fuzz target: any text → parse → print → parse again → check. Nothing panics,
//! the parser reports no internal error, and every tree it returns round-trips.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::lang::{parse_file, PolicyFile};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let ast = match parse_file(0, source) {
        Ok(ast) => ast,
        Err(diagnostics) => {
            assert_no_internal_error(&diagnostics, source);
            return;
        }
    };
    assert_round_trip(&ast);
    rampart::lang::check(std::slice::from_ref(&ast));
});

/// Rejecting input is fine; an "internal error" means the parser broke.
fn assert_no_internal_error(diagnostics: &[rampart::lang::Diagnostic], source: &str) {
    for d in diagnostics {
        assert!(
            !d.message.starts_with("internal error"),
            "{}\n--- source:\n{source}",
            d.message
        );
    }
}

/// `parse(print(ast)) == ast` (comments aside: printing leaves them out) and
/// printing the reparsed tree gives the same text.
fn assert_round_trip(ast: &PolicyFile) {
    let printed = ast.to_string();
    let reparsed = match parse_file(0, &printed) {
        Ok(reparsed) => reparsed,
        Err(diagnostics) => {
            panic!("printed text does not parse: {diagnostics:?}\n--- printed:\n{printed}")
        }
    };
    assert!(
        reparsed.items == ast.items,
        "parse(print(ast)) != ast\n--- printed:\n{printed}\n--- ast:\n{:#?}\n--- reparsed:\n{:#?}",
        ast.items,
        reparsed.items
    );
    let printed_again = reparsed.to_string();
    assert!(
        printed_again == printed,
        "print is not a fixed point\n--- first:\n{printed}\n--- second:\n{printed_again}"
    );
}
