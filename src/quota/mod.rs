//! Quota enforcement per tenant: connection slots, the GCRA rate limiter and
//! storage usage, with limits a reload replaces in place, counted in this
//! process or (feature `redis`) in Redis. Which limits: `policy::quota`.
//!
//! This module needs only `lang`. [`InProcessStore`] is the default
//! [`QuotaStore`]; `RedisStore` shares one tenant's limits between processes
//! and fails closed ([`QuotaError::Unavailable`]) when Redis cannot be reached.

pub mod clock;
mod error;
pub mod rate;
#[cfg(feature = "redis")]
mod redis_lua;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod slots;
pub mod store;

pub use clock::{Clock, CoarseClock, ManualClock};
pub use error::QuotaError;
pub use rate::{Gcra, RateLimit};
#[cfg(feature = "redis")]
pub use redis_store::{RedisOptions, RedisStore};
pub use slots::{ConnectionPermit, ConnectionSlots};
pub use store::InProcessStore;

use std::sync::Arc;

use crate::lang::model::Limits;

/// Where quota counters live: this process ([`InProcessStore`]), or Redis,
/// shared by several processes (`RedisStore`, feature `redis`). Every method
/// is keyed by tenant id. A store that cannot answer refuses with
/// [`QuotaError::Unavailable`].
pub trait QuotaStore: Send + Sync {
    /// Registers `tenant` or replaces its limits (a reload). Its counters,
    /// open connections and rate history stay.
    fn set_limits(&self, tenant: &str, limits: &Limits) -> Result<(), QuotaError>;

    /// Admits one query, or refuses it with a retry-after hint (53400).
    fn check_qps(&self, tenant: &str) -> Result<(), QuotaError>;

    /// The rate limiter of `tenant` (registered first), found once so that
    /// [`QuotaStore::check_qps_key`] need not look the tenant up by name: a
    /// session keeps one. The default keeps only the name.
    fn rate_key(&self, tenant: &str) -> Result<RateKey, QuotaError> {
        Ok(RateKey::by_name(tenant))
    }

    /// [`QuotaStore::check_qps`] for the tenant of `key`, a key this store
    /// made (one from another store is looked up by its tenant's name).
    fn check_qps_key(&self, key: &RateKey) -> Result<(), QuotaError> {
        self.check_qps(key.tenant())
    }

    /// Takes a connection slot (refused with 53300 at the limit); give it back
    /// with [`QuotaStore::release_connection`].
    fn acquire_connection(&self, tenant: &str) -> Result<(), QuotaError>;

    /// Gives back a slot taken by [`QuotaStore::acquire_connection`].
    fn release_connection(&self, tenant: &str);

    /// Records `bytes` more (or, negative, fewer) stored bytes and returns the
    /// new usage. Adding is refused (53100) once usage has reached the limit;
    /// the write that crosses the limit goes through, the next is refused.
    /// Freeing is always allowed. Usage saturates at 0 and `u64::MAX`.
    fn add_storage(&self, tenant: &str, bytes: i64) -> Result<u64, QuotaError>;

    /// The bytes stored now.
    fn storage_used(&self, tenant: &str) -> Result<u64, QuotaError>;

    /// The limits of `tenant` and how much of them is in use now, for
    /// introspection; `None` when the tenant was never registered.
    fn state(&self, tenant: &str) -> Result<Option<QuotaState>, QuotaError>;
}

/// A tenant's rate limiter as [`QuotaStore::rate_key`] found it: its name,
/// and for the in-process store the limiter itself (with the store it
/// belongs to), so that a check is the limiter's atomics and nothing else.
#[derive(Clone, Debug)]
pub struct RateKey {
    tenant: Arc<str>,
    local: Option<(u64, Arc<Gcra>)>,
}

impl RateKey {
    /// A key holding only the tenant's name, for stores that look it up on
    /// every check (Redis).
    pub fn by_name(tenant: &str) -> RateKey {
        RateKey {
            tenant: tenant.into(),
            local: None,
        }
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The limiter, if the store with id `store` made this key.
    fn local(&self, store: u64) -> Option<&Gcra> {
        match &self.local {
            Some((id, gcra)) if *id == store => Some(gcra),
            _ => None,
        }
    }
}

/// One tenant's limits and current use as a quota store counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaState {
    pub limits: Limits,
    /// Connection slots taken (by every process sharing the store).
    pub connections: u64,
    /// Queries that would be admitted now, one after the other, without
    /// waiting: the burst left. `None` when `qps` is unlimited.
    pub queries_available: Option<u64>,
}
