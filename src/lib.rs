//! Rampart: row-level security and tenant isolation for SQL, from a small
//! policy language compiled per tenant. See `ARCHITECTURE.md` for the map.

pub mod exec;
pub mod lang;
pub mod policy;
pub mod sql;

#[cfg(feature = "arbitrary")]
pub mod gen;
