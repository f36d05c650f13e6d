//! The statements of `benches/rewrite.rs` rewritten (or only parsed and
//! printed) in a plain loop, for counting instructions without criterion:
//! `valgrind --tool=callgrind target/release/examples/rewrite_count full join 1000`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../benches/rewrite/cases.rs"]
mod cases;

use std::hint::black_box;
use std::time::Instant;

use rampart::sql::rewrite::{rewrite, RewriteOptions};
use rampart::{Context, Dialect, Engine};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use cases::{parse_print, CASES, CONTEXT};

/// `rewrite_count <full|first|parse_print|show|ratio> <simple|join|update> [N]`
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("show", String::as_str);
    let case = args.get(2).map_or("simple", String::as_str);
    let n: usize = args.get(3).map_or(1, |s| s.parse().unwrap());
    let (_, sql) = CASES
        .iter()
        .find(|(name, _)| *name == case)
        .expect("a case: simple, join or update");
    let engine = Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas")).unwrap();
    let ctx = Context::from_json(CONTEXT).unwrap();
    let tenant = engine.tenant_rewriter(&ctx, Dialect::Postgres).unwrap();
    // The kept policy parts are made by a first statement, as in the bench.
    let first = tenant.rewrite(sql, RewriteOptions::default()).unwrap();
    match mode {
        "show" => println!("{}", first.sql),
        "full" => {
            for _ in 0..n {
                black_box(
                    tenant
                        .rewrite(black_box(sql), RewriteOptions::default())
                        .unwrap(),
                );
            }
        }
        // A tenant's first statement: nothing kept (`rewrite/first/*`).
        "first" => {
            let values = engine.context_values(&ctx).unwrap();
            for _ in 0..n {
                black_box(
                    rewrite(
                        engine.policy_set(),
                        &values,
                        Dialect::Postgres,
                        black_box(sql),
                    )
                    .unwrap(),
                );
            }
        }
        "parse_print" => {
            for _ in 0..n {
                black_box(parse_print(black_box(sql)));
            }
        }
        "parse" => {
            for _ in 0..n {
                black_box(Parser::parse_sql(&PostgreSqlDialect {}, black_box(sql)).unwrap());
            }
        }
        // The rewritten statement's tree (parsed back), printed or cloned.
        "print_out" | "clone_out" => {
            let out = Parser::parse_sql(&PostgreSqlDialect {}, &first.sql).unwrap();
            for _ in 0..n {
                if mode == "print_out" {
                    black_box(black_box(&out)[0].to_string());
                } else {
                    black_box(black_box(&out).clone());
                }
            }
        }
        // Wall-clock time of full against parse_print, in alternating
        // blocks of N statements (this machine's speed drifts by tens of
        // percent over seconds): the fastest block of each, and the median
        // of the ratios of neighbouring blocks.
        "ratio" => {
            let block = |full: bool| {
                let start = Instant::now();
                for _ in 0..n {
                    if full {
                        black_box(
                            tenant
                                .rewrite(black_box(sql), RewriteOptions::default())
                                .unwrap(),
                        );
                    } else {
                        black_box(parse_print(black_box(sql)));
                    }
                }
                start.elapsed().as_secs_f64() * 1e9 / n as f64
            };
            let (mut fulls, mut bases, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..200 {
                let (f, b) = if round % 2 == 0 {
                    let f = block(true);
                    (f, block(false))
                } else {
                    let b = block(false);
                    (block(true), b)
                };
                fulls.push(f);
                bases.push(b);
                ratios.push(f / b);
            }
            let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
            ratios.sort_by(f64::total_cmp);
            println!(
                "{case}: full {:.0} ns, parse_print {:.0} ns (fastest blocks): {:.2}; \
                 median paired ratio {:.2}",
                min(&fulls),
                min(&bases),
                min(&fulls) / min(&bases),
                ratios[ratios.len() / 2]
            );
        }
        other => panic!("unknown mode `{other}`"),
    }
}
