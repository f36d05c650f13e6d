//! Rewriting for one tenant, statement after statement: what depends only on
//! the policy set, the context values and the dialect is made once and kept.
//!
//! A table read (`FROM orders`) becomes the same policy subquery in every
//! statement a tenant sends: combining its policies, specialising them to the
//! context and emitting SQL is most of a rewrite's cost, so the subquery of
//! each (table, locked) pair is made and printed on first use
//! (`PolicyCache`), and so are a write target's hiding predicate and
//! RETURNING checks; statements place the text (`printed.rs`), or borrow
//! copies of the trees they change and give them back (`lend.rs`).
//! `max_rows` is resolved once.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sqlparser::ast::{Expr, Query, SelectItem};

use crate::lang::model::{PolicySet, Value};
use crate::policy::combine::{RowImage, StatementKind};
use crate::sql::Dialect;

use super::error::RewriteError;
use super::plan::AppendedCheck;
use super::printed::{raw, KeptPredicate};
use super::row_check::{Interpreted, RowCheck};
use super::{limit, rewrite_parsed, Bound, RewriteOptions, Rewritten};

/// A target's hiding predicate by (table, statement kind, reads), then by
/// how the statement names the table (its qualifier).
pub(super) type HidingKey = (usize, StatementKind, bool);
/// A target's appended checks by the same and the row image checked.
pub(super) type ChecksKey = (usize, StatementKind, bool, RowImage);
/// RETURNING check items and their plan entries, numbered from 0.
pub(super) type Checks = (Vec<SelectItem>, Vec<AppendedCheck>);

/// Parts of write targets made once and only ever shared after, by key,
/// then by the target's qualifier (a statement's qualifier is compared
/// where it is, not copied into a key; a table has few).
type Made<K, V> = Mutex<HashMap<K, Vec<(Vec<String>, V)>, RandomState>>;

/// How many qualifiers (aliases) of one table a part is kept for: past
/// that, a part is made for each statement, so that statements naming a
/// table by ever new aliases cannot make the search, or the memory held,
/// grow without end.
const MAX_QUALIFIERS: usize = 16;

/// How many spare copies of one kept part are held (one per statement that
/// uses it at the same time, or more than once, is plenty).
const MAX_SPARES: usize = 4;

/// One part made for a key: the copy made first (`master`), what goes with
/// it unlent (`extra`), and spare copies of `master` that statements used
/// and gave back unchanged, lent again instead of cloned.
#[derive(Debug)]
struct Kept<T, E> {
    master: T,
    extra: E,
    spares: Vec<T>,
}

/// Keyed by foldhash: the keys are small and our own.
type Pool<K, T, E = ()> = Mutex<HashMap<K, Kept<T, E>, RandomState>>;

/// What the rewriter made so far for one (policy set, context, dialect):
/// the policy subqueries of table reads by (table index, whether the read
/// locks rows), and the predicates and checks of write targets.
///
/// Statements receive each part as its printed text (`printed.rs`). A
/// statement that moves a condition into a policy subquery borrows its tree
/// instead: a spare copy, or a clone of the master when none is spare, and
/// once it is printed gives the copy back (`lend.rs`); a copy is kept as a
/// spare only if it equals the master, so nothing a statement did to it
/// reaches the next one.
#[derive(Debug, Default)]
pub(super) struct PolicyCache {
    reads: Pool<(usize, bool), Box<Query>, Arc<ReadText>>,
    /// Hiding predicates, as text only (`KeptPredicate`).
    hiding: Made<HidingKey, Option<KeptPredicate>>,
    /// RETURNING checks, as text and plan entries.
    checks: Made<ChecksKey, Arc<KeptChecks>>,
    /// UPDATE guards by the key of the checks they repeat (`update.rs`).
    guards: Made<ChecksKey, Arc<Option<UpdateGuard>>>,
}

/// A target's RETURNING checks as statements receive them: the items made
/// (`c0 AS rampart_check_0, …`), printed once, and their plan entries,
/// numbered from 0.
#[derive(Debug)]
pub(super) struct KeptChecks {
    pub items: Vec<SelectItem>,
    text: String,
    pub plan: Vec<AppendedCheck>,
}

impl KeptChecks {
    /// The checks as one RETURNING item printing their text; none when
    /// there are none.
    pub(super) fn item(&self) -> Option<SelectItem> {
        (!self.items.is_empty()).then(|| SelectItem::UnnamedExpr(raw(self.text.clone())))
    }
}

/// A policy subquery as statements place it (`table.rs`): printed once,
/// fenced (`OFFSET 0`) and not (`unfence.rs`), and the tables it names
/// unqualified (which a WITH item of the same name would hide). Its tree
/// is lent only to a statement that moves a condition into it
/// (`pushdown.rs`).
#[derive(Debug)]
pub(super) struct ReadText {
    pub fenced: String,
    pub unfenced: String,
    pub names: Vec<String>,
}

impl ReadText {
    /// The texts of `made`, printed with its fence and (taken off for the
    /// time) without.
    pub(super) fn new(made: &mut Query, names: Vec<String>) -> Self {
        let fenced = format!("({made})");
        let fence = made.limit_clause.take();
        let unfenced = format!("({made})");
        made.limit_clause = fence;
        ReadText {
            fenced,
            unfenced,
            names,
        }
    }
}

/// An UPDATE's new-row checks as one guard raising the marked 42501, over
/// the target's columns (`update.rs` puts the assigned values in), the
/// declared columns it reads, and its template.
#[derive(Debug)]
pub(super) struct UpdateGuard {
    pub guard: Expr,
    pub read: Vec<String>,
    /// The guard printed with holes for the values, where it can be.
    pub template: Option<super::printed::GuardTemplate>,
}

impl PolicyCache {
    /// A copy of the subquery for `key`, made by `make` on first use.
    pub(super) fn read(
        &self,
        key: (usize, bool),
        make: impl FnOnce() -> Result<(Box<Query>, Arc<ReadText>), RewriteError>,
    ) -> Result<Box<Query>, RewriteError> {
        lend(&self.reads, &key, make).map(|(query, _)| query)
    }

    /// The subquery for `key` as text, made by `make` on first use.
    pub(super) fn read_text(
        &self,
        key: (usize, bool),
        make: impl FnOnce() -> Result<(Box<Query>, Arc<ReadText>), RewriteError>,
    ) -> Result<Arc<ReadText>, RewriteError> {
        if let Some(kept) = lock(&self.reads).get(&key) {
            return Ok(Arc::clone(&kept.extra));
        }
        let (master, text) = make()?;
        lock(&self.reads).entry(key).or_insert(Kept {
            master,
            extra: Arc::clone(&text),
            spares: Vec::new(),
        });
        Ok(text)
    }

    /// A write target's hiding predicate (or a flat table's policy), made
    /// by `make` and printed on first use.
    pub(super) fn hiding(
        &self,
        key: HidingKey,
        qualifier: &[String],
        make: impl FnOnce() -> Result<Option<Expr>, RewriteError>,
    ) -> Result<Option<KeptPredicate>, RewriteError> {
        made_once(&self.hiding, key, qualifier, || {
            Ok(make()?.map(|expr| KeptPredicate::new(&expr)))
        })
    }

    /// A write target's appended checks, made by `make` and printed on
    /// first use.
    pub(super) fn checks(
        &self,
        key: ChecksKey,
        qualifier: &[String],
        make: impl FnOnce() -> Result<Checks, RewriteError>,
    ) -> Result<Arc<KeptChecks>, RewriteError> {
        made_once(&self.checks, key, qualifier, || {
            let (items, plan) = make()?;
            let printed: Vec<String> = items.iter().map(ToString::to_string).collect();
            Ok(Arc::new(KeptChecks {
                text: printed.join(", "),
                items,
                plan,
            }))
        })
    }

    /// The UPDATE guard for `key`, made by `make` on first use.
    pub(super) fn update_guard(
        &self,
        key: ChecksKey,
        qualifier: &[String],
        make: impl FnOnce() -> Result<Option<UpdateGuard>, RewriteError>,
    ) -> Result<Arc<Option<UpdateGuard>>, RewriteError> {
        made_once(&self.guards, key, qualifier, || Ok(Arc::new(make()?)))
    }

    /// Gives back a read's subquery after `restore` undid what the
    /// statement changed in it (given the master to compare with).
    pub(super) fn give_back_read(
        &self,
        key: (usize, bool),
        query: Box<Query>,
        restore: impl FnOnce(Box<Query>, &Query) -> Option<Box<Query>>,
    ) {
        give_back(&self.reads, &key, query, |q, master| restore(q, master));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A copy of the part for `key` (a spare, or a clone of the master), with
/// its extra; made by `make` on first use. Made outside the lock: two
/// threads may both make it the first time; both results are the same. A
/// panic while the map was held cannot leave it half-changed (each use
/// gets, pushes or pops once), so a poisoned lock is used as it is.
fn lend<K: Hash + Eq + Clone, T: Clone, E: Clone>(
    pool: &Pool<K, T, E>,
    key: &K,
    make: impl FnOnce() -> Result<(T, E), RewriteError>,
) -> Result<(T, E), RewriteError> {
    if let Some(kept) = lock(pool).get_mut(key) {
        let part = kept.spares.pop().unwrap_or_else(|| kept.master.clone());
        return Ok((part, kept.extra.clone()));
    }
    let (master, extra) = make()?;
    let lent = (master.clone(), extra.clone());
    lock(pool).entry(key.clone()).or_insert(Kept {
        master,
        extra,
        spares: Vec::new(),
    });
    Ok(lent)
}

/// The part made for `key` and `qualifier`, made by `make` on first use
/// (outside the lock, as in [`lend`]).
fn made_once<K: Hash + Eq, V: Clone>(
    made: &Made<K, V>,
    key: K,
    qualifier: &[String],
    make: impl FnOnce() -> Result<V, RewriteError>,
) -> Result<V, RewriteError> {
    let found = |parts: &Vec<(Vec<String>, V)>| {
        parts
            .iter()
            .find(|(q, _)| q.as_slice() == qualifier)
            .map(|(_, part)| part.clone())
    };
    if let Some(part) = lock(made).get(&key).and_then(found) {
        return Ok(part);
    }
    let part = make()?;
    let mut map = lock(made);
    let parts = map.entry(key).or_default();
    if parts.len() < MAX_QUALIFIERS && found(parts).is_none() {
        parts.push((qualifier.to_vec(), part.clone()));
    }
    Ok(part)
}

/// Keeps `part` as a spare of `key` if `restore` makes it equal to the
/// master again; else (or when enough are spare) it is dropped.
fn give_back<K: Hash + Eq, T: PartialEq, E>(
    pool: &Pool<K, T, E>,
    key: &K,
    part: T,
    restore: impl FnOnce(T, &T) -> Option<T>,
) {
    let mut map = lock(pool);
    let Some(kept) = map.get_mut(key) else {
        return;
    };
    if kept.spares.len() >= MAX_SPARES {
        return;
    }
    if let Some(part) = restore(part, &kept.master) {
        if part == kept.master {
            kept.spares.push(part);
        }
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
    null_defaults: Vec<Option<Vec<bool>>>,
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
            null_defaults: Vec::new(),
        }
    }

    /// Tells the rewriter which columns the database fills with null when
    /// an INSERT leaves them out: per declared table (in order, `None`
    /// where unknown), per declared column. A guard can then check a row
    /// whose policies read such a column (as null) inside the statement,
    /// where otherwise its value is the database's and unknown here: a
    /// plain INSERT is checked before the row's constraints, as PostgreSQL
    /// does, and `ON CONFLICT` and WITH items are rewritten instead of
    /// refused. Sessions read it from the database (`exec::schema`).
    ///
    /// ```
    /// use rampart::sql::rewrite::RewriteOptions;
    /// let engine = rampart::Engine::from_source("t.policy", r#"
    ///     context tenant { id: text }
    ///     table t { id: int, k: int? }
    ///     policy writers on t for insert check k > 0;
    /// "#)?;
    /// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}}"#)?;
    /// let mut tenant = engine.tenant_rewriter(&ctx, rampart::Dialect::Postgres)?;
    /// let sql = "INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING";
    /// // `k`'s default is unknown: the row cannot be checked in the statement.
    /// assert!(tenant.rewrite(sql, RewriteOptions::default()).is_err());
    /// // Told that the database fills `k` with null: a guard reads it as null.
    /// tenant.set_null_defaults(vec![Some(vec![true, true])]);
    /// let guarded = tenant.rewrite(sql, RewriteOptions::default())?;
    /// assert!(guarded.sql.contains("CAST((NULL) AS bigint) > 0"), "{}", guarded.sql);
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn set_null_defaults(&mut self, null_defaults: Vec<Option<Vec<bool>>>) {
        self.null_defaults = null_defaults;
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
            walk_all: false,
            null_defaults: &self.null_defaults,
        };
        rewrite_parsed(&bound, sql, options)
    }
}
