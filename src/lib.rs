//! Rampart: row-level security and tenant isolation for SQL, from a small
//! policy language compiled per tenant. See `ARCHITECTURE.md` for the map.

pub mod engine;
pub mod error;
pub mod exec;
pub mod jit;
pub mod lang;
pub mod migrate;
pub mod policy;
pub mod quota;
pub mod sql;

pub use engine::{Context, Engine, ExplainedPredicate, Explanation, Verdict};
pub use error::Error;
pub use exec::{QueryResult, Session, SqlValue};
pub use lang::Command;
pub use sql::Dialect;

#[cfg(feature = "arbitrary")]
pub mod gen;
