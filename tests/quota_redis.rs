//! The Redis quota store against a real server (`RAMPART_REDIS_URL`, set by
//! `.ci/run`): skipped without it, except under `CI=true`, where it fails.
//! The tests of an unreachable Redis need no server and always run.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "quota_redis/net.rs"]
mod net;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rampart::lang::model::Limits;
use rampart::quota::{
    Clock, InProcessStore, ManualClock, QuotaError, QuotaStore, RedisOptions, RedisStore,
};

use net::{closed_port, Proxy, SilentServer};

/// The server's URL, or `None` to skip (a failure under `CI=true`).
fn url() -> Option<String> {
    let Ok(url) = std::env::var("RAMPART_REDIS_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "RAMPART_REDIS_URL is not set under CI=true"
        );
        eprintln!("skipped: RAMPART_REDIS_URL is not set");
        return None;
    };
    Some(url)
}

/// Options with a prefix no other test or run uses.
fn options(test: &str) -> RedisOptions {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = N.fetch_add(1, Ordering::Relaxed);
    RedisOptions {
        prefix: format!("rampart-test:{}:{nanos}:{n}:{test}:", std::process::id()),
        ..RedisOptions::default()
    }
}

/// Options on a manual clock, no heartbeat thread, slots living `ttl`.
fn manual(test: &str, clock: &Arc<ManualClock>, ttl: Duration) -> RedisOptions {
    RedisOptions {
        slot_ttl: ttl,
        heartbeat: None,
        clock: Some(Arc::clone(clock) as _),
        ..options(test)
    }
}

fn limits(connections: Option<u64>, qps: Option<u64>) -> Limits {
    Limits {
        connections,
        qps,
        ..Limits::default()
    }
}

const SECOND: u64 = 1_000_000_000;

#[test]
fn redis_qps_burst_then_refused_with_retry_after_on_the_server_clock() {
    let Some(url) = url() else { return };
    let store = RedisStore::connect_with(&url, options("qps")).unwrap();
    store.set_limits("t", &limits(None, Some(5))).unwrap();
    let granted = (0..20).filter(|_| store.check_qps("t").is_ok()).count();
    assert_eq!(granted, 5);
    let err = store.check_qps("t").unwrap_err();
    assert_eq!(err.sqlstate(), "53400");
    let retry = err.retry_after().unwrap();
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_millis(200),
        "{retry:?}"
    );
    std::thread::sleep(retry);
    assert!(store.check_qps("t").is_ok());
}

#[test]
fn redis_connections_storage_reload_and_unknown_tenants() {
    let Some(url) = url() else { return };
    let store = RedisStore::connect_with(&url, options("rest")).unwrap();
    let first = Limits {
        connections: Some(2),
        qps: Some(0),
        storage: Some(100),
        max_rows: None,
    };
    store.set_limits("t", &first).unwrap();
    store.acquire_connection("t").unwrap();
    store.acquire_connection("t").unwrap();
    assert_eq!(
        store.acquire_connection("t").unwrap_err(),
        QuotaError::Connections {
            tenant: "t".into(),
            limit: 2
        }
    );
    store.release_connection("t");
    store.acquire_connection("t").unwrap();
    assert_eq!(
        store.check_qps("t").unwrap_err().retry_after(),
        Some(Duration::MAX)
    );

    assert_eq!(store.add_storage("t", 150).unwrap(), 150);
    assert_eq!(store.add_storage("t", 1).unwrap_err().sqlstate(), "53100");
    assert_eq!(store.add_storage("t", -100).unwrap(), 50);
    assert_eq!(store.add_storage("t", -100).unwrap(), 0);
    assert_eq!(store.add_storage("t", 50).unwrap(), 50);

    // A reload keeps the counters: two connections open, one more fits.
    let second = Limits {
        connections: Some(3),
        ..first
    };
    store.set_limits("t", &second).unwrap();
    store.acquire_connection("t").unwrap();
    assert!(store.acquire_connection("t").is_err());
    assert_eq!(store.storage_used("t").unwrap(), 50);
    assert_eq!(store.connections_in_use("t").unwrap(), 3);

    // Tenants whose ids look like other tenants' keys stay apart.
    for odd in ["t}:s", "t}:q", "{t}", "t:s", ""] {
        store.set_limits(odd, &limits(Some(1), None)).unwrap();
        store.acquire_connection(odd).unwrap();
        assert!(store.acquire_connection(odd).is_err(), "{odd:?}");
        assert_eq!(store.storage_used(odd).unwrap(), 0, "{odd:?}");
    }
    assert_eq!(store.connections_in_use("t").unwrap(), 3);

    for err in [
        store.check_qps("ghost").unwrap_err(),
        store.acquire_connection("ghost").unwrap_err(),
        store.add_storage("ghost", 1).unwrap_err(),
        store.storage_used("ghost").unwrap_err(),
    ] {
        assert_eq!(err, QuotaError::UnknownTenant("ghost".into()));
    }
}

#[test]
fn redis_two_stores_share_one_tenants_rate_and_slots() {
    let Some(url) = url() else { return };
    let clock = Arc::new(ManualClock::new(1_000 * SECOND));
    let options = manual("share", &clock, Duration::from_secs(60));
    let a = RedisStore::connect_with(&url, options.clone()).unwrap();
    let b = RedisStore::connect_with(&url, options).unwrap();
    a.set_limits("t", &limits(Some(3), Some(10))).unwrap();

    // One burst of 10 between them, then one query per 100 ms between them.
    let granted = (0..30)
        .filter(|i| (if i % 2 == 0 { &a } else { &b }).check_qps("t").is_ok())
        .count();
    assert_eq!(granted, 10);
    let retry = b.check_qps("t").unwrap_err().retry_after().unwrap();
    assert_eq!(retry, Duration::from_millis(100));
    clock.advance(retry);
    a.check_qps("t").unwrap();
    assert!(b.check_qps("t").is_err());

    // Three slots between them; a slot given back by one is the other's.
    a.acquire_connection("t").unwrap();
    b.acquire_connection("t").unwrap();
    a.acquire_connection("t").unwrap();
    assert!(b.acquire_connection("t").is_err());
    assert!(a.acquire_connection("t").is_err());
    a.release_connection("t");
    b.acquire_connection("t").unwrap();
    assert!(a.acquire_connection("t").is_err());
    assert_eq!(a.connections_in_use("t").unwrap(), 3);
    // A store gives back only its own slots, and all of them when dropped.
    a.release_connection("t");
    a.release_connection("t");
    assert_eq!(b.connections_in_use("t").unwrap(), 2);
    drop(b);
    assert_eq!(a.connections_in_use("t").unwrap(), 0);
}

#[test]
fn redis_slot_expires_when_its_store_stops_heart_beating() {
    let Some(url) = url() else { return };
    let clock = Arc::new(ManualClock::new(1_000 * SECOND));
    let options = manual("expiry", &clock, Duration::from_secs(10));
    let a = RedisStore::connect_with(&url, options.clone()).unwrap();
    let b = RedisStore::connect_with(&url, options).unwrap();
    a.set_limits("t", &limits(Some(2), None)).unwrap();
    a.acquire_connection("t").unwrap();
    b.acquire_connection("t").unwrap();
    assert!(b.acquire_connection("t").is_err());

    // `a` stops beating (as if its process had died); `b` goes on.
    clock.advance(Duration::from_secs(6));
    b.heartbeat().unwrap();
    clock.advance(Duration::from_secs(6));
    assert_eq!(b.connections_in_use("t").unwrap(), 1);
    b.acquire_connection("t").unwrap();
    assert!(a.acquire_connection("t").is_err());

    // `a` comes back: its lost slot is not revived, and giving it back does
    // not free one of `b`'s.
    a.heartbeat().unwrap();
    a.release_connection("t");
    assert_eq!(a.connections_in_use("t").unwrap(), 2);
}

#[test]
fn redis_heartbeat_thread_keeps_slots_alive_on_the_server_clock() {
    let Some(url) = url() else { return };
    let ttl = Duration::from_millis(400);
    let base = options("beat");
    let beating = RedisOptions {
        slot_ttl: ttl,
        heartbeat: Some(Duration::from_millis(100)),
        ..base.clone()
    };
    let silent = RedisOptions {
        heartbeat: None,
        ..beating.clone()
    };
    let a = RedisStore::connect_with(&url, silent).unwrap();
    let b = RedisStore::connect_with(&url, beating).unwrap();
    a.set_limits("t", &limits(Some(2), None)).unwrap();
    a.acquire_connection("t").unwrap();
    b.acquire_connection("t").unwrap();
    std::thread::sleep(ttl * 3);
    assert_eq!(a.connections_in_use("t").unwrap(), 1);
}

#[test]
fn redis_unreachable_is_an_error_not_a_panic() {
    let started = Instant::now();
    let refused = RedisStore::connect(&format!("redis://127.0.0.1:{}/", closed_port()), "x:");
    let err = refused.unwrap_err();
    assert!(matches!(err, QuotaError::Unavailable(_)), "{err:?}");
    assert_eq!(err.sqlstate(), "08000");

    // A server that accepts and never answers: refused after the timeout.
    let silent = SilentServer::start();
    let options = RedisOptions {
        timeout: Duration::from_millis(200),
        ..options("silent")
    };
    let err = RedisStore::connect_with(&silent.url(), options).unwrap_err();
    assert!(matches!(err, QuotaError::Unavailable(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("quota store unavailable"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn redis_going_away_refuses_every_limit_and_coming_back_recovers() {
    let Some(url) = url() else { return };
    let mut proxy = Proxy::start(&url);
    let options = RedisOptions {
        timeout: Duration::from_millis(300),
        heartbeat: None,
        ..options("away")
    };
    let store = RedisStore::connect_with(&proxy.url(), options).unwrap();
    store.set_limits("t", &limits(Some(5), Some(1000))).unwrap();
    store.check_qps("t").unwrap();
    store.acquire_connection("t").unwrap();

    proxy.stop();
    let errors = [
        store.check_qps("t").unwrap_err(),
        store.acquire_connection("t").unwrap_err(),
        store.add_storage("t", 1).unwrap_err(),
        store.storage_used("t").unwrap_err(),
        store.set_limits("t", &Limits::default()).unwrap_err(),
        store.heartbeat().unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, QuotaError::Unavailable(_)), "{err:?}");
    }
    store.release_connection("t");

    proxy.restart();
    store.check_qps("t").unwrap();
    // The release while Redis was away was lost; the slot would expire.
    assert_eq!(store.connections_in_use("t").unwrap(), 1);
}

/// One step of the agreement test.
#[derive(Clone, Debug)]
enum Event {
    Advance(u64),
    Back(u64),
    Check,
    Reload(Option<u64>),
    Acquire,
    Release,
}

fn event() -> impl Strategy<Value = Event> {
    let qps = prop_oneof![Just(None), (0u64..20).prop_map(Some), Just(Some(1000))];
    prop_oneof![
        2 => (0u64..2_000).prop_map(Event::Advance),
        2 => (0u64..300_000_000).prop_map(Event::Advance),
        1 => (0u64..3 * SECOND).prop_map(Event::Advance),
        1 => (0u64..SECOND).prop_map(Event::Back),
        8 => Just(Event::Check),
        1 => qps.prop_map(Event::Reload),
        1 => Just(Event::Acquire),
        1 => Just(Event::Release),
    ]
}

#[test]
fn redis_agrees_with_the_in_process_store() {
    let Some(url) = url() else { return };
    let clock = Arc::new(ManualClock::new(0));
    let redis = RedisStore::connect_with(
        &url,
        manual("agree", &clock, Duration::from_secs(86_400 * 365)),
    )
    .unwrap();
    let cases = AtomicU64::new(0);
    // What the checks answered, to see that the test is not vacuous.
    let [admitted, delayed, never, full] = std::array::from_fn(|_| AtomicU64::new(0));
    let tally = |outcome: &Result<(), QuotaError>| {
        let counter = match outcome {
            Ok(()) => &admitted,
            Err(QuotaError::Rate { retry_after, .. }) if *retry_after == Duration::MAX => &never,
            Err(QuotaError::Rate { .. }) => &delayed,
            Err(_) => &full,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    };
    let strategy = (
        0u64..(1 << 62),
        prop_oneof![Just(1u64), Just(3), Just(7), Just(10), Just(1000)],
        proptest::collection::vec(event(), 1..200),
    );
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |(start, qps, events)| {
        let tenant = format!("t{}", cases.fetch_add(1, Ordering::Relaxed));
        clock.set(start);
        let local = InProcessStore::with_clock(Arc::clone(&clock));
        let limits = limits(Some(2), Some(qps));
        local.set_limits(&tenant, &limits).unwrap();
        redis.set_limits(&tenant, &limits).unwrap();
        for event in events {
            match event {
                Event::Advance(ns) => clock.advance(Duration::from_nanos(ns)),
                Event::Back(ns) => clock.set(clock.now_nanos().saturating_sub(ns)),
                Event::Check => {
                    let answer = redis.check_qps(&tenant);
                    tally(&answer);
                    prop_assert_eq!(local.check_qps(&tenant), answer);
                }
                Event::Reload(qps) => {
                    let limits = Limits { qps, ..limits };
                    local.set_limits(&tenant, &limits).unwrap();
                    redis.set_limits(&tenant, &limits).unwrap();
                }
                Event::Acquire => {
                    let answer = redis.acquire_connection(&tenant);
                    if answer.is_err() {
                        tally(&answer);
                    }
                    prop_assert_eq!(local.acquire_connection(&tenant), answer);
                }
                Event::Release => {
                    local.release_connection(&tenant);
                    redis.release_connection(&tenant);
                }
            }
            // Introspection agrees too: limits, slots taken, burst left.
            prop_assert_eq!(local.state(&tenant), redis.state(&tenant));
        }
        prop_assert_eq!(redis.state("never-registered"), Ok(None));
        Ok(())
    });
    result.unwrap();
    let tallies = [admitted, delayed, never, full].map(AtomicU64::into_inner);
    eprintln!("admitted, delayed, refused by a zero limit, slots full: {tallies:?}");
    assert!(tallies.iter().all(|&n| n > 0), "{tallies:?}");
}

/// The child half of the next test: does nothing unless started by it.
#[test]
fn redis_child_process() {
    let Ok(prefix) = std::env::var("RAMPART_REDIS_CHILD_PREFIX") else {
        return;
    };
    let url = std::env::var("RAMPART_REDIS_URL").unwrap();
    // Every child stands at the same frozen time, so the burst is shared
    // exactly whatever the interleaving.
    let clock = Arc::new(ManualClock::new(1_000 * SECOND));
    let options = RedisOptions {
        prefix,
        ..manual("child", &clock, Duration::from_secs(10))
    };
    let store = RedisStore::connect_with(&url, options).unwrap();
    let mut granted = 0;
    let mut slots = 0;
    for _ in 0..20 {
        granted += u32::from(store.check_qps("t").is_ok());
        slots += u32::from(store.acquire_connection("t").is_ok());
    }
    println!("child granted={granted} slots={slots}");
    // Die without giving the slots back, as a crashed process would.
    std::process::exit(0);
}

#[test]
fn redis_two_os_processes_share_one_tenants_limits() {
    let Some(url) = url() else { return };
    let clock = Arc::new(ManualClock::new(1_000 * SECOND));
    let options = manual("procs", &clock, Duration::from_secs(10));
    let store = RedisStore::connect_with(&url, options.clone()).unwrap();
    store.set_limits("t", &limits(Some(5), Some(7))).unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "redis_child_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("RAMPART_REDIS_CHILD_PREFIX", &options.prefix)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut granted, mut slots) = (0, 0);
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        // The harness may have printed the test's name on the same line.
        let (_, line) = text.split_once("child granted=").expect(&text);
        let line = line.lines().next().unwrap();
        let numbers: Vec<u32> = line
            .split(['=', ' '])
            .filter_map(|w| w.parse().ok())
            .collect();
        let [g, s] = numbers.as_slice() else {
            panic!("{line}")
        };
        granted += g;
        slots += s;
    }
    assert_eq!((granted, slots), (7, 5));
    // The children died holding every slot: full until their leases run out.
    assert!(store.acquire_connection("t").is_err());
    clock.advance(Duration::from_secs(10));
    assert_eq!(store.connections_in_use("t").unwrap(), 0);
    store.acquire_connection("t").unwrap();
}
