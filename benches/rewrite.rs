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

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rampart::sql::rewrite::{rewrite, RewriteOptions};
use rampart::{Context, Dialect, Engine};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

const CONTEXT: &str = r#"{"tenant": {"id": "acme", "plan": "pro"},
    "request": {"user": "bob", "roles": ["member"]}}"#;

const CASES: [(&str, &str); 3] = [
    (
        "simple",
        "SELECT id, amount FROM orders WHERE status = 'open'",
    ),
    (
        "join",
        "SELECT u.name, p.name, m.org_id FROM users u \
         JOIN memberships m ON m.user_id = u.id \
         JOIN projects p ON p.org_id = m.org_id WHERE u.email LIKE '%@acme.test'",
    ),
    (
        "update",
        "UPDATE orders SET amount = amount + 1 WHERE status = 'open' RETURNING id, amount",
    ),
];

fn parse_print(sql: &str) -> String {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
    statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";\n")
}

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
