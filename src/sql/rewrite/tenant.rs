//! Rewriting for one tenant, statement after statement: what depends only on
//! the policy set, the context values and the dialect is made once and kept.
//!
//! A table read (`FROM orders`) becomes the same policy subquery in every
//! statement a tenant sends: combining its policies, specialising them to the
//! context and emitting SQL is most of a rewrite's cost, so the subquery of
//! each (table, locked) pair is made on first use and cloned after
//! (`PolicyCache`), and so are a write target's hiding predicate and
//! RETURNING checks. `max_rows` is resolved once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use sqlparser::ast::{Expr, Query, SelectItem};

use crate::lang::model::{PolicySet, Value};
use crate::policy::combine::{RowImage, StatementKind};
use crate::sql::Dialect;

use super::error::RewriteError;
use super::plan::AppendedCheck;
use super::row_check::{Interpreted, RowCheck};
use super::{limit, rewrite_parsed, Bound, RewriteOptions, Rewritten};

/// A target's hiding predicate by (table, qualifier, statement kind, reads).
pub(super) type HidingKey = (usize, Vec<String>, StatementKind, bool);
/// A target's appended checks by the same and the row image checked.
pub(super) type ChecksKey = (usize, Vec<String>, StatementKind, bool, RowImage);
/// RETURNING check items and their plan entries, numbered from 0.
pub(super) type Checks = (Vec<SelectItem>, Vec<AppendedCheck>);

/// What the rewriter made so far for one (policy set, context, dialect):
/// the policy subqueries of table reads by (table index, whether the read
/// locks rows), and the predicates and checks of write targets.
#[derive(Debug, Default)]
pub(super) struct PolicyCache {
    reads: Mutex<HashMap<(usize, bool), Query>>,
    hiding: Mutex<HashMap<HidingKey, Option<Expr>>>,
    checks: Mutex<HashMap<ChecksKey, Checks>>,
}

impl PolicyCache {
    /// The subquery for `key`, made by `make` on first use.
    pub(super) fn read(
        &self,
        key: (usize, bool),
        make: impl FnOnce() -> Result<Query, RewriteError>,
    ) -> Result<Query, RewriteError> {
        memo(&self.reads, key, make)
    }

    /// A write target's hiding predicate, made by `make` on first use.
    pub(super) fn hiding(
        &self,
        key: HidingKey,
        make: impl FnOnce() -> Result<Option<Expr>, RewriteError>,
    ) -> Result<Option<Expr>, RewriteError> {
        memo(&self.hiding, key, make)
    }

    /// A write target's appended checks, made by `make` on first use.
    pub(super) fn checks(
        &self,
        key: ChecksKey,
        make: impl FnOnce() -> Result<Checks, RewriteError>,
    ) -> Result<Checks, RewriteError> {
        memo(&self.checks, key, make)
    }
}

/// The value for `key` in `map`, made by `make` on first use and cloned.
/// Made outside the lock: two threads may both make it the first time; both
/// results are the same. A panic while the map was held cannot leave it
/// half-changed (`get` and `insert` are the only uses), so a poisoned lock
/// is used as it is.
fn memo<K: Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    make: impl FnOnce() -> Result<V, RewriteError>,
) -> Result<V, RewriteError> {
    let lock = || map.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(made) = lock().get(&key) {
        return Ok(made.clone());
    }
    let made = make()?;
    lock().insert(key, made.clone());
    Ok(made)
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
