//! Clocks for the rate limiter: the `Clock` trait, a manual clock for tests
//! and a coarse monotonic clock (a ticker thread) for production.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A source of time in nanoseconds from an arbitrary start. The rate limiter
/// never trusts it to be monotonic: time going backwards counts as no time
/// passing.
pub trait Clock: Send + Sync {
    fn now_nanos(&self) -> u64;
}

/// A clock that moves only when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    pub fn new(start_nanos: u64) -> ManualClock {
        ManualClock {
            nanos: AtomicU64::new(start_nanos),
        }
    }

    /// Moves the clock forward (saturating at `u64::MAX` nanoseconds).
    pub fn advance(&self, by: Duration) {
        let by = nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the time, backwards too.
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Relaxed)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

/// A monotonic clock read from one shared atomic that a ticker thread
/// refreshes every `resolution`: a read is one load, and time is never
/// over-reported (it lags by at most `resolution`). The thread stops when the
/// clock is dropped.
#[derive(Debug)]
pub struct CoarseClock {
    shared: Arc<Ticker>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Ticker {
    start: Instant,
    nanos: AtomicU64,
    stop: AtomicBool,
}

impl Ticker {
    fn refresh(&self) {
        self.nanos
            .fetch_max(nanos(self.start.elapsed()), Ordering::Relaxed);
    }
}

impl CoarseClock {
    /// The resolution used by [`CoarseClock::new`]: one millisecond.
    pub const DEFAULT_RESOLUTION: Duration = Duration::from_millis(1);

    /// A clock ticking every millisecond.
    pub fn new() -> CoarseClock {
        CoarseClock::with_resolution(CoarseClock::DEFAULT_RESOLUTION)
    }

    /// A clock ticking every `resolution`. If no thread can be started the
    /// clock still works: every read then asks the operating system.
    pub fn with_resolution(resolution: Duration) -> CoarseClock {
        let shared = Arc::new(Ticker {
            start: Instant::now(),
            nanos: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let ticker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rampart-quota-clock".into())
            .spawn(move || {
                while !ticker.stop.load(Ordering::Relaxed) {
                    ticker.refresh();
                    std::thread::park_timeout(resolution);
                }
            })
            .ok();
        CoarseClock { shared, thread }
    }
}

impl Default for CoarseClock {
    fn default() -> CoarseClock {
        CoarseClock::new()
    }
}

impl Clock for CoarseClock {
    fn now_nanos(&self) -> u64 {
        if self.thread.is_none() {
            self.shared.refresh();
        }
        self.shared.nanos.load(Ordering::Relaxed)
    }
}

impl Drop for CoarseClock {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
