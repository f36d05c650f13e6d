//! Quota enforcement: connection slots, the GCRA rate limiter, storage
//! usage, per tenant, with limits that a reload replaces in place. Which
//! limits a tenant has is decided by `policy::quota`; this module needs only `lang`.

pub mod clock;
mod error;
pub mod rate;
pub mod slots;
pub mod store;

pub use clock::{Clock, CoarseClock, ManualClock};
pub use error::QuotaError;
pub use rate::{Gcra, RateLimit};
pub use slots::{ConnectionPermit, ConnectionSlots};
pub use store::InProcessStore;

use crate::lang::model::Limits;

/// Where quota counters live: this process ([`InProcessStore`]), or later a
/// store shared by several processes. Every method is keyed by tenant id.
pub trait QuotaStore: Send + Sync {
    /// Registers `tenant` or replaces its limits (a reload). Its counters,
    /// open connections and rate history stay.
    fn set_limits(&self, tenant: &str, limits: &Limits) -> Result<(), QuotaError>;

    /// Admits one query, or refuses it with a retry-after hint (53400).
    fn check_qps(&self, tenant: &str) -> Result<(), QuotaError>;

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
}
