//! `Session`: one tenant request's connection. Each statement is rewritten
//! (cached by its text), run in a transaction of its own (a savepoint
//! inside the user's transaction), its new rows verified through the
//! appended RETURNING checks, the appended columns stripped, and its
//! change events delivered once the change is committed.

use std::num::NonZeroUsize;
use std::sync::{Arc, PoisonError};

use lru::LruCache;

use crate::engine::{Context, Engine};
use crate::error::{DatabaseError, Error};
use crate::lang::model::Value;
use crate::quota::{QuotaStore, RateKey};
use crate::sql::rewrite::{
    PlanKind, RewriteError, RewriteOptions, Rewritten, StatementPlan, TenantRewriter,
};
use crate::sql::Dialect;

use super::schema;
use super::usage::{Accounting, TenantAccount};
use super::{Backend, RawResult, SqlValue};

mod rows;
mod transaction;
mod write;

use write::violation;

/// How many rewritten statements a session remembers.
const REWRITE_CACHE: NonZeroUsize = NonZeroUsize::MIN.saturating_add(255);
/// The savepoint each write runs under inside a user's transaction: taken,
/// released, rolled back to.
const STATEMENT_SAVEPOINT_BEGIN: &str = "SAVEPOINT rampart_statement";
const STATEMENT_SAVEPOINT_RELEASE: &str = "RELEASE SAVEPOINT rampart_statement";
const STATEMENT_SAVEPOINT_ROLLBACK: &str =
    "ROLLBACK TO SAVEPOINT rampart_statement; RELEASE SAVEPOINT rampart_statement";

/// A result's column names, shared between the results of one statement.
type Names = Arc<[String]>;

/// What a statement gave back, as the application asked for it: its own
/// RETURNING columns (or the query's), nothing the rewriter appended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryResult {
    /// Column names, in order (shared between results of one statement).
    pub columns: Arc<[String]>,
    pub rows: Vec<Vec<SqlValue>>,
    /// Rows returned by a query, or rows inserted, updated or deleted.
    pub affected: u64,
}

impl From<RawResult> for QueryResult {
    /// A result with nothing appended to strip, as the database gave it.
    fn from(raw: RawResult) -> QueryResult {
        QueryResult {
            columns: raw.columns,
            rows: raw.rows,
            affected: raw.affected,
        }
    }
}

/// The kind of change an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Insert,
    /// `INSERT … ON CONFLICT DO UPDATE`: the row was inserted or updated;
    /// the image is the row as it now stands.
    Upsert,
    Update,
    Delete,
}

/// One row changed by a committed statement, for audit and tenant
/// migration: the declared table, the operation, the tenant (the context's
/// `tenant.id`, when there is one) and the row image — every declared
/// column of the new row (INSERT, UPDATE) or of the removed row (DELETE),
/// as stored. Events of a user's transaction are delivered when it commits,
/// in statement order, and dropped if it rolls back.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    pub table: String,
    pub operation: Operation,
    pub tenant: Option<String>,
    pub row: Vec<(String, SqlValue)>,
}

/// Receives change events.
pub type Subscriber = Box<dyn FnMut(&ChangeEvent) + Send>;

/// Where the session's transaction stands, as PostgreSQL tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxState {
    /// No user transaction: each statement commits on its own.
    Idle,
    Open,
    /// A statement failed inside the user's transaction: everything but
    /// `ROLLBACK` (or `ROLLBACK TO` a savepoint) fails with 25P02.
    Aborted,
}

/// A connection running SQL as one context. Created by [`Engine::connect`].
///
/// ```
/// let engine = rampart::Engine::from_source("orders.policy", r#"
///     context tenant { id: text }
///     table orders { id: int, tenant_id: text = tenant.id }
///     policy isolation on orders using tenant_id == tenant.id;
/// "#)?;
/// let mut backend = rampart::exec::open("sqlite::memory:")?;
/// backend.batch("CREATE TABLE orders (id INTEGER, tenant_id TEXT);
///                INSERT INTO orders VALUES (1, 'acme'), (2, 'globex');")?;
/// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}}"#)?;
/// let mut session = engine.connect(ctx, backend)?;
/// let result = session.execute("SELECT id FROM orders")?;
/// assert_eq!(result.rows, vec![vec![rampart::exec::SqlValue::Int(1)]]);
/// # Ok::<(), rampart::Error>(())
/// ```
pub struct Session {
    engine: Engine,
    context: Context,
    /// Rewrites as this context, keeping the policy subqueries it makes.
    rewriter: TenantRewriter,
    tenant: Option<String>,
    backend: Box<dyn Backend>,
    rewrites: LruCache<String, Arc<Rewritten>>,
    tx: TxState,
    subscriber: Option<Subscriber>,
    /// Events of the open user transaction, not yet committed.
    pending: Vec<ChangeEvent>,
    /// The user's savepoints and how many events were pending at each.
    savepoints: Vec<(String, usize)>,
    /// The connection slot this session holds, given back on drop.
    slot: Option<ConnectionSlot>,
    /// Whether the open user transaction has run a write.
    wrote: bool,
    /// The tenant's storage limit and usage statements (`None` without a
    /// tenant).
    account: Option<TenantAccount>,
    /// Which tables' storage accounting is known to be in place.
    accounting: Accounting,
    /// The last write's result columns and the user's part of them.
    stripped: Option<(Names, Names)>,
    /// The columns the database fills with null, per declared table, once
    /// read for the rewriter (`rewritten`); `None` until then.
    null_defaults: Option<Vec<Option<Vec<bool>>>>,
}

/// Whether knowing the columns the database fills with null could change
/// a rewrite: it has an INSERT (whose rows may leave such a column to the
/// database), or it was refused as not supported (which an INSERT's may be
/// for that reason).
fn could_use_defaults(rewritten: &Result<Rewritten, RewriteError>) -> bool {
    let inserts = |kind: &PlanKind| matches!(kind, PlanKind::Insert | PlanKind::Upsert);
    match rewritten {
        Ok(r) => r
            .plan
            .iter()
            .any(|p| inserts(&p.kind) || p.with_writes.iter().any(|w| inserts(&w.kind))),
        Err(e) => e.sqlstate() == "0A000",
    }
}

/// A connection slot taken from the engine's quota store.
struct ConnectionSlot {
    store: Arc<dyn QuotaStore>,
    tenant: String,
    /// The tenant's rate limiter, found once for the session's statements.
    rate: RateKey,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.store.release_connection(&self.tenant);
    }
}

impl Engine {
    /// Opens a session running SQL on `backend` as the context `ctx`. It
    /// takes one of the tenant's connection slots (refused with 53300 when
    /// none is free) and gives it back when dropped; the tenant's limits are
    /// (re)registered with the quota store first, so a reloaded policy set's
    /// limits apply from its next session on.
    pub fn connect(&self, ctx: Context, backend: Box<dyn Backend>) -> Result<Session, Error> {
        let (values, tenant, slot, account) = admit(self, &ctx)?;
        let tables = self.policy_set().tables.len();
        let rewriter =
            TenantRewriter::new(Arc::clone(self.policy_set_arc()), values, backend.dialect());
        Ok(Session {
            engine: self.clone(),
            context: ctx,
            rewriter,
            tenant,
            backend,
            rewrites: LruCache::new(REWRITE_CACHE),
            tx: TxState::Idle,
            subscriber: None,
            pending: Vec::new(),
            savepoints: Vec::new(),
            slot,
            wrote: false,
            account,
            accounting: Accounting::new(tables),
            stripped: None,
            null_defaults: None,
        })
    }
}

/// What admitting a context gives: its values, its tenant id, a connection
/// slot of that tenant and its storage account.
type Admission = (
    Vec<Value>,
    Option<String>,
    Option<ConnectionSlot>,
    Option<TenantAccount>,
);

/// The context's values, its tenant id and a connection slot of that
/// tenant (its limits registered first).
fn admit(engine: &Engine, ctx: &Context) -> Result<Admission, Error> {
    let values = engine.context_values(ctx)?;
    let set = engine.policy_set();
    let Some(id) = crate::policy::quota::tenant_id(set, &values) else {
        return Ok((values, None, None, None));
    };
    let resolved = crate::policy::quota::resolve(set, &values);
    let store = Arc::clone(engine.quota_store());
    store.set_limits(&id, &resolved.limits)?;
    let rate = store.rate_key(&id)?;
    store.acquire_connection(&id)?;
    let slot = ConnectionSlot {
        store,
        tenant: id.clone(),
        rate,
    };
    let account = TenantAccount::new(&id, &resolved);
    Ok((values, Some(id), Some(slot), Some(account)))
}

impl Session {
    /// The context this session runs as.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The engine this session belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Delivers every committed change to `subscriber` from now on (and
    /// makes writes return their row images to the session for it).
    pub fn subscribe(&mut self, subscriber: Subscriber) {
        self.subscriber = Some(subscriber);
        self.rewrites.clear();
    }

    /// Runs `sql` (one or more statements) and returns the last statement's
    /// result. Statements run in order and stop at the first error; a
    /// statement that fails changes nothing.
    pub fn execute(&mut self, sql: &str) -> Result<QueryResult, Error> {
        let rewritten = self.rewritten_or_abort(sql)?;
        let mut last = QueryResult::default();
        for (statement, plan) in rewritten.statements().zip(&rewritten.plan) {
            last = self.run_statement(statement, plan)?;
        }
        Ok(last)
    }

    /// Runs `sql` statement by statement, returning each result up to the
    /// first error and that error.
    pub fn execute_each(&mut self, sql: &str) -> (Vec<QueryResult>, Option<Error>) {
        let rewritten = match self.rewritten_or_abort(sql) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut results = Vec::new();
        for (statement, plan) in rewritten.statements().zip(&rewritten.plan) {
            match self.run_statement(statement, plan) {
                Ok(result) => results.push(result),
                Err(e) => return (results, Some(e)),
            }
        }
        (results, None)
    }

    /// The rewrite of `sql`; a statement refused (or a constant row failing
    /// its checks) inside a user's transaction aborts it, as a failing
    /// statement does on PostgreSQL.
    fn rewritten_or_abort(&mut self, sql: &str) -> Result<Arc<Rewritten>, Error> {
        let rewritten = self.rewritten(sql);
        if rewritten.is_err() {
            self.fail_in_transaction();
        }
        rewritten
    }

    /// The rewrite of `sql` for this session, from the cache if seen.
    pub fn rewritten(&mut self, sql: &str) -> Result<Arc<Rewritten>, Error> {
        if let Some(hit) = self.rewrites.get(sql) {
            return Ok(Arc::clone(hit));
        }
        let options = RewriteOptions {
            row_images: self.subscriber.is_some(),
        };
        let row_check = self.engine.row_check();
        let mut rewritten = self.rewriter.rewrite_checked(sql, options, &row_check);
        if self.null_defaults.is_none()
            && self.tx != TxState::Aborted
            && could_use_defaults(&rewritten)
        {
            // Once per session, on its first INSERT (or refusal): which
            // columns the database fills with null, so that the rows of
            // INSERTs leaving them out can be guarded in the statement.
            let defaults = schema::null_defaults(self.engine.policy_set(), self.backend.as_mut());
            if defaults.iter().any(Option::is_some) {
                self.rewriter.set_null_defaults(defaults.clone());
                self.rewrites.clear();
                rewritten = self.rewriter.rewrite_checked(sql, options, &row_check);
            }
            self.null_defaults = Some(defaults);
        }
        let rewritten = Arc::new(rewritten?);
        self.rewrites.put(sql.to_string(), Arc::clone(&rewritten));
        Ok(rewritten)
    }

    fn run_statement(&mut self, sql: &str, plan: &StatementPlan) -> Result<QueryResult, Error> {
        if let PlanKind::Transaction(control) = &plan.kind {
            return self
                .transaction(sql, control)
                .map(|()| QueryResult::default());
        }
        if self.tx == TxState::Aborted {
            return Err(Error::TransactionAborted);
        }
        if let Some(slot) = &self.slot {
            slot.store.check_qps_key(&slot.rate)?;
        }
        // A query with writes in its WITH items runs as a write.
        let write = plan.writes();
        let gate = self.engine.write_gate();
        let _running = if write {
            let running = gate.read().unwrap_or_else(PoisonError::into_inner);
            self.refuse_if_stopped()?;
            self.wrote = self.tx != TxState::Idle;
            running
        } else {
            let raw = self.backend.run(sql, true);
            return match raw {
                Ok(raw) => Ok(QueryResult::from(raw)),
                Err(e) => {
                    self.fail_in_transaction();
                    Err(e.into())
                }
            };
        };
        if self.single_statement_write(plan) {
            return self.run_single_statement_write(sql, plan);
        }
        let (begin, commit, rollback) = match self.tx {
            // SQLite: a deferred BEGIN would read first and then ask for the
            // write lock, which SQLite refuses at once (SQLITE_BUSY, no
            // waiting) when another connection is writing; IMMEDIATE waits
            // for the lock up front, under the busy timeout.
            TxState::Idle => (
                match self.backend.dialect() {
                    Dialect::Sqlite => "BEGIN IMMEDIATE",
                    Dialect::Postgres => "BEGIN",
                },
                "COMMIT",
                "ROLLBACK",
            ),
            _ => (
                STATEMENT_SAVEPOINT_BEGIN,
                STATEMENT_SAVEPOINT_RELEASE,
                STATEMENT_SAVEPOINT_ROLLBACK,
            ),
        };
        let pending_before = self.accounting.pending();
        self.backend.batch(begin)?;
        let outcome = self.run_counted_write(sql, plan).map_err(violation);
        let outcome = match outcome {
            Ok(done) => self
                .backend
                .batch(commit)
                .map(|()| done)
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((result, events)) => {
                self.deliver(events);
                let committed = self.tx == TxState::Idle;
                if committed {
                    self.accounting.settle();
                }
                if let Some(account) = &self.account {
                    if committed {
                        account.committed();
                    } else {
                        account.uncommitted();
                    }
                }
                Ok(result)
            }
            Err(e) => {
                // Roll back what the statement did; if even that fails the
                // connection is gone and the database has undone it.
                let _ = self.backend.batch(rollback);
                self.fail_in_transaction();
                self.accounting.forget(pending_before);
                if let Some(account) = &self.account {
                    account.uncommitted();
                }
                Err(e)
            }
        }
    }

    /// The first `keep` of a write's result columns, the user's: kept for
    /// the last statement (its results share them).
    fn kept_columns(&mut self, columns: Arc<[String]>, keep: usize) -> Arc<[String]> {
        if keep == columns.len() {
            return columns;
        }
        if let Some((full, kept)) = &self.stripped {
            if Arc::ptr_eq(full, &columns) && kept.len() == keep {
                return Arc::clone(kept);
            }
        }
        let kept: Arc<[String]> = columns.iter().take(keep).cloned().collect();
        self.stripped = Some((columns, Arc::clone(&kept)));
        kept
    }

    /// 25006 (the statement refused, a transaction aborted) when the
    /// tenant's writes are stopped.
    fn refuse_if_stopped(&mut self) -> Result<(), Error> {
        if let Some(tenant) = self
            .tenant
            .as_ref()
            .filter(|t| self.engine.writes_stopped(t))
        {
            let tenant = tenant.clone();
            self.fail_in_transaction();
            return Err(Error::WritesStopped { tenant });
        }
        Ok(())
    }

    /// A failed statement inside a user's transaction aborts it, as on
    /// PostgreSQL.
    fn fail_in_transaction(&mut self) {
        if self.tx == TxState::Open {
            self.tx = TxState::Aborted;
        }
    }

    fn deliver(&mut self, events: Vec<ChangeEvent>) {
        if self.tx == TxState::Idle {
            if let Some(subscriber) = &mut self.subscriber {
                events.iter().for_each(subscriber);
            }
        } else {
            self.pending.extend(events);
        }
    }

    /// Runs as `ctx` from now on, on the same connection: takes a slot of
    /// the new tenant first, so on failure (a quota, a bad context) the
    /// session stays as it was. Refused inside a transaction.
    pub fn switch_context(&mut self, ctx: Context) -> Result<(), Error> {
        if self.tx != TxState::Idle {
            return Err(Error::Database(DatabaseError::new(
                "25001",
                "cannot switch context inside a transaction",
            )));
        }
        let (values, tenant, slot, account) = admit(&self.engine, &ctx)?;
        self.rewriter = TenantRewriter::new(
            Arc::clone(self.engine.policy_set_arc()),
            values,
            self.backend.dialect(),
        );
        if let Some(defaults) = &self.null_defaults {
            self.rewriter.set_null_defaults(defaults.clone());
        }
        self.tenant = tenant;
        self.slot = slot;
        self.account = account;
        self.context = ctx;
        self.rewrites.clear();
        Ok(())
    }

    /// Runs SQL on the database as is, without rewriting: for set-up such
    /// as `CREATE TABLE` by the application's owner. Not for tenant SQL.
    /// The columns' defaults read for the rewriter are read again after
    /// (the set-up may change them).
    pub fn backend_mut(&mut self) -> &mut dyn Backend {
        if self.null_defaults.take().is_some() {
            self.rewriter.set_null_defaults(Vec::new());
            self.rewrites.clear();
        }
        self.backend.as_mut()
    }
}
