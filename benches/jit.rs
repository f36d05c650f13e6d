//! Criterion benchmarks of compiled predicates: a batch of rows decided by the
//! JIT, by the same predicate hand-written in Rust over the same row layout,
//! and by the interpreter; compile time; a per-tenant cache hit (returning
//! a counted reference, and borrowed); the same rows one by one through
//! `Engine::evaluate_values`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use rampart::jit::layout::{RowLayout, NULL_WORD, PAYLOAD_WORD, SLOT_WORDS};
use rampart::jit::{compile, PredicateCache};
use rampart::lang::model::*;
use rampart::lang::{BinaryOp, Command, ContextKind, Span};
use rampart::policy::combine::Clause;
use rampart::policy::interp::{eval, Env};
use rampart::policy::specialise;

const COLUMNS: [(&str, Ty); 4] = [
    ("owner", Ty::Int),
    ("amount", Ty::Int),
    ("price", Ty::Float),
    ("deleted", Ty::Bool),
];

fn set(using: Option<TExpr>) -> PolicySet {
    let field = |block, name: &str, ty| ContextField {
        block,
        name: name.into(),
        ty: DeclaredType {
            ty,
            nullable: false,
        },
        span: Span::default(),
    };
    let policies = using
        .map(|u| Policy {
            name: "p".into(),
            permissive: true,
            commands: vec![Command::Select],
            roles: None,
            using: Some(u),
            check: None,
            span: Span::default(),
        })
        .into_iter()
        .collect();
    PolicySet {
        context: vec![
            field(ContextKind::Tenant, "id", Ty::Int),
            field(ContextKind::Request, "user", Ty::Int),
            field(ContextKind::Request, "limit", Ty::Int),
        ],
        tables: vec![Table {
            name: QualifiedName {
                schema: None,
                name: "orders".into(),
            },
            open: false,
            columns: COLUMNS
                .iter()
                .map(|(name, ty)| Column {
                    name: (*name).into(),
                    ty: DeclaredType {
                        ty: *ty,
                        nullable: true,
                    },
                    preset: None,
                    span: Span::default(),
                })
                .collect(),
            policies,
            span: Span::default(),
        }],
        ..PolicySet::default()
    }
}

fn node(kind: TExprKind, ty: Ty) -> TExpr {
    TExpr {
        kind,
        ty,
        span: Span::default(),
    }
}
fn col(i: usize) -> TExpr {
    node(TExprKind::Column(i), COLUMNS[i].1)
}
fn ctx(i: usize) -> TExpr {
    node(TExprKind::Context(i), Ty::Int)
}
fn lit(v: Value, ty: Ty) -> TExpr {
    node(TExprKind::Literal(v), ty)
}
fn bin(op: BinaryOp, l: TExpr, r: TExpr, ty: Ty) -> TExpr {
    node(TExprKind::Binary(op, Box::new(l), Box::new(r)), ty)
}

/// `owner == request.user`
fn simple() -> TExpr {
    bin(BinaryOp::Eq, col(0), ctx(1), Ty::Bool)
}

/// `(owner == request.user or amount * 2 > request.limit) and deleted == false
///  and price > 10.5 and amount in [1, 2, 3, 5, 8, 13, 21]`
fn complex() -> TExpr {
    let doubled = bin(BinaryOp::Mul, col(1), lit(Value::Int(2), Ty::Int), Ty::Int);
    let either = bin(
        BinaryOp::Or,
        simple(),
        bin(BinaryOp::Gt, doubled, ctx(2), Ty::Bool),
        Ty::Bool,
    );
    let alive = bin(
        BinaryOp::Eq,
        col(3),
        lit(Value::Bool(false), Ty::Bool),
        Ty::Bool,
    );
    let priced = bin(
        BinaryOp::Gt,
        col(2),
        lit(Value::Float(10.5), Ty::Float),
        Ty::Bool,
    );
    let items = [1, 2, 3, 5, 8, 13, 21]
        .map(|i| lit(Value::Int(i), Ty::Int))
        .to_vec();
    let listed = node(
        TExprKind::InList {
            expr: Box::new(col(1)),
            items,
            negated: false,
        },
        Ty::Bool,
    );
    let all = bin(BinaryOp::And, either, alive, Ty::Bool);
    let all = bin(BinaryOp::And, all, priced, Ty::Bool);
    bin(BinaryOp::And, all, listed, Ty::Bool)
}

fn rows() -> Vec<Vec<Value>> {
    (0..1_000i64)
        .map(|n| {
            vec![
                if n % 17 == 0 {
                    Value::Null
                } else {
                    Value::Int(n % 7)
                },
                Value::Int(n % 23),
                Value::Float((n % 40) as f64),
                Value::Bool(n % 5 == 0),
            ]
        })
        .collect()
}

fn context() -> Vec<Value> {
    vec![Value::Int(1), Value::Int(3), Value::Int(20)]
}

/// Slot `i` of a row of the layout: `None` for null, else the payload word.
fn slot(row: &[u64], i: usize) -> Option<u64> {
    let base = i * SLOT_WORDS;
    (row[base + NULL_WORD] == 0).then(|| row[base + PAYLOAD_WORD])
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn native_simple(row: &[u64], user: i64) -> Option<bool> {
    slot(row, 0).map(|owner| owner as i64 == user)
}

fn native_complex(row: &[u64], user: i64, limit: i64) -> Result<Option<bool>, ()> {
    let owner_ok = native_simple(row, user);
    let amount = slot(row, 1).map(|a| a as i64);
    let either = if owner_ok == Some(true) {
        Some(true)
    } else {
        let big = match amount {
            Some(a) => Some(a.checked_mul(2).ok_or(())? > limit),
            None => None,
        };
        match (owner_ok, big) {
            (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        }
    };
    let alive = slot(row, 3).map(|d| d == 0);
    let priced = slot(row, 2).map(|p| f64::from_bits(p) > 10.5);
    let listed = amount.map(|a| [1, 2, 3, 5, 8, 13, 21].contains(&a));
    Ok(and3(and3(and3(either, alive), priced), listed))
}

fn bench(c: &mut Criterion) {
    let rows = rows();
    let ctx_values = context();
    let layout = RowLayout::new(COLUMNS.iter().map(|(_, t)| *t).collect());
    let batch = layout.fill_batch(&rows).unwrap();
    for (name, e) in [("simple", simple()), ("complex", complex())] {
        let s = set(None);
        let p = compile(&s, 0, &e).unwrap();
        let native: Vec<Option<bool>> = batch
            .rows()
            .map(|r| match name {
                "simple" => native_simple(r, 3),
                _ => native_complex(r, 3, 20).unwrap(),
            })
            .collect();
        assert_eq!(p.decide_filled(&batch, &ctx_values).unwrap(), native);
        c.bench_function(&format!("jit/batch/{name}"), |b| {
            b.iter(|| p.decide_filled(black_box(&batch), &ctx_values).unwrap())
        });
        c.bench_function(&format!("jit/native/{name}"), |b| {
            b.iter(|| {
                let out: Vec<Option<bool>> = black_box(&batch)
                    .rows()
                    .map(|r| match name {
                        "simple" => native_simple(r, 3),
                        _ => native_complex(r, 3, 20).unwrap(),
                    })
                    .collect();
                out
            })
        });
        let planned = specialise(&e, &[]).unwrap();
        c.bench_function(&format!("jit/interp/{name}"), |b| {
            b.iter(|| {
                let out: Vec<Value> = black_box(&rows)
                    .iter()
                    .map(|row| {
                        eval(
                            &planned,
                            &Env {
                                row,
                                context: &ctx_values,
                            },
                        )
                        .unwrap()
                    })
                    .collect();
                out
            })
        });
        c.bench_function(&format!("jit/compile/{name}"), |b| {
            b.iter(|| compile(&s, 0, black_box(&e)).unwrap())
        });
    }
    let cache = PredicateCache::new(Arc::new(set(Some(complex()))), 10_000);
    cache
        .predicate(&ctx_values, 0, Command::Select, Clause::Using)
        .unwrap();
    c.bench_function("jit/cache_hit", |b| {
        b.iter(|| {
            cache
                .predicate(black_box(&ctx_values), 0, Command::Select, Clause::Using)
                .unwrap()
        })
    });
    // The same hit without taking a reference count: the predicate borrowed
    // from the tenant's entry, as `Engine::evaluate_values` uses it.
    c.bench_function("jit/cache_hit_borrowed", |b| {
        b.iter(|| {
            cache.with_tenant(black_box(&ctx_values), |tenant| {
                let p = cache
                    .predicate_in(tenant, 0, Command::Select, Clause::Using)
                    .unwrap();
                black_box(p.is_native())
            })
        })
    });
}

/// `Engine::evaluate_values` on the same rows and the complex predicate as
/// policy text: the row check, the tenant lookup, the layout and the code.
fn bench_engine(c: &mut Criterion) {
    let engine = rampart::Engine::from_source(
        "orders.policy",
        "context tenant { id: int }
         context request { user: int, limit: int }
         table orders { owner: int?, amount: int?, price: float?, deleted: bool? }
         policy p on orders for select
           using (owner == request.user or amount * 2 > request.limit) and deleted == false
             and price > 10.5 and amount in [1, 2, 3, 5, 8, 13, 21];",
    )
    .unwrap();
    let rows = rows();
    let ctx_values = context();
    c.bench_function("jit/engine/complex", |b| {
        b.iter(|| {
            let out: Vec<_> = black_box(&rows)
                .iter()
                .map(|row| {
                    engine
                        .evaluate_values(&ctx_values, 0, Command::Select, row)
                        .unwrap()
                })
                .collect();
            out
        })
    });
}

criterion_group!(benches, bench, bench_engine);
criterion_main!(benches);
