//! `QuotaError`: a request refused by a quota, with the SQLSTATE PostgreSQL
//! uses for the same kind of refusal.

use std::time::Duration;

/// Why a quota refused a request. Every variant names the tenant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    /// One connection more than the tenant's `connections` limit.
    #[error("too many connections for tenant `{tenant}`: the limit is {limit}")]
    Connections { tenant: String, limit: u64 },
    /// Over the tenant's `qps`: the equivalent of HTTP 429. `retry_after` is
    /// how long until one query would be admitted (`Duration::MAX` while the
    /// limit is 0: never).
    #[error(
        "too many queries a second for tenant `{tenant}`: the limit is {limit}, retry after {} ms",
        retry_after.as_millis()
    )]
    Rate {
        tenant: String,
        limit: u64,
        retry_after: Duration,
    },
    /// The tenant's stored bytes have reached its `storage` limit; writes
    /// that add data are refused, reads go on.
    #[error("storage full for tenant `{tenant}`: {used} bytes used, the limit is {limit}")]
    StorageFull {
        tenant: String,
        used: u64,
        limit: u64,
    },
    /// The store was given no limits for this tenant: refused (fail closed).
    #[error(
        "no quota limits for tenant `{0}`: the tenant was never registered with the quota store"
    )]
    UnknownTenant(String),
    /// A shared store (Redis) could not be asked, so the request is refused:
    /// every limit fails closed.
    #[error("quota store unavailable, request refused: {0}")]
    Unavailable(String),
}

impl QuotaError {
    /// The SQLSTATE of this refusal.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            // too_many_connections
            QuotaError::Connections { .. } => "53300",
            // configuration_limit_exceeded
            QuotaError::Rate { .. } => "53400",
            // disk_full
            QuotaError::StorageFull { .. } => "53100",
            // undefined_object
            QuotaError::UnknownTenant(_) => "42704",
            // connection_exception
            QuotaError::Unavailable(_) => "08000",
        }
    }

    /// The retry-after hint of a rate refusal.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            QuotaError::Rate { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}
