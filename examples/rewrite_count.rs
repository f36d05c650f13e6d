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

use rampart::sql::rewrite::RewriteOptions;
use rampart::{Context, Dialect, Engine};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use cases::{parse_print, CASES, CONTEXT};

/// `rewrite_count <full|parse_print|show> <simple|join|update> [N]`
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
        other => panic!("unknown mode `{other}`"),
    }
}
