//! Connection slots: a tenant's count of open connections against its
//! `connections` limit, taken with a compare-and-swap loop so that exactly
//! `limit` concurrent takers succeed, and given back by an RAII permit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::QuotaError;

/// The connection count and limit of one tenant (`u64::MAX` is unlimited).
#[derive(Debug)]
pub struct ConnectionSlots {
    tenant: Arc<str>,
    in_use: AtomicU64,
    limit: AtomicU64,
}

impl ConnectionSlots {
    /// Slots for `tenant`; `None` is unlimited.
    pub fn new(tenant: &str, limit: Option<u64>) -> ConnectionSlots {
        ConnectionSlots {
            tenant: tenant.into(),
            in_use: AtomicU64::new(0),
            limit: AtomicU64::new(limit.unwrap_or(u64::MAX)),
        }
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The connections open now.
    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::Acquire)
    }

    /// The limit, `None` when unlimited.
    pub fn limit(&self) -> Option<u64> {
        let limit = self.limit.load(Ordering::Relaxed);
        (limit != u64::MAX).then_some(limit)
    }

    /// Replaces the limit. Open connections stay open; below a lowered limit
    /// new ones are refused until enough have closed.
    pub fn set_limit(&self, limit: Option<u64>) {
        self.limit
            .store(limit.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Takes a slot, given back when the permit drops (on unwinding too).
    pub fn try_acquire(self: &Arc<Self>) -> Result<ConnectionPermit, QuotaError> {
        self.acquire()?;
        Ok(ConnectionPermit {
            slots: Arc::clone(self),
        })
    }

    /// Takes a slot that the caller must give back with [`Self::release`].
    pub fn acquire(&self) -> Result<(), QuotaError> {
        let limit = self.limit.load(Ordering::Relaxed);
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then(|| n.saturating_add(1))
            })
            .map(|_| ())
            .map_err(|_| QuotaError::Connections {
                tenant: self.tenant.to_string(),
                limit,
            })
    }

    /// Gives a slot back; one more release than acquires is ignored.
    pub fn release(&self) {
        let _ = self
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

/// One open connection of a tenant; dropping it frees the slot.
#[derive(Debug)]
#[must_use = "the slot is given back as soon as the permit is dropped"]
pub struct ConnectionPermit {
    slots: Arc<ConnectionSlots>,
}

impl ConnectionPermit {
    pub fn tenant(&self) -> &str {
        self.slots.tenant()
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.slots.release();
    }
}
