//! `Engine` and `Context`: a loaded, checked policy set and the values of one
//! request, with the questions users ask of them (explain, evaluate, DDL);
//! deciding rows with compiled predicates is in `engine/evaluate.rs`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value as Json;

use crate::error::Error;
use crate::jit::PredicateCache;
use crate::lang::load::{self, Loaded};
use crate::lang::model::{PolicySet, TExpr, Value};
use crate::lang::{self, Command};
use crate::policy::combine::{combine, Clause, Combined};
use crate::policy::context::{context_from_value, value_from_json};
use crate::policy::print::to_text;
use crate::policy::specialise;
use crate::quota::{InProcessStore, QuotaStore};
use crate::sql::rewrite::RewriteOptions;
use crate::sql::{ContextSource, Dialect, Emitter, Scope};

mod evaluate;

pub use evaluate::{ClauseEvaluation, Evaluation};

/// A checked policy set, shared by every thread and session.
///
/// ```
/// let engine = rampart::Engine::from_source("orders.policy", r#"
///     context tenant { id: text }
///     table orders { id: int, tenant_id: text }
///     policy isolation on orders using tenant_id == tenant.id;
/// "#)?;
/// assert_eq!(engine.policy_set().tables.len(), 1);
/// # Ok::<(), rampart::Error>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    set: Arc<PolicySet>,
    quotas: Arc<dyn QuotaStore>,
    /// Tenants whose writes are stopped (a migration's cutover), shared by
    /// every clone of this engine and so by every session it opened.
    frozen: Arc<RwLock<BTreeSet<String>>>,
    /// Held shared by every write statement and commit while it runs;
    /// `stop_writes` takes it exclusively once, so that no write that
    /// passed the check before the stop is still running after it returns.
    write_gate: Arc<RwLock<()>>,
    /// Compiled predicates per tenant (`evaluate`, INSERT rows checked when
    /// rewriting).
    predicates: Arc<PredicateCache>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("tables", &self.set.tables.len())
            .finish_non_exhaustive()
    }
}

/// The context of one request, as JSON: `{"tenant": {…}, "request": {…}}`.
/// It is checked against the policy set's declarations where it is used.
///
/// ```
/// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}, "request": {}}"#)?;
/// # Ok::<(), rampart::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    json: Json,
}

impl Context {
    /// Parses context JSON; fields are checked when the context is used.
    pub fn from_json(text: &str) -> Result<Context, Error> {
        let json: Json = serde_json::from_str(text)
            .map_err(|e| crate::policy::context::ContextError::Json(e.to_string()))?;
        Ok(Context { json })
    }

    /// The context as JSON.
    pub fn as_json(&self) -> &Json {
        &self.json
    }
}

/// The verdict of the combined `using` and `check` for one row; `None` where
/// the command has no such clause. `Some(None)` is SQL null.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub using: Option<Option<bool>>,
    pub check: Option<Option<bool>>,
}

/// What `explain` reports for a table × command × context.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub table: String,
    pub command: Command,
    /// `(policy, why)` for each policy that applies.
    pub applied: Vec<(String, String)>,
    /// `(policy, why not)` for each that does not.
    pub skipped: Vec<(String, String)>,
    pub using: Option<ExplainedPredicate>,
    pub check: Option<ExplainedPredicate>,
}

/// `(policy name, reason)` pairs.
type Reasons = Vec<(String, String)>;

/// One combined predicate, specialised for the context, in each form.
#[derive(Clone, Debug)]
pub struct ExplainedPredicate {
    pub rampart: String,
    pub postgres: String,
    pub sqlite: String,
}

impl Engine {
    /// Loads and checks a `.policy` file or a directory of them.
    pub fn load(path: impl AsRef<Path>) -> Result<Engine, Error> {
        Engine::from_loaded(load::load(&[path.as_ref()])?)
    }

    /// Parses and checks policy text given in memory.
    pub fn from_source(name: &str, text: &str) -> Result<Engine, Error> {
        Engine::from_loaded(load::load_str(name, text))
    }

    fn from_loaded(loaded: Loaded) -> Result<Engine, Error> {
        let Loaded {
            sources,
            files,
            mut diagnostics,
        } = loaded;
        let mut set = None;
        if !diagnostics.iter().any(lang::Diagnostic::is_error) {
            let checked = lang::check(&files);
            set = checked.set;
            diagnostics.extend(checked.diagnostics);
        }
        let errors: Vec<_> = diagnostics.into_iter().filter(|d| d.is_error()).collect();
        match set {
            Some(set) if errors.is_empty() => {
                let set = Arc::new(set);
                Ok(Engine {
                    predicates: Arc::new(PredicateCache::with_default_capacity(Arc::clone(&set))),
                    set,
                    quotas: Arc::new(InProcessStore::new()),
                    frozen: Arc::default(),
                    write_gate: Arc::default(),
                })
            }
            _ => Err(Error::Policy {
                count: errors.len(),
                rendered: sources.render(&errors),
            }),
        }
    }

    /// The checked policy set.
    pub fn policy_set(&self) -> &PolicySet {
        &self.set
    }

    /// The shared policy set, for what keeps it beyond a borrow.
    pub(crate) fn policy_set_arc(&self) -> &Arc<PolicySet> {
        &self.set
    }

    /// This engine counting quotas in `store` instead of its own
    /// in-process store (e.g. a store shared by several processes).
    pub fn with_quota_store(mut self, store: Arc<dyn QuotaStore>) -> Engine {
        self.quotas = store;
        self
    }

    /// This engine keeping the compiled predicates of at most `tenants`
    /// tenants (least recently used go first; at least one; by default
    /// `jit::cache::DEFAULT_CAPACITY`, 10,000). Starts an empty cache.
    pub fn with_predicate_cache_capacity(mut self, tenants: usize) -> Engine {
        self.predicates = Arc::new(PredicateCache::new(Arc::clone(&self.set), tenants));
        self
    }

    /// The compiled predicates cached per tenant.
    pub fn predicate_cache(&self) -> &PredicateCache {
        &self.predicates
    }

    /// Where this engine counts quotas.
    pub fn quota_store(&self) -> &Arc<dyn QuotaStore> {
        &self.quotas
    }

    /// The quota limits that apply to the context's tenant (its tier and
    /// overrides) and the tenant id they are counted under; `None` when the
    /// policy set declares no `tenant.id`.
    pub fn quota_limits(
        &self,
        ctx: &Context,
    ) -> Result<Option<(String, crate::policy::quota::ResolvedLimits)>, Error> {
        let values = self.context_values(ctx)?;
        Ok(crate::policy::quota::tenant_id(&self.set, &values)
            .map(|tenant| (tenant, crate::policy::quota::resolve(&self.set, &values))))
    }

    /// Stops writes of `tenant` in every session of this engine (and its
    /// clones): write statements, and the COMMIT of a transaction that
    /// wrote, fail with 25006 until [`Engine::resume_writes`]. Reads go on.
    /// Returns once no write that started before is still running. A
    /// migration's cutover uses it.
    pub fn stop_writes(&self, tenant: &str) {
        self.frozen
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant.to_string());
        drop(
            self.write_gate
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// The gate a write holds (shared) while it runs.
    pub(crate) fn write_gate(&self) -> Arc<RwLock<()>> {
        Arc::clone(&self.write_gate)
    }

    /// Lets `tenant` write again.
    pub fn resume_writes(&self, tenant: &str) {
        self.frozen
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(tenant);
    }

    /// Whether writes of `tenant` are stopped.
    pub fn writes_stopped(&self, tenant: &str) -> bool {
        self.frozen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(tenant)
    }

    /// The context's values, checked against the declared fields.
    pub fn context_values(&self, ctx: &Context) -> Result<Vec<Value>, Error> {
        Ok(context_from_value(&self.set, &ctx.json)?)
    }

    fn table_index(&self, table: &str) -> Result<usize, Error> {
        self.set
            .table_by_text(table)
            .map(|(i, _)| i)
            .ok_or_else(|| Error::UnknownTable(table.to_string()))
    }

    /// Native PostgreSQL DDL (`ENABLE` / `FORCE ROW LEVEL SECURITY`, `CREATE POLICY`).
    pub fn emit_postgres(&self) -> Result<String, Error> {
        Ok(crate::sql::ddl::emit_postgres(&self.set)?)
    }

    /// Rewrites SQL so that each statement sees only the rows the policies
    /// admit for this context; refuses every statement if one is refused.
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("orders.policy", r#"
    ///     context tenant { id: text }
    ///     table orders { id: int, tenant_id: text }
    ///     policy isolation on orders using tenant_id == tenant.id;
    /// "#)?;
    /// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}}"#)?;
    /// let sql = engine.rewrite(&ctx, rampart::Dialect::Postgres, "SELECT id FROM orders")?;
    /// assert!(sql.contains("\"orders\".\"tenant_id\" = 'acme'"));
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn rewrite(&self, ctx: &Context, dialect: Dialect, sql: &str) -> Result<String, Error> {
        Ok(self.rewrite_planned(ctx, dialect, sql)?.sql)
    }

    /// Like [`Engine::rewrite`], with the plan of each statement: which
    /// RETURNING columns were appended to verify new rows.
    pub fn rewrite_planned(
        &self,
        ctx: &Context,
        dialect: Dialect,
        sql: &str,
    ) -> Result<crate::sql::rewrite::Rewritten, Error> {
        let values = self.context_values(ctx)?;
        self.rewrite_values(&values, dialect, sql, RewriteOptions::default())
    }

    /// Rewrites `sql` for the context `values` (from
    /// [`Engine::context_values`]); INSERT rows known when rewriting are
    /// checked with the tenant's compiled predicates.
    pub fn rewrite_values(
        &self,
        values: &[Value],
        dialect: Dialect,
        sql: &str,
        options: RewriteOptions,
    ) -> Result<crate::sql::rewrite::Rewritten, Error> {
        Ok(crate::sql::rewrite::rewrite_checked(
            &self.set,
            values,
            dialect,
            sql,
            options,
            &self.row_check(),
        )?)
    }

    /// Decides INSERT rows known when rewriting with the tenant's compiled
    /// predicates.
    pub(crate) fn row_check(&self) -> evaluate::CompiledRowCheck<'_> {
        evaluate::CompiledRowCheck {
            predicates: &self.predicates,
        }
    }

    /// A rewriter bound to `ctx` that keeps the policy subqueries it makes,
    /// for rewriting many statements of one tenant (a session does).
    pub fn tenant_rewriter(
        &self,
        ctx: &Context,
        dialect: Dialect,
    ) -> Result<crate::sql::rewrite::TenantRewriter, Error> {
        let values = self.context_values(ctx)?;
        Ok(crate::sql::rewrite::TenantRewriter::new(
            Arc::clone(&self.set),
            values,
            dialect,
        ))
    }

    /// The combined, context-specialised predicates for a table and command,
    /// which policies took part and why.
    pub fn explain(
        &self,
        ctx: &Context,
        table: &str,
        command: Command,
    ) -> Result<Explanation, Error> {
        let index = self.table_index(table)?;
        let values = self.context_values(ctx)?;
        let known: Vec<Option<Value>> = values.iter().cloned().map(Some).collect();
        let using = combine(&self.set, index, command, Clause::Using);
        let check = combine(&self.set, index, command, Clause::Check);
        let (applied, skipped) = self.roles_report(&values, &using, &check, command);
        let explained = |c: &Combined| -> Result<ExplainedPredicate, Error> {
            let special = specialise(&c.expr, &known)?;
            Ok(ExplainedPredicate {
                rampart: to_text(&self.set, index, &special),
                postgres: self.emit(index, &special, Dialect::Postgres, &known)?,
                sqlite: self.emit(index, &special, Dialect::Sqlite, &known)?,
            })
        };
        Ok(Explanation {
            table: table.to_string(),
            command,
            applied,
            skipped,
            using: has_using(command).then(|| explained(&using)).transpose()?,
            check: has_check(command).then(|| explained(&check)).transpose()?,
        })
    }

    fn emit(
        &self,
        table: usize,
        expr: &TExpr,
        dialect: Dialect,
        known: &[Option<Value>],
    ) -> Result<String, Error> {
        let name = self
            .set
            .tables
            .get(table)
            .map(|t| t.name.name.clone())
            .unwrap_or_default();
        self.emit_as(table, expr, dialect, known, vec![name])
    }

    fn emit_as(
        &self,
        table: usize,
        expr: &TExpr,
        dialect: Dialect,
        known: &[Option<Value>],
        qualifier: Vec<String>,
    ) -> Result<String, Error> {
        let emitter = Emitter::new(&self.set, dialect, ContextSource::Literals, known);
        Ok(emitter
            .expr(expr, &Scope::new(table, qualifier))?
            .to_string())
    }

    /// The rows of `table` that the context reads: its combined SELECT
    /// `using`, specialised for the context, as SQL for `dialect` (the
    /// condition the rewriter puts on every read of the table). Columns are
    /// qualified with `qualifier`, or bare when it is `None` (as a
    /// PostgreSQL publication's row filter wants them).
    pub fn select_predicate_sql(
        &self,
        ctx: &Context,
        table: &str,
        dialect: Dialect,
        qualifier: Option<&str>,
    ) -> Result<String, Error> {
        let index = self.table_index(table)?;
        let values = self.context_values(ctx)?;
        let known: Vec<Option<Value>> = values.into_iter().map(Some).collect();
        let using = combine(&self.set, index, Command::Select, Clause::Using);
        let special = specialise(&using.expr, &known)?;
        let qualifier = qualifier.map(str::to_string).into_iter().collect();
        self.emit_as(index, &special, dialect, &known, qualifier)
    }

    /// Why each policy does or does not take part, roles decided.
    fn roles_report(
        &self,
        values: &[Value],
        using: &Combined,
        check: &Combined,
        command: Command,
    ) -> (Reasons, Reasons) {
        let roles = self.set.roles_field().and_then(|i| values.get(i));
        let mut applied = Vec::new();
        let mut skipped = using.skipped.clone();
        skipped.retain(|(name, _)| !check.applied.iter().any(|a| &a.policy == name));
        let mut seen = Vec::new();
        for a in using.applied.iter().chain(&check.applied) {
            if seen.contains(&a.policy) {
                continue;
            }
            seen.push(a.policy.clone());
            let mode = if a.permissive {
                "permissive"
            } else {
                "restrictive"
            };
            match &a.roles {
                None => applied.push((
                    a.policy.clone(),
                    format!("{mode}, for {command}, to every request"),
                )),
                Some(wanted) => {
                    let matched: Vec<&String> = wanted
                        .iter()
                        .filter(|r| matches!(roles, Some(Value::TextSet(s)) if s.contains(*r)))
                        .collect();
                    if matched.is_empty() {
                        skipped.push((
                            a.policy.clone(),
                            format!(
                                "{mode}, to {}: the request has none of these roles",
                                wanted.join(", ")
                            ),
                        ));
                    } else {
                        let names: Vec<&str> = matched.iter().map(|s| s.as_str()).collect();
                        applied.push((
                            a.policy.clone(),
                            format!("{mode}, for {command}, role {} matches", names.join(", ")),
                        ));
                    }
                }
            }
        }
        (applied, skipped)
    }

    /// A row given as `{"column": value, …}`: every declared column, nothing else.
    pub fn row_values(&self, table: usize, row: &Json) -> Result<Vec<Value>, Error> {
        let t = self
            .set
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable(table.to_string()))?;
        let object = row
            .as_object()
            .ok_or_else(|| Error::Row("expected a JSON object of column values".into()))?;
        for key in object.keys() {
            if t.column(key).is_none() {
                return Err(Error::Row(format!(
                    "unknown column `{key}` in table `{}`",
                    t.name
                )));
            }
        }
        t.columns
            .iter()
            .map(|c| {
                let raw = object.get(&c.name).ok_or_else(|| {
                    Error::Row(format!("missing column `{}` of table `{}`", c.name, t.name))
                })?;
                value_from_json(&c.name, c.ty.ty, c.ty.nullable, raw)
                    .map_err(|e| Error::Row(e.to_string()))
            })
            .collect()
    }
}

fn has_using(command: Command) -> bool {
    command != Command::Insert
}

fn has_check(command: Command) -> bool {
    matches!(command, Command::Insert | Command::Update)
}
