//! `Session`: one tenant request's connection. Each statement is rewritten
//! (cached by its text), run in a transaction of its own (a savepoint
//! inside the user's transaction), its new rows verified through the
//! appended RETURNING checks, the appended columns stripped, and its
//! change events delivered once the change is committed.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;

use crate::engine::{Context, Engine};
use crate::error::{DatabaseError, Error};
use crate::lang::model::Value;
use crate::quota::QuotaStore;
use crate::sql::rewrite::{
    violation_in_message, PlanKind, RewriteOptions, Rewritten, StatementPlan, Transaction,
};

use super::{Backend, RawResult, SqlValue};

/// How many rewritten statements a session remembers.
const REWRITE_CACHE: NonZeroUsize = NonZeroUsize::MIN.saturating_add(255);
/// The savepoint each write runs under inside a user's transaction.
const STATEMENT_SAVEPOINT: &str = "rampart_statement";

/// What a statement gave back, as the application asked for it: its own
/// RETURNING columns (or the query's), nothing the rewriter appended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
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
    values: Vec<Value>,
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
}

/// A connection slot taken from the engine's quota store.
struct ConnectionSlot {
    store: Arc<dyn QuotaStore>,
    tenant: String,
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
        let (values, tenant, slot) = admit(self, &ctx)?;
        Ok(Session {
            engine: self.clone(),
            context: ctx,
            values,
            tenant,
            backend,
            rewrites: LruCache::new(REWRITE_CACHE),
            tx: TxState::Idle,
            subscriber: None,
            pending: Vec::new(),
            savepoints: Vec::new(),
            slot,
        })
    }
}

/// What admitting a context gives: its values, its tenant id and a
/// connection slot of that tenant.
type Admission = (Vec<Value>, Option<String>, Option<ConnectionSlot>);

/// The context's values, its tenant id and a connection slot of that
/// tenant (its limits registered first).
fn admit(engine: &Engine, ctx: &Context) -> Result<Admission, Error> {
    let values = engine.context_values(ctx)?;
    let set = engine.policy_set();
    let Some(id) = crate::policy::quota::tenant_id(set, &values) else {
        return Ok((values, None, None));
    };
    let resolved = crate::policy::quota::resolve(set, &values);
    let store = Arc::clone(engine.quota_store());
    store.set_limits(&id, &resolved.limits)?;
    store.acquire_connection(&id)?;
    let slot = ConnectionSlot {
        store,
        tenant: id.clone(),
    };
    Ok((values, Some(id), Some(slot)))
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
        match self.execute_each(sql) {
            (_, Some(e)) => Err(e),
            (mut results, None) => Ok(results.pop().unwrap_or_default()),
        }
    }

    /// Runs `sql` statement by statement, returning each result up to the
    /// first error and that error.
    pub fn execute_each(&mut self, sql: &str) -> (Vec<QueryResult>, Option<Error>) {
        let rewritten = match self.rewritten_or_abort(sql) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut results = Vec::new();
        for (statement, plan) in rewritten.statements.iter().zip(&rewritten.plan) {
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
        let rewritten = Arc::new(self.engine.rewrite_values(
            &self.values,
            self.backend.dialect(),
            sql,
            options,
        )?);
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
            slot.store.check_qps(&slot.tenant)?;
        }
        // Exhaustive, so that a new kind of statement must be placed here.
        let write = match plan.kind {
            PlanKind::Query | PlanKind::Transaction(_) => false,
            PlanKind::Insert | PlanKind::Upsert | PlanKind::Update | PlanKind::Delete => true,
        };
        if !write {
            let raw = self.backend.run(sql, true);
            return match raw {
                Ok(raw) => Ok(QueryResult::from(raw)),
                Err(e) => {
                    self.fail_in_transaction();
                    Err(e.into())
                }
            };
        }
        let (begin, commit, rollback) = match self.tx {
            TxState::Idle => (
                "BEGIN".to_string(),
                "COMMIT".to_string(),
                "ROLLBACK".to_string(),
            ),
            _ => (
                format!("SAVEPOINT {STATEMENT_SAVEPOINT}"),
                format!("RELEASE SAVEPOINT {STATEMENT_SAVEPOINT}"),
                format!(
                    "ROLLBACK TO SAVEPOINT {STATEMENT_SAVEPOINT}; \
                     RELEASE SAVEPOINT {STATEMENT_SAVEPOINT}"
                ),
            ),
        };
        self.backend.batch(&begin)?;
        let outcome = self.run_write(sql, plan).map_err(violation);
        let outcome = match outcome {
            Ok(done) => self
                .backend
                .batch(&commit)
                .map(|()| done)
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((result, events)) => {
                self.deliver(events);
                Ok(result)
            }
            Err(e) => {
                // Roll back what the statement did; if even that fails the
                // connection is gone and the database has undone it.
                let _ = self.backend.batch(&rollback);
                self.fail_in_transaction();
                Err(e)
            }
        }
    }

    /// Runs a write, verifies its appended checks and strips them.
    fn run_write(
        &mut self,
        sql: &str,
        plan: &StatementPlan,
    ) -> Result<(QueryResult, Vec<ChangeEvent>), Error> {
        let returns_rows = plan.had_returning || plan.appended() > 0;
        let raw = self.backend.run(sql, returns_rows)?;
        if !returns_rows {
            return Ok((
                QueryResult {
                    affected: raw.affected,
                    ..QueryResult::default()
                },
                Vec::new(),
            ));
        }
        let RawResult { columns, rows, .. } = raw;
        let table = plan.table.clone().unwrap_or_default();
        let keep = columns.len().checked_sub(plan.appended()).ok_or_else(|| {
            Error::Database(DatabaseError::new(
                "XX000",
                "the statement returned fewer columns than the rewriter appended",
            ))
        })?;
        let image_end = keep + plan.image_columns.len();
        let operation = match plan.kind {
            PlanKind::Insert => Operation::Insert,
            PlanKind::Upsert => Operation::Upsert,
            PlanKind::Delete => Operation::Delete,
            PlanKind::Update | PlanKind::Query | PlanKind::Transaction(_) => Operation::Update,
        };
        let mut events = Vec::new();
        let mut out_rows = Vec::with_capacity(rows.len());
        for mut row in rows {
            let checks = row.get(image_end..).unwrap_or_default();
            if checks.iter().any(|v| !v.is_true()) {
                return Err(Error::CheckViolation { table });
            }
            if !plan.image_columns.is_empty() {
                let image = row.get(keep..image_end).unwrap_or_default();
                events.push(ChangeEvent {
                    table: table.clone(),
                    operation,
                    tenant: self.tenant.clone(),
                    row: plan
                        .image_columns
                        .iter()
                        .cloned()
                        .zip(image.iter().cloned())
                        .collect(),
                });
            }
            row.truncate(keep);
            out_rows.push(row);
        }
        let affected = u64::try_from(out_rows.len()).unwrap_or(u64::MAX);
        let result = if plan.had_returning {
            let mut columns = columns;
            columns.truncate(keep);
            QueryResult {
                columns,
                rows: out_rows,
                affected,
            }
        } else {
            QueryResult {
                affected,
                ..QueryResult::default()
            }
        };
        Ok((result, events))
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

    /// Transaction control, with PostgreSQL's answers where SQLite's differ.
    fn transaction(&mut self, sql: &str, control: &Transaction) -> Result<(), Error> {
        let outside = || {
            Error::Database(DatabaseError::new(
                "25P01",
                format!(
                    "{} can only be used in transaction blocks",
                    sql_keyword(sql)
                ),
            ))
        };
        match control {
            Transaction::Begin => {
                // PostgreSQL only warns about a BEGIN inside a transaction.
                if self.tx == TxState::Idle {
                    self.backend.batch(sql)?;
                    self.tx = TxState::Open;
                }
            }
            Transaction::Commit | Transaction::Rollback => {
                if self.tx == TxState::Idle {
                    return Ok(());
                }
                let commit = *control == Transaction::Commit && self.tx == TxState::Open;
                let result = self
                    .backend
                    .batch(if commit { "COMMIT" } else { "ROLLBACK" });
                let pending = std::mem::take(&mut self.pending);
                self.savepoints.clear();
                self.tx = TxState::Idle;
                result?;
                if commit {
                    self.deliver(pending);
                }
            }
            Transaction::Savepoint(name) => {
                match self.tx {
                    TxState::Idle => return Err(outside()),
                    TxState::Aborted => return Err(Error::TransactionAborted),
                    TxState::Open => {}
                }
                self.backend.batch(sql)?;
                self.savepoints.push((name.clone(), self.pending.len()));
            }
            Transaction::Release(name) | Transaction::RollbackTo(name) => {
                if self.tx == TxState::Idle {
                    return Err(outside());
                }
                let rollback = matches!(control, Transaction::RollbackTo(_));
                if self.tx == TxState::Aborted && !rollback {
                    return Err(Error::TransactionAborted);
                }
                let Some(at) = self.savepoints.iter().rposition(|(n, _)| n == name) else {
                    self.fail_in_transaction();
                    return Err(Error::Database(DatabaseError::new(
                        "3B001",
                        format!("savepoint \"{name}\" does not exist"),
                    )));
                };
                if let Err(e) = self.backend.batch(sql) {
                    self.fail_in_transaction();
                    return Err(e.into());
                }
                if rollback {
                    let pending_at = self.savepoints.get(at).map_or(0, |(_, n)| *n);
                    self.pending.truncate(pending_at);
                    self.savepoints.truncate(at + 1);
                    self.tx = TxState::Open;
                } else {
                    self.savepoints.truncate(at);
                }
            }
        }
        Ok(())
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
        let (values, tenant, slot) = admit(&self.engine, &ctx)?;
        self.values = values;
        self.tenant = tenant;
        self.slot = slot;
        self.context = ctx;
        self.rewrites.clear();
        Ok(())
    }

    /// Runs SQL on the database as is, without rewriting: for set-up such
    /// as `CREATE TABLE` by the application's owner. Not for tenant SQL.
    pub fn backend_mut(&mut self) -> &mut dyn Backend {
        self.backend.as_mut()
    }
}

/// A database error raised by the rewriter's guards (`ON CONFLICT`'s
/// conflicting and updated rows, skipped proposed rows) is the policy
/// violation it marks: 42501 with PostgreSQL's text.
fn violation(error: Error) -> Error {
    if let Error::Database(e) = &error {
        if let Some(text) = violation_in_message(&e.message) {
            return Error::Database(DatabaseError::new("42501", text));
        }
    }
    error
}

/// `SAVEPOINT`, `RELEASE SAVEPOINT`, `ROLLBACK TO SAVEPOINT` for messages.
fn sql_keyword(sql: &str) -> String {
    sql.split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_alphabetic()) && *w == w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}
