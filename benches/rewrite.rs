//! Rewrite cost: parse + rewrite + print (`rewrite/full/*`) against sqlparser
//! parse + print alone (`rewrite/parse_print/*`) in the same run, for a
//! simple select, a 3-way join and an UPDATE … RETURNING over `policies/saas`
//! for one tenant, through the `TenantRewriter` a session keeps (its policy
//! subqueries made by earlier statements), and `rewrite/first/*`: the same
//! with nothing kept, as for a tenant's first statement.
//! Target: full ≤ 1.2 × parse_print. `cargo bench --bench rewrite`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "rewrite/cases.rs"]
mod cases;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rampart::sql::rewrite::{rewrite, RewriteOptions};
use rampart::{Context, Dialect, Engine};

use cases::{parse_print, CASES, CONTEXT};

fn bench(c: &mut Criterion) {
    let engine = Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas")).unwrap();
    let ctx = Context::from_json(CONTEXT).unwrap();
    let values = engine.context_values(&ctx).unwrap();
    let set = engine.policy_set();
    let tenant = engine.tenant_rewriter(&ctx, Dialect::Postgres).unwrap();
    let mut group = c.benchmark_group("rewrite");
    for (name, sql) in CASES {
        group.bench_function(format!("parse_print/{name}"), |b| {
            b.iter(|| parse_print(black_box(sql)));
        });
        group.bench_function(format!("full/{name}"), |b| {
            b.iter(|| {
                tenant
                    .rewrite(black_box(sql), RewriteOptions::default())
                    .unwrap()
            });
        });
        group.bench_function(format!("first/{name}"), |b| {
            b.iter(|| rewrite(set, &values, Dialect::Postgres, black_box(sql)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
