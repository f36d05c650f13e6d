//! The in-process quota store: per-tenant state in a sharded map (a read
//! lock on one of 64 shards, then atomics only), the default `QuotaStore`.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use foldhash::fast::RandomState;

use super::clock::{Clock, CoarseClock};
use super::rate::{Gcra, RateLimit};
use super::slots::{ConnectionPermit, ConnectionSlots};
use super::{QuotaError, QuotaState, QuotaStore, RateKey};
use crate::lang::model::Limits;

const SHARDS: usize = 64;

/// Everything the store keeps for one tenant. Limits are atomics so that a
/// reload replaces them in place and the counters stay.
#[derive(Debug)]
struct TenantState {
    name: Arc<str>,
    rate: Arc<Gcra>,
    slots: Arc<ConnectionSlots>,
    storage_used: AtomicU64,
    /// `u64::MAX` is unlimited.
    storage_limit: AtomicU64,
    /// `u64::MAX` is unlimited.
    max_rows: AtomicU64,
}

impl TenantState {
    fn new(tenant: &str, limits: &Limits) -> TenantState {
        TenantState {
            name: tenant.into(),
            rate: Arc::new(Gcra::new(RateLimit::from_qps(limits.qps))),
            slots: Arc::new(ConnectionSlots::new(tenant, limits.connections)),
            storage_used: AtomicU64::new(0),
            storage_limit: AtomicU64::new(limits.storage.unwrap_or(u64::MAX)),
            max_rows: AtomicU64::new(limits.max_rows.unwrap_or(u64::MAX)),
        }
    }

    fn set_limits(&self, limits: &Limits) {
        self.rate.set_limit(RateLimit::from_qps(limits.qps));
        self.slots.set_limit(limits.connections);
        self.storage_limit
            .store(limits.storage.unwrap_or(u64::MAX), Ordering::Relaxed);
        self.max_rows
            .store(limits.max_rows.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn limits(&self) -> Limits {
        let limited = |v: u64| (v != u64::MAX).then_some(v);
        Limits {
            connections: self.slots.limit(),
            qps: self.rate.limit().qps(),
            storage: limited(self.storage_limit.load(Ordering::Relaxed)),
            max_rows: limited(self.max_rows.load(Ordering::Relaxed)),
        }
    }
}

type Shard = RwLock<HashMap<Box<str>, Arc<TenantState>, RandomState>>;

/// Quotas counted in this process. Tenants are registered with
/// [`QuotaStore::set_limits`]; one never registered is refused
/// ([`QuotaError::UnknownTenant`]), so a forgotten registration fails closed.
#[derive(Debug)]
pub struct InProcessStore<C: Clock = CoarseClock> {
    /// Tells this store's [`RateKey`]s from other stores' ones.
    id: u64,
    clock: C,
    hasher: RandomState,
    shards: Box<[Shard]>,
}

impl InProcessStore<CoarseClock> {
    /// A store on a coarse monotonic clock (one millisecond).
    pub fn new() -> InProcessStore<CoarseClock> {
        InProcessStore::with_clock(CoarseClock::new())
    }
}

impl Default for InProcessStore<CoarseClock> {
    fn default() -> Self {
        InProcessStore::new()
    }
}

impl<C: Clock> InProcessStore<C> {
    pub fn with_clock(clock: C) -> InProcessStore<C> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        InProcessStore {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            clock,
            hasher: RandomState::default(),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Opens a connection for `tenant`: a permit that frees its slot on drop.
    pub fn connect(&self, tenant: &str) -> Result<ConnectionPermit, QuotaError> {
        self.with(tenant, |state| state.slots.try_acquire())
    }

    /// The connection slots of `tenant`, to take permits without a lookup.
    pub fn connection_slots(&self, tenant: &str) -> Result<Arc<ConnectionSlots>, QuotaError> {
        self.with(tenant, |state| Ok(Arc::clone(&state.slots)))
    }

    /// The limits in force for `tenant`, `None` if it was never registered.
    pub fn limits(&self, tenant: &str) -> Option<Limits> {
        self.with(tenant, |state| Ok(state.limits())).ok()
    }

    /// Whether a write that adds data may go ahead: refused once usage has
    /// reached the limit.
    pub fn check_storage(&self, tenant: &str) -> Result<(), QuotaError> {
        self.with(tenant, |state| {
            let used = state.storage_used.load(Ordering::Relaxed);
            let limit = state.storage_limit.load(Ordering::Relaxed);
            if limit != u64::MAX && used >= limit {
                return Err(storage_full(tenant, used, limit));
            }
            Ok(())
        })
    }

    fn shard(&self, tenant: &str) -> &Shard {
        let hash = self.hasher.hash_one(tenant);
        let index = usize::try_from(hash % SHARDS as u64).unwrap_or(0);
        #[expect(
            clippy::indexing_slicing,
            reason = "index is below SHARDS, the number of shards"
        )]
        &self.shards[index]
    }

    #[inline]
    fn with<T>(
        &self,
        tenant: &str,
        f: impl FnOnce(&TenantState) -> Result<T, QuotaError>,
    ) -> Result<T, QuotaError> {
        let shard = self
            .shard(tenant)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match shard.get(tenant) {
            Some(state) => f(state),
            None => Err(QuotaError::UnknownTenant(tenant.to_string())),
        }
    }
}

/// Admits one query on `rate` at `now`, or the refusal naming `tenant`.
#[inline]
fn check_rate(rate: &Gcra, now: u64, tenant: &str) -> Result<(), QuotaError> {
    rate.check(now).map_err(|retry_after| QuotaError::Rate {
        tenant: tenant.to_string(),
        limit: rate.limit().qps().unwrap_or(u64::MAX),
        retry_after,
    })
}

fn storage_full(tenant: &str, used: u64, limit: u64) -> QuotaError {
    QuotaError::StorageFull {
        tenant: tenant.to_string(),
        used,
        limit,
    }
}

impl<C: Clock> QuotaStore for InProcessStore<C> {
    fn set_limits(&self, tenant: &str, limits: &Limits) -> Result<(), QuotaError> {
        let mut shard = self
            .shard(tenant)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match shard.get(tenant) {
            Some(state) => state.set_limits(limits),
            None => {
                shard.insert(tenant.into(), Arc::new(TenantState::new(tenant, limits)));
            }
        }
        Ok(())
    }

    #[inline]
    fn check_qps(&self, tenant: &str) -> Result<(), QuotaError> {
        self.with(tenant, |state| {
            check_rate(&state.rate, self.clock.now_nanos(), tenant)
        })
    }

    fn rate_key(&self, tenant: &str) -> Result<RateKey, QuotaError> {
        self.with(tenant, |state| {
            Ok(RateKey {
                tenant: Arc::clone(&state.name),
                local: Some((self.id, Arc::clone(&state.rate))),
            })
        })
    }

    #[inline]
    fn check_qps_key(&self, key: &RateKey) -> Result<(), QuotaError> {
        match key.local(self.id) {
            Some(rate) => check_rate(rate, self.clock.now_nanos(), key.tenant()),
            None => self.check_qps(key.tenant()),
        }
    }

    fn acquire_connection(&self, tenant: &str) -> Result<(), QuotaError> {
        self.with(tenant, |state| state.slots.acquire())
    }

    fn release_connection(&self, tenant: &str) {
        let _ = self.with(tenant, |state| {
            state.slots.release();
            Ok(())
        });
    }

    fn add_storage(&self, tenant: &str, bytes: i64) -> Result<u64, QuotaError> {
        self.with(tenant, |state| {
            let limit = state.storage_limit.load(Ordering::Relaxed);
            let delta = bytes.unsigned_abs();
            let updated =
                state
                    .storage_used
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                        if bytes < 0 {
                            Some(used.saturating_sub(delta))
                        } else if limit != u64::MAX && used >= limit && bytes > 0 {
                            None
                        } else {
                            Some(used.saturating_add(delta))
                        }
                    });
            match updated {
                Ok(used) if bytes < 0 => Ok(used.saturating_sub(delta)),
                Ok(used) => Ok(used.saturating_add(delta)),
                Err(used) => Err(storage_full(tenant, used, limit)),
            }
        })
    }

    fn storage_used(&self, tenant: &str) -> Result<u64, QuotaError> {
        self.with(tenant, |state| {
            Ok(state.storage_used.load(Ordering::Relaxed))
        })
    }

    fn state(&self, tenant: &str) -> Result<Option<QuotaState>, QuotaError> {
        let state = self.with(tenant, |state| {
            Ok(QuotaState {
                limits: state.limits(),
                connections: state.slots.in_use(),
                queries_available: state.rate.available(self.clock.now_nanos()),
            })
        });
        match state {
            Ok(state) => Ok(Some(state)),
            Err(QuotaError::UnknownTenant(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
