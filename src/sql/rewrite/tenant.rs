//! Rewriting for one tenant, statement after statement: what depends only on
//! the policy set, the context values and the dialect is made once and kept.
//!
//! A table read (`FROM orders`) becomes the same policy subquery in every
//! statement a tenant sends: combining its policies, specialising them to the
//! context and emitting SQL is most of a rewrite's cost, so the subquery of
//! each (table, locked) pair is made on first use and cloned after
//! (`PolicyCache`). `max_rows` is resolved once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sqlparser::ast::Query;

use crate::lang::model::{PolicySet, Value};
use crate::sql::Dialect;

use super::error::RewriteError;
use super::row_check::{Interpreted, RowCheck};
use super::{limit, rewrite_parsed, Bound, RewriteOptions, Rewritten};

/// The policy subqueries made so far for one (policy set, context, dialect),
/// by (table index, whether the read locks rows).
#[derive(Debug, Default)]
pub(super) struct PolicyCache {
    reads: Mutex<HashMap<(usize, bool), Query>>,
}

impl PolicyCache {
    /// The subquery for `key`, made by `make` on first use.
    pub(super) fn get_or_make(
        &self,
        key: (usize, bool),
        make: impl FnOnce() -> Result<Query, RewriteError>,
    ) -> Result<Query, RewriteError> {
        if let Some(made) = self.lock().get(&key) {
            return Ok(made.clone());
        }
        // Made outside the lock: two threads may both make it the first
        // time; both results are the same.
        let made = make()?;
        self.lock().insert(key, made.clone());
        Ok(made)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, bool), Query>> {
        // A panic while the map was held cannot leave it half-changed
        // (`get` and `insert` are the only uses), so a poisoned lock is used.
        self.reads.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A rewriter bound to one tenant's context: [`TenantRewriter::rewrite`]
/// gives what [`super::rewrite_with`] gives for the same set, context and
/// dialect, but reuses the policy subqueries it made for earlier statements.
/// `Send + Sync`: one can serve a tenant's requests on many threads.
///
/// ```
/// use rampart::sql::rewrite::RewriteOptions;
/// let engine = rampart::Engine::from_source("orders.policy", r#"
///     context tenant { id: text }
///     table orders { id: int, tenant_id: text }
///     policy isolation on orders using tenant_id == tenant.id;
/// "#)?;
/// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}}"#)?;
/// let tenant = engine.tenant_rewriter(&ctx, rampart::Dialect::Postgres)?;
/// let first = tenant.rewrite("SELECT id FROM orders", RewriteOptions::default())?;
/// let again = tenant.rewrite("SELECT count(*) FROM orders", RewriteOptions::default())?;
/// assert!(first.sql.contains("'acme'") && again.sql.contains("'acme'"));
/// # Ok::<(), rampart::Error>(())
/// ```
#[derive(Debug)]
pub struct TenantRewriter {
    set: Arc<PolicySet>,
    context: Vec<Value>,
    known: Vec<Option<Value>>,
    dialect: Dialect,
    max_rows: Option<u64>,
    cache: PolicyCache,
}

impl TenantRewriter {
    /// A rewriter for the context `context` (values of `set.context`, in order).
    pub fn new(set: Arc<PolicySet>, context: Vec<Value>, dialect: Dialect) -> TenantRewriter {
        let known = context.iter().cloned().map(Some).collect();
        let max_rows = limit::max_rows(&set, &context);
        TenantRewriter {
            set,
            context,
            known,
            dialect,
            max_rows,
            cache: PolicyCache::default(),
        }
    }

    /// The context values this rewriter specialises to.
    pub fn context(&self) -> &[Value] {
        &self.context
    }

    /// The dialect it writes.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Rewrites `sql` as [`super::rewrite_with`] does.
    pub fn rewrite(&self, sql: &str, options: RewriteOptions) -> Result<Rewritten, RewriteError> {
        self.rewrite_checked(sql, options, &Interpreted)
    }

    /// Rewrites `sql` as [`super::rewrite_checked`] does, deciding INSERT
    /// rows known when rewriting with `row_check`.
    pub fn rewrite_checked(
        &self,
        sql: &str,
        options: RewriteOptions,
        row_check: &dyn RowCheck,
    ) -> Result<Rewritten, RewriteError> {
        let bound = Bound {
            set: &self.set,
            known: &self.known,
            max_rows: self.max_rows,
            dialect: self.dialect,
            cache: &self.cache,
            row_check,
        };
        rewrite_parsed(&bound, sql, options)
    }
}
