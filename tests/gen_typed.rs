//! The well-typed generators (`rampart::gen::typed`, `values`, `sql`) that
//! the fuzz targets rely on: every generated policy set prints, parses and
//! checks clean; rows and contexts fit the declared types; statements parse.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::gen::{sql, typed, values, Unstructured};
use rampart::lang::{check, parse_file};

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn generated_policy_sets_check_clean() {
    for seed in 0..200u64 {
        let data = bytes(seed, 4096);
        let mut u = Unstructured::new(&data);
        let options = typed::Options {
            exists: seed % 2 == 0,
            max_policies: 4,
        };
        let file = typed::policy_set(&mut u, options).unwrap();
        let text = file.to_string();
        let parsed = parse_file(0, &text).unwrap_or_else(|d| panic!("{d:?}\n{text}"));
        let checked = check(std::slice::from_ref(&parsed));
        let set = checked
            .set
            .unwrap_or_else(|| panic!("{:?}\n{text}", checked.diagnostics));
        let hints = values::Hints::of(&set);
        let context = values::context(&mut u, &set, &hints).unwrap();
        assert_eq!(context.len(), set.context.len());
        for table in &set.tables {
            let row = values::row(&mut u, table, &hints).unwrap();
            assert_eq!(row.len(), table.columns.len());
        }
        if let Some(query) = sql::statement(&mut u, &set).unwrap() {
            let rewritten = rampart::sql::rewrite::rewrite(
                &set,
                &context,
                rampart::Dialect::Sqlite,
                &query.sql,
            );
            if let Err(e) = &rewritten {
                assert!(
                    !matches!(e, rampart::sql::rewrite::RewriteError::Syntax { .. }),
                    "generated SQL does not parse: {e}\n{}",
                    query.sql
                );
            }
        }
    }
}
