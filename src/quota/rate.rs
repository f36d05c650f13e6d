//! The rate limiter: GCRA (the generic cell rate algorithm) on one atomic
//! "theoretical arrival time" per tenant. A burst of up to `qps` queries is
//! admitted at once, and never more than `qps` a second on average.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// A `qps` limit packed in one word so that a reload swaps it atomically:
/// the limit in the high half, the emission interval `T = ⌈1 s / qps⌉` in
/// nanoseconds in the low half. Rounding `T` up keeps the average at or
/// below `qps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit(u64);

impl RateLimit {
    /// Every query refused.
    pub const ZERO: RateLimit = RateLimit(0);
    /// No limit.
    pub const UNLIMITED: RateLimit = RateLimit(u64::MAX);

    /// The limit for `qps` (`None` is unlimited). A limit above one query a
    /// nanosecond (10⁹ a second) cannot be told apart from none at this
    /// clock's resolution and is unlimited.
    pub fn from_qps(qps: Option<u64>) -> RateLimit {
        match qps {
            None => RateLimit::UNLIMITED,
            Some(0) => RateLimit::ZERO,
            Some(q) if q > NANOS_PER_SECOND => RateLimit::UNLIMITED,
            Some(q) => RateLimit((q << 32) | NANOS_PER_SECOND.div_ceil(q)),
        }
    }

    /// The queries a second, `None` when unlimited.
    pub fn qps(self) -> Option<u64> {
        (self != RateLimit::UNLIMITED).then_some(self.0 >> 32)
    }

    /// The emission interval `T` in nanoseconds (0 for [`RateLimit::ZERO`]).
    pub(crate) fn interval(self) -> u64 {
        self.0 & 0xffff_ffff
    }
}

/// One tenant's rate state: its limit, its theoretical arrival time (TAT)
/// and the latest time it has seen, which makes a clock going backwards
/// count as no time passing (so it never grants extra).
#[derive(Debug)]
#[repr(align(64))]
pub struct Gcra {
    limit: AtomicU64,
    tat: AtomicU64,
    seen: AtomicU64,
}

impl Gcra {
    pub fn new(limit: RateLimit) -> Gcra {
        Gcra {
            limit: AtomicU64::new(limit.0),
            tat: AtomicU64::new(0),
            seen: AtomicU64::new(0),
        }
    }

    pub fn limit(&self) -> RateLimit {
        RateLimit(self.limit.load(Ordering::Relaxed))
    }

    /// Replaces the limit; the arrival time, and so the recent history, stays.
    pub fn set_limit(&self, limit: RateLimit) {
        self.limit.store(limit.0, Ordering::Relaxed);
    }

    /// Admits one query at `now_nanos`, or says how long until one would be
    /// admitted (`Duration::MAX` when the limit is zero).
    #[inline]
    pub fn check(&self, now_nanos: u64) -> Result<(), Duration> {
        let limit = self.limit();
        if limit == RateLimit::UNLIMITED {
            return Ok(());
        }
        if limit == RateLimit::ZERO {
            return Err(Duration::MAX);
        }
        let interval = limit.interval();
        // At most (10⁹ + qps) · 1, far from overflowing.
        let tolerance = (limit.0 >> 32).saturating_sub(1).saturating_mul(interval);
        let now = self.monotonic(now_nanos);
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let start = tat.max(now);
            let ahead = start - now;
            if ahead > tolerance {
                return Err(Duration::from_nanos(ahead - tolerance));
            }
            // At the end of the clock's range (584 years) refuse rather
            // than let the arrival time stop moving.
            let Some(next) = start.checked_add(interval) else {
                return Err(Duration::MAX);
            };
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }

    /// How many queries [`Gcra::check`] would admit at `now_nanos` one after
    /// the other (the burst left), without admitting any; `None` when
    /// unlimited.
    ///
    /// ```
    /// use rampart::quota::{Gcra, RateLimit};
    /// let gcra = Gcra::new(RateLimit::from_qps(Some(10)));
    /// assert_eq!(gcra.available(0), Some(10));
    /// gcra.check(0).unwrap();
    /// assert_eq!(gcra.available(0), Some(9));
    /// ```
    pub fn available(&self, now_nanos: u64) -> Option<u64> {
        let limit = self.limit();
        if limit == RateLimit::UNLIMITED {
            return None;
        }
        if limit == RateLimit::ZERO {
            return Some(0);
        }
        let interval = limit.interval();
        let tolerance = (limit.0 >> 32).saturating_sub(1).saturating_mul(interval);
        let now = now_nanos.max(self.seen.load(Ordering::Relaxed));
        let ahead = self.tat.load(Ordering::Relaxed).saturating_sub(now);
        Some(match tolerance.checked_sub(ahead) {
            None => 0,
            Some(room) => room / interval + 1,
        })
    }

    /// `now_nanos`, or the latest time seen if the clock went backwards.
    #[inline]
    fn monotonic(&self, now_nanos: u64) -> u64 {
        let seen = self.seen.load(Ordering::Relaxed);
        if now_nanos <= seen {
            return seen;
        }
        self.seen
            .fetch_max(now_nanos, Ordering::Relaxed)
            .max(now_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing() {
        assert_eq!(RateLimit::from_qps(Some(10)).qps(), Some(10));
        assert_eq!(RateLimit::from_qps(Some(10)).interval(), 100_000_000);
        assert_eq!(RateLimit::from_qps(Some(3)).interval(), 333_333_334);
        assert_eq!(RateLimit::from_qps(Some(0)), RateLimit::ZERO);
        assert_eq!(RateLimit::from_qps(None), RateLimit::UNLIMITED);
        assert_eq!(RateLimit::from_qps(Some(u64::MAX)), RateLimit::UNLIMITED);
        let top = RateLimit::from_qps(Some(NANOS_PER_SECOND));
        assert_eq!((top.qps(), top.interval()), (Some(NANOS_PER_SECOND), 1));
    }

    #[test]
    fn a_burst_of_exactly_qps_for_awkward_limits() {
        for qps in [1, 3, 7, 999, 1000, 65_537] {
            let gcra = Gcra::new(RateLimit::from_qps(Some(qps)));
            let granted = (0..qps + 10).filter(|_| gcra.check(5).is_ok()).count();
            assert_eq!(granted as u64, qps, "qps {qps}");
        }
    }

    #[test]
    fn available_is_what_check_would_admit() {
        let gcra = Gcra::new(RateLimit::from_qps(Some(4)));
        assert_eq!(gcra.available(0), Some(4));
        assert!(gcra.check(0).is_ok());
        assert_eq!(gcra.available(0), Some(3));
        while gcra.check(0).is_ok() {}
        assert_eq!(gcra.available(0), Some(0));
        // One interval (250 ms) later, one more fits.
        assert_eq!(gcra.available(250_000_000), Some(1));
        assert_eq!(Gcra::new(RateLimit::UNLIMITED).available(0), None);
        assert_eq!(Gcra::new(RateLimit::ZERO).available(0), Some(0));
    }
}
