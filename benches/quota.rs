//! Rate-limit check cost: `quota/check` (the in-process store, GCRA on a
//! coarse clock) against `governor`'s keyed limiter on the same 1,000
//! tenants, on one thread and (per-thread time) on two; `quota/redis/check`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use rampart::lang::model::Limits;
use rampart::quota::{InProcessStore, QuotaStore};

const TENANTS: usize = 1_000;
/// High enough that every check is admitted, so both do the same work.
const QPS: u32 = 1_000_000_000;

fn tenants() -> Vec<String> {
    (0..TENANTS).map(|i| format!("tenant-{i}")).collect()
}

fn store(names: &[String]) -> InProcessStore {
    let store = InProcessStore::new();
    let limits = Limits {
        qps: Some(u64::from(QPS)),
        ..Limits::default()
    };
    for name in names {
        store.set_limits(name, &limits).unwrap();
    }
    store
}

fn single_thread(c: &mut Criterion) {
    let names = tenants();
    let store = store(&names);
    let mut i = 0;
    c.bench_function("quota/check/1thread", |b| {
        b.iter(|| {
            i = (i + 1) % TENANTS;
            black_box(store.check_qps(black_box(&names[i])).is_ok())
        })
    });

    let governor = RateLimiter::keyed(Quota::per_second(NonZeroU32::new(QPS).unwrap()));
    for name in &names {
        let _ = governor.check_key(name);
    }
    let mut i = 0;
    c.bench_function("quota/governor/1thread", |b| {
        b.iter(|| {
            i = (i + 1) % TENANTS;
            black_box(governor.check_key(black_box(&names[i])).is_ok())
        })
    });
}

fn two_threads(c: &mut Criterion) {
    let names = Arc::new(tenants());
    let store = Arc::new(store(&names));
    c.bench_function("quota/check/2threads", |b| {
        b.iter_custom(|iters| {
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    let (names, store, barrier) =
                        (Arc::clone(&names), Arc::clone(&store), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        let mut i = t * TENANTS / 2;
                        for _ in 0..iters {
                            i = (i + 1) % TENANTS;
                            black_box(store.check_qps(black_box(&names[i])).is_ok());
                        }
                        start.elapsed()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap_or(Duration::ZERO)
        })
    });
}

/// `quota/redis/check`: the Redis store's check, one round trip to the server
/// of `RAMPART_REDIS_URL` (with the feature `redis`; skipped without either).
/// Leaves 1,000 small hashes under `rampart-bench:<pid>:` behind.
fn redis_round_trip(c: &mut Criterion) {
    #[cfg(feature = "redis")]
    {
        use rampart::quota::{RedisOptions, RedisStore};
        let Ok(url) = std::env::var("RAMPART_REDIS_URL") else {
            eprintln!("quota/redis/check skipped: RAMPART_REDIS_URL is not set");
            return;
        };
        let options = RedisOptions {
            prefix: format!("rampart-bench:{}:", std::process::id()),
            ..RedisOptions::default()
        };
        let store = RedisStore::connect_with(&url, options).unwrap();
        let names = tenants();
        let limits = Limits {
            qps: Some(u64::from(QPS)),
            ..Limits::default()
        };
        for name in &names {
            store.set_limits(name, &limits).unwrap();
        }
        let mut i = 0;
        c.bench_function("quota/redis/check", |b| {
            b.iter(|| {
                i = (i + 1) % TENANTS;
                black_box(store.check_qps(black_box(&names[i])).is_ok())
            })
        });
    }
    #[cfg(not(feature = "redis"))]
    let _ = c;
}

criterion_group!(benches, single_thread, two_threads, redis_round_trip);
criterion_main!(benches);
