//! Rate-limit check cost on 1,000 tenants, the in-process store (GCRA on a
//! coarse clock) against `governor` doing the same work, on one thread and
//! (per-thread time) on two:
//! - `quota/check/*`: the check a session makes before each statement, on
//!   the tenant's limiter found once at connect (`QuotaStore::rate_key`),
//!   against `quota/governor_direct/*`: one governor direct limiter per
//!   tenant, held by the caller in the same way;
//! - `quota/by_name/*`: the check looked up by tenant name
//!   (`QuotaStore::check_qps`), against `quota/governor/*`: governor's keyed
//!   limiter, looked up by the same names;
//! - `quota/redis/check`: one round trip to a local Redis.
//!
//! Targets: `check/1thread` ≤ 25 ns and ≤ 1.0 × its governor twin (and so
//! `by_name`), `check/2threads` ≤ 50 ns a check per thread.

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
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use rampart::lang::model::Limits;
use rampart::quota::{InProcessStore, QuotaStore, RateKey};

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

fn quota() -> Quota {
    Quota::per_second(NonZeroU32::new(QPS).unwrap())
}

fn keys(store: &InProcessStore, names: &[String]) -> Vec<RateKey> {
    names.iter().map(|n| store.rate_key(n).unwrap()).collect()
}

fn governor_keyed(names: &[String]) -> DefaultKeyedRateLimiter<String> {
    let governor = RateLimiter::keyed(quota());
    for name in names {
        let _ = governor.check_key(name);
    }
    governor
}

fn governor_direct() -> Vec<DefaultDirectRateLimiter> {
    (0..TENANTS).map(|_| RateLimiter::direct(quota())).collect()
}

/// Times `check(i)` for tenants `i` taken in turn, on one thread.
fn one_thread(c: &mut Criterion, id: &str, check: impl Fn(usize) -> bool) {
    let mut i = 0;
    c.bench_function(id, |b| {
        b.iter(|| {
            i = (i + 1) % TENANTS;
            black_box(check(black_box(i)))
        })
    });
}

fn single_thread(c: &mut Criterion) {
    let names = tenants();
    let store = store(&names);
    let keys = keys(&store, &names);
    one_thread(c, "quota/check/1thread", |i| {
        store.check_qps_key(&keys[i]).is_ok()
    });
    let direct = governor_direct();
    one_thread(c, "quota/governor_direct/1thread", |i| {
        direct[i].check().is_ok()
    });
    one_thread(c, "quota/by_name/1thread", |i| {
        store.check_qps(&names[i]).is_ok()
    });
    let keyed = governor_keyed(&names);
    one_thread(c, "quota/governor/1thread", |i| {
        keyed.check_key(&names[i]).is_ok()
    });
}

/// Times `check(i)` on two threads at once, each taking its half of the
/// tenants in turn; the time of the slower thread.
fn two_threads<S: Send + Sync + 'static>(
    c: &mut Criterion,
    id: &str,
    shared: Arc<S>,
    check: fn(&S, usize) -> bool,
) {
    c.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    let (shared, barrier) = (Arc::clone(&shared), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        let mut i = t * TENANTS / 2;
                        for _ in 0..iters {
                            i = (i + 1) % TENANTS;
                            black_box(check(&shared, black_box(i)));
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

fn two_thread_checks(c: &mut Criterion) {
    let names = tenants();
    let store = store(&names);
    let keys = keys(&store, &names);
    let shared = Arc::new((store, keys, names));
    two_threads(c, "quota/check/2threads", Arc::clone(&shared), |s, i| {
        s.0.check_qps_key(&s.1[i]).is_ok()
    });
    two_threads(c, "quota/by_name/2threads", shared, |s, i| {
        s.0.check_qps(&s.2[i]).is_ok()
    });
    two_threads(
        c,
        "quota/governor_direct/2threads",
        Arc::new(governor_direct()),
        |d, i| d[i].check().is_ok(),
    );
    let names = tenants();
    let keyed = (governor_keyed(&names), names);
    two_threads(c, "quota/governor/2threads", Arc::new(keyed), |k, i| {
        k.0.check_key(&k.1[i]).is_ok()
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

criterion_group!(benches, single_thread, two_thread_checks, redis_round_trip);
criterion_main!(benches);
