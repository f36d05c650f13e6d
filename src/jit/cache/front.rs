//! The per-thread front of the tenant cache: the last tenants each thread
//! looked up, direct-mapped by their key's hash, found without a lock or an
//! allocation. The LRU behind it stays the owner that bounds and evicts.
//!
//! A front entry keeps its tenant alive (its code too) until the slot is
//! taken by another tenant or the thread ends: at most [`SLOTS`] tenants per
//! thread beyond the LRU's capacity.

use std::cell::RefCell;
use std::sync::Arc;

use super::TenantPredicates;

/// Tenants kept per thread, across all caches.
pub(super) const SLOTS: usize = 16;

/// A hit in a front tells the LRU every this many hits (see `touch`).
const TOUCH_EVERY: u32 = 64;

struct Entry {
    cache: u64,
    hash: u64,
    tenant: Arc<TenantPredicates>,
}

pub(super) struct Front {
    slots: [Option<Entry>; SLOTS],
    /// The slot of the last hit or entry made.
    last: usize,
    hits: u32,
}

thread_local! {
    static FRONT: RefCell<Front> = const {
        RefCell::new(Front {
            slots: [const { None }; SLOTS],
            last: 0,
            hits: 0,
        })
    };
}

/// Runs `f` on this thread's front; `None` where there is none now (the
/// thread is ending, or a lookup is already under way on it).
pub(super) fn with<R>(f: impl FnOnce(&mut Front) -> R) -> Option<R> {
    FRONT
        .try_with(|front| front.try_borrow_mut().ok().map(|mut front| f(&mut front)))
        .ok()
        .flatten()
}

impl Front {
    fn slot(hash: u64) -> usize {
        // The low bits of a well-mixed hash.
        usize::try_from(hash % SLOTS as u64).unwrap_or(0)
    }

    /// The tenant of the last hit or entry made, if it is of cache `cache`
    /// and `is` accepts it, and whether this hit is one to tell the LRU about.
    #[inline]
    pub fn recent(
        &mut self,
        cache: u64,
        is: impl FnOnce(&TenantPredicates) -> bool,
    ) -> Option<(&Arc<TenantPredicates>, bool)> {
        let entry = self.slots.get(self.last)?.as_ref()?;
        if entry.cache != cache || !is(&entry.tenant) {
            return None;
        }
        self.hits = self.hits.wrapping_add(1);
        Some((&entry.tenant, self.hits.is_multiple_of(TOUCH_EVERY)))
    }

    /// The tenant of cache `cache` whose key hashes to `hash` and that `is`
    /// accepts, and whether this hit is one to tell the LRU about.
    pub fn get(
        &mut self,
        cache: u64,
        hash: u64,
        is: impl FnOnce(&TenantPredicates) -> bool,
    ) -> Option<(&Arc<TenantPredicates>, bool)> {
        let slot = Self::slot(hash);
        let entry = self.slots.get(slot)?.as_ref()?;
        if entry.cache != cache || entry.hash != hash || !is(&entry.tenant) {
            return None;
        }
        self.last = slot;
        self.hits = self.hits.wrapping_add(1);
        Some((&entry.tenant, self.hits.is_multiple_of(TOUCH_EVERY)))
    }

    /// Keeps `tenant` of cache `cache` under `hash`, in place of the entry
    /// that was in its slot.
    pub fn put(&mut self, cache: u64, hash: u64, tenant: Arc<TenantPredicates>) {
        self.last = Self::slot(hash);
        if let Some(slot) = self.slots.get_mut(self.last) {
            *slot = Some(Entry {
                cache,
                hash,
                tenant,
            });
        }
    }
}
