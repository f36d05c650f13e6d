//! Quota enforcement (`rampart::quota`): every limit, the race for the last
//! connection slot, GCRA burst and steady rate on a manual clock, a clock
//! going backwards, reloads that keep counters, zero and huge limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Barrier};
use std::time::Duration;

use rampart::lang::model::Limits;
use rampart::quota::{
    CoarseClock, ConnectionSlots, InProcessStore, ManualClock, QuotaError, QuotaStore,
};

const MS: u64 = 1_000_000;

fn store_at(nanos: u64) -> InProcessStore<Arc<ManualClock>> {
    InProcessStore::with_clock(Arc::new(ManualClock::new(nanos)))
}

fn qps(q: u64) -> Limits {
    Limits {
        qps: Some(q),
        ..Limits::default()
    }
}

fn granted(store: &impl QuotaStore, tenant: &str, tries: u64) -> u64 {
    (0..tries)
        .filter(|_| store.check_qps(tenant).is_ok())
        .count() as u64
}

#[test]
fn qps_burst_then_steady_rate() {
    let store = store_at(1_000 * MS);
    store.set_limits("t", &qps(10)).unwrap();
    assert_eq!(granted(&store, "t", 100), 10, "a burst of exactly qps");
    let err = store.check_qps("t").unwrap_err();
    assert_eq!(err.sqlstate(), "53400");
    assert_eq!(err.retry_after(), Some(Duration::from_millis(100)));
    assert!(err.to_string().contains("`t`"), "{err}");
    // 99 ms later: still nothing; at 100 ms exactly one.
    store.clock().advance(Duration::from_millis(99));
    assert_eq!(granted(&store, "t", 5), 0);
    store.clock().advance(Duration::from_millis(1));
    assert_eq!(granted(&store, "t", 5), 1);
    // Steady: one every 100 ms, 10 over a second, however often we ask.
    let mut total = 0;
    for _ in 0..100 {
        store.clock().advance(Duration::from_millis(10));
        total += granted(&store, "t", 3);
    }
    assert_eq!(total, 10);
    // Idle for long: the burst comes back, no more.
    store.clock().advance(Duration::from_secs(60));
    assert_eq!(granted(&store, "t", 100), 10);
}

#[test]
fn qps_tenants_are_independent() {
    let store = store_at(0);
    store.set_limits("a", &qps(2)).unwrap();
    store.set_limits("b", &qps(3)).unwrap();
    assert_eq!(granted(&store, "a", 10), 2);
    assert_eq!(granted(&store, "b", 10), 3);
}

#[test]
fn clock_going_backwards_counts_as_no_time() {
    let store = store_at(10_000 * MS);
    store.set_limits("t", &qps(10)).unwrap();
    assert_eq!(granted(&store, "t", 20), 10);
    // Back a whole hour: no panic, nothing extra, and no extra wait either.
    store.clock().set(0);
    assert_eq!(granted(&store, "t", 20), 0);
    let retry = store.check_qps("t").unwrap_err().retry_after().unwrap();
    assert_eq!(retry, Duration::from_millis(100));
    // Time moving on from the low value is not counted until it passes the
    // latest time seen.
    store.clock().set(9_000 * MS);
    assert_eq!(granted(&store, "t", 20), 0);
    store.clock().set(10_100 * MS);
    assert_eq!(granted(&store, "t", 20), 1);
    // Far ahead and back to zero.
    store.clock().set(u64::MAX / 2);
    assert_eq!(granted(&store, "t", 20), 10);
    store.clock().set(0);
    assert_eq!(granted(&store, "t", 20), 0);
    // At the very end of the clock's range: refused, never wrapped around.
    store.clock().set(u64::MAX);
    assert_eq!(granted(&store, "t", 20), 0);
}

#[test]
fn reload_replaces_limits_and_keeps_counters() {
    let store = store_at(0);
    let limits = Limits {
        connections: Some(2),
        qps: Some(10),
        storage: Some(100),
        max_rows: Some(5),
    };
    store.set_limits("t", &limits).unwrap();
    let a = store.connect("t").unwrap();
    let _b = store.connect("t").unwrap();
    assert_eq!(granted(&store, "t", 4), 4);
    store.add_storage("t", 60).unwrap();

    let raised = Limits {
        connections: Some(3),
        qps: Some(20),
        storage: Some(50),
        max_rows: None,
    };
    store.set_limits("t", &raised).unwrap();
    assert_eq!(store.limits("t"), Some(raised));
    // Two connections still open: one more fits under 3.
    let _c = store.connect("t").unwrap();
    assert_eq!(store.connect("t").unwrap_err().sqlstate(), "53300");
    // The rate history stays: 4 of the burst are spent at the old interval
    // (100 ms each: 400 ms ahead); the new tolerance is 19 × 50 ms = 950 ms,
    // so 12 more at 50 ms each (ahead 400, 450, …, 950 ms).
    assert_eq!(granted(&store, "t", 100), 12);
    // Usage stays at 60, now over the lowered limit of 50.
    assert_eq!(store.storage_used("t").unwrap(), 60);
    assert_eq!(store.add_storage("t", 1).unwrap_err().sqlstate(), "53100");

    // Lowering connections below those open: they stay, new ones wait.
    store
        .set_limits(
            "t",
            &Limits {
                connections: Some(1),
                ..raised
            },
        )
        .unwrap();
    drop(a);
    assert!(store.connect("t").is_err(), "2 open, limit 1");
}

/// A session's rate key checks the same limiter as a check by name, sees a
/// reload's new limit, and a key another store made is looked up by name.
#[test]
fn rate_keys_share_the_limiter_and_follow_reloads() {
    let store = store_at(0);
    store.set_limits("t", &qps(10)).unwrap();
    let key = store.rate_key("t").unwrap();
    assert_eq!(key.tenant(), "t");
    let by_key = (0..4).filter(|_| store.check_qps_key(&key).is_ok()).count();
    assert_eq!(by_key, 4);
    assert_eq!(granted(&store, "t", 100), 6, "one burst of 10 for both");
    let err = store.check_qps_key(&key).unwrap_err();
    assert_eq!(err.sqlstate(), "53400");
    assert!(err.to_string().contains("tenant `t`"), "{err}");

    // A reload raising the limit reaches the key already held. The burst
    // left the arrival time 1,000 ms ahead; 100 ms later the new tolerance
    // (19 × 50 ms) admits 2 more at 50 ms each, where the old one (9 × 100
    // ms) would admit 1.
    store.set_limits("t", &qps(20)).unwrap();
    store.clock().advance(Duration::from_millis(100));
    let more = (0..100)
        .filter(|_| store.check_qps_key(&key).is_ok())
        .count();
    assert_eq!(more, 2, "the raised limit, through the key held");

    // A key from another store: that store's own limiter, found by name.
    let other = store_at(0);
    other.set_limits("t", &qps(3)).unwrap();
    let foreign = (0..10)
        .filter(|_| other.check_qps_key(&key).is_ok())
        .count();
    assert_eq!(foreign, 3);
    assert_eq!(other.check_qps("t").unwrap_err().sqlstate(), "53400");
    // And an unregistered tenant has no key (fail closed).
    assert_eq!(store.rate_key("nobody").unwrap_err().sqlstate(), "42704");
}

#[test]
fn connection_limit_and_permits_given_back() {
    let store = store_at(0);
    store
        .set_limits(
            "acme",
            &Limits {
                connections: Some(2),
                ..Limits::default()
            },
        )
        .unwrap();
    let a = store.connect("acme").unwrap();
    let b = store.connect("acme").unwrap();
    let err = store.connect("acme").unwrap_err();
    assert_eq!(
        err,
        QuotaError::Connections {
            tenant: "acme".into(),
            limit: 2
        }
    );
    assert_eq!(err.sqlstate(), "53300");
    assert_eq!(
        err.to_string(),
        "too many connections for tenant `acme`: the limit is 2"
    );
    drop(a);
    let _c = store.connect("acme").unwrap();
    drop(b);
    // The trait's raw acquire and release count in the same slots.
    store.acquire_connection("acme").unwrap();
    assert!(store.acquire_connection("acme").is_err());
    store.release_connection("acme");
    store.acquire_connection("acme").unwrap();
}

#[test]
fn a_permit_is_given_back_on_unwinding() {
    let slots = Arc::new(ConnectionSlots::new("t", Some(1)));
    let inner = Arc::clone(&slots);
    let result = std::panic::catch_unwind(move || {
        let _permit = inner.try_acquire().unwrap();
        panic!("the connection's work fails");
    });
    assert!(result.is_err());
    assert_eq!(slots.in_use(), 0);
    let _again = slots.try_acquire().unwrap();
}

#[test]
fn extra_releases_do_not_underflow() {
    let slots = ConnectionSlots::new("t", Some(1));
    slots.release();
    slots.release();
    assert_eq!(slots.in_use(), 0);
    slots.acquire().unwrap();
    assert!(slots.acquire().is_err());
}

#[test]
fn race_for_the_last_connection_slots() {
    const THREADS: usize = 64;
    for limit in [0u64, 1, 7, 63] {
        let store = Arc::new(store_at(0));
        let limits = Limits {
            connections: Some(limit),
            ..Limits::default()
        };
        store.set_limits("t", &limits).unwrap();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    store.connect("t").ok()
                })
            })
            .collect();
        let permits: Vec<_> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(permits.len() as u64, limit);
        let slots = store.connection_slots("t").unwrap();
        assert_eq!(slots.in_use(), limit);
        drop(permits);
        assert_eq!(slots.in_use(), 0);
    }
}

#[test]
fn storage_refuses_adding_once_full() {
    let store = store_at(0);
    let limits = Limits {
        storage: Some(1024),
        ..Limits::default()
    };
    store.set_limits("t", &limits).unwrap();
    assert_eq!(store.add_storage("t", 1000).unwrap(), 1000);
    store.check_storage("t").unwrap();
    // The write that crosses the limit goes through; the next does not.
    assert_eq!(store.add_storage("t", 100).unwrap(), 1100);
    let err = store.add_storage("t", 1).unwrap_err();
    assert_eq!(err.sqlstate(), "53100");
    assert_eq!(
        err.to_string(),
        "storage full for tenant `t`: 1100 bytes used, the limit is 1024"
    );
    assert!(store.check_storage("t").is_err());
    // Reads go on, freeing is allowed, and then adding again.
    assert_eq!(store.storage_used("t").unwrap(), 1100);
    assert_eq!(store.add_storage("t", -200).unwrap(), 900);
    assert_eq!(store.add_storage("t", 0).unwrap(), 900);
    assert_eq!(store.add_storage("t", 10).unwrap(), 910);
    assert_eq!(store.add_storage("t", i64::MIN).unwrap(), 0);
}

#[test]
fn zero_limits_refuse_everything() {
    let store = store_at(0);
    let zero = Limits {
        connections: Some(0),
        qps: Some(0),
        storage: Some(0),
        max_rows: Some(0),
    };
    store.set_limits("z", &zero).unwrap();
    assert_eq!(store.connect("z").unwrap_err().sqlstate(), "53300");
    let rate = store.check_qps("z").unwrap_err();
    assert_eq!(rate.retry_after(), Some(Duration::MAX));
    store.clock().advance(Duration::from_secs(3600));
    assert!(store.check_qps("z").is_err());
    assert_eq!(store.add_storage("z", 1).unwrap_err().sqlstate(), "53100");
    assert_eq!(store.limits("z"), Some(zero));
}

#[test]
fn huge_and_absent_limits_never_overflow() {
    let store = store_at(u64::MAX - 5);
    let huge = Limits {
        connections: Some(u64::MAX),
        qps: Some(u64::MAX),
        storage: Some(u64::MAX),
        max_rows: Some(u64::MAX),
    };
    store.set_limits("h", &huge).unwrap();
    store.set_limits("none", &Limits::default()).unwrap();
    for tenant in ["h", "none"] {
        assert_eq!(granted(&store, tenant, 10_000), 10_000);
        let _permits: Vec<_> = (0..1000).map(|_| store.connect(tenant).unwrap()).collect();
        assert_eq!(
            store.add_storage(tenant, i64::MAX).unwrap(),
            i64::MAX as u64
        );
        assert_eq!(store.add_storage(tenant, i64::MAX).unwrap(), u64::MAX - 1);
        assert_eq!(store.add_storage(tenant, i64::MAX).unwrap(), u64::MAX);
        store.check_storage(tenant).unwrap();
    }
    // The largest limit that still counts, 10⁹ a second: near the end of the
    // clock's range only what fits before it (5 ns) is granted.
    store.set_limits("g", &qps(1_000_000_000)).unwrap();
    assert_eq!(granted(&store, "g", 2_000), 5);
    let fresh = store_at(0);
    fresh.set_limits("g", &qps(1_000_000_000)).unwrap();
    assert_eq!(granted(&fresh, "g", 2_000), 2_000);
}

#[test]
fn unknown_tenants_are_refused() {
    let store = store_at(0);
    for err in [
        store.check_qps("ghost").unwrap_err(),
        store.connect("ghost").unwrap_err(),
        store.add_storage("ghost", 1).unwrap_err(),
    ] {
        assert_eq!(err, QuotaError::UnknownTenant("ghost".into()));
        assert_eq!(err.sqlstate(), "42704");
    }
    store.release_connection("ghost");
    assert_eq!(store.limits("ghost"), None);
}

#[test]
fn coarse_clock_moves_forward() {
    let clock = CoarseClock::new();
    let store = InProcessStore::with_clock(clock);
    store.set_limits("t", &qps(1)).unwrap();
    assert!(store.check_qps("t").is_ok());
    assert!(store.check_qps("t").is_err());
    use rampart::quota::Clock;
    let before = store.clock().now_nanos();
    std::thread::sleep(Duration::from_millis(20));
    let after = store.clock().now_nanos();
    assert!(after > before, "{before} → {after}");
}
