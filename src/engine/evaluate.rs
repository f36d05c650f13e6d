//! Deciding rows in-process: `Engine::evaluate` on the tenant's compiled
//! predicates (the interpreter where compilation is refused), both
//! evaluators side by side for `rampart eval`, and the compiled `RowCheck`
//! the rewriter uses for INSERT rows known when rewriting.

use serde_json::Value as Json;

use super::{has_check, has_using, Context, Engine, Verdict};
use crate::error::Error;
use crate::jit::{JitError, PredicateCache};
use crate::lang::model::{TExpr, Value};
use crate::lang::Command;
use crate::policy::combine::{combine, Clause};
use crate::policy::interp::{evaluate, Env};
use crate::policy::{specialise, EvalError};
use crate::sql::rewrite::{interpret, RowCheck};

/// One clause decided by both evaluators (see [`Engine::evaluate_both`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseEvaluation {
    /// The reference interpreter's answer (`policy::interp`, the oracle).
    pub interpreter: Result<Option<bool>, EvalError>,
    /// The compiled predicate's answer, or why it was not compiled (then
    /// [`Engine::evaluate`] uses the interpreter).
    pub compiled: Result<Result<Option<bool>, EvalError>, JitError>,
}

impl ClauseEvaluation {
    /// Whether the compiled answer, where there is one, is the interpreter's.
    pub fn agrees(&self) -> bool {
        self.compiled
            .as_ref()
            .map_or(true, |compiled| *compiled == self.interpreter)
    }
}

/// Both evaluators' answers for the clauses a command has.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub using: Option<ClauseEvaluation>,
    pub check: Option<ClauseEvaluation>,
}

impl Evaluation {
    /// The verdict when the evaluators agree; the first evaluation error
    /// (`using` before `check`); [`Error::Disagreement`] when they do not.
    pub fn verdict(&self) -> Result<Verdict, Error> {
        let clause = |name: &str, c: &Option<ClauseEvaluation>| -> Result<_, Error> {
            let Some(c) = c else { return Ok(None) };
            if !c.agrees() {
                return Err(Error::Disagreement(format!(
                    "{name}: interpreter {:?}, compiled {:?}",
                    c.interpreter, c.compiled
                )));
            }
            Ok(Some(c.interpreter.clone()))
        };
        let (using, check) = (clause("using", &self.using)?, clause("check", &self.check)?);
        Ok(Verdict {
            using: using.transpose()?,
            check: check.transpose()?,
        })
    }
}

impl Engine {
    /// Decides one row (`{"column": value, …}`, every declared column) with
    /// the compiled predicates of the context's tenant, compiled on first
    /// use and cached (see [`Engine::with_predicate_cache_capacity`]). Where
    /// compilation is refused (a predicate past `jit::MAX_NODES` nodes or
    /// `jit::MAX_DEPTH` levels, or one that still has `exists` after the
    /// tenant's values are folded in) the interpreter decides instead.
    ///
    /// The meaning is the interpreter's on the policy with the tenant's
    /// values folded in as constants, as the rewriter sends it to the
    /// database: a constant part that fails (`1 / (tenant.n - tenant.n)`)
    /// is an error even where `and` / `or` would not have evaluated it.
    ///
    /// ```
    /// let engine = rampart::Engine::from_source("orders.policy", r#"
    ///     context tenant { id: text }
    ///     table orders { id: int, tenant_id: text }
    ///     policy isolation on orders using tenant_id == tenant.id;
    /// "#)?;
    /// let ctx = rampart::Context::from_json(r#"{"tenant": {"id": "acme"}}"#)?;
    /// let row = serde_json::json!({"id": 1, "tenant_id": "acme"});
    /// let verdict = engine.evaluate(&ctx, "orders", rampart::Command::Select, &row)?;
    /// assert_eq!(verdict.using, Some(Some(true)));
    /// # Ok::<(), rampart::Error>(())
    /// ```
    pub fn evaluate(
        &self,
        ctx: &Context,
        table: &str,
        command: Command,
        row: &Json,
    ) -> Result<Verdict, Error> {
        let index = self.table_index(table)?;
        let values = self.context_values(ctx)?;
        let row = self.row_values(index, row)?;
        self.evaluate_values(&values, index, command, &row)
    }

    /// [`Engine::evaluate`] on values: `context` as from
    /// [`Engine::context_values`], `row` one value (or null) per declared
    /// column of table number `table`, in order.
    pub fn evaluate_values(
        &self,
        context: &[Value],
        table: usize,
        command: Command,
        row: &[Value],
    ) -> Result<Verdict, Error> {
        self.check_row_shape(table, row)?;
        self.predicates.with_tenant(context, |tenant| {
            let decide = |clause: Clause| -> Result<Option<bool>, Error> {
                match self.predicates.predicate_in(tenant, table, command, clause) {
                    Ok(compiled) => Ok(compiled.decide(row, context)?),
                    Err(_refused) => {
                        // What the code would have computed: the tenant's
                        // values folded in as constants, the rest read now.
                        let combined = combine(&self.set, table, command, clause);
                        let special = specialise(&combined.expr, tenant.known())?;
                        Ok(as_verdict(evaluate(&special, &Env { row, context })?))
                    }
                }
            };
            Ok(Verdict {
                using: has_using(command)
                    .then(|| decide(Clause::Using))
                    .transpose()?,
                check: has_check(command)
                    .then(|| decide(Clause::Check))
                    .transpose()?,
            })
        })
    }

    /// Decides one row with the reference interpreter (on the policy as
    /// written and specialised for the context, which must agree) and with
    /// the compiled predicate, keeping both answers; `rampart eval` prints
    /// them. [`Evaluation::verdict`] compares them.
    pub fn evaluate_both(
        &self,
        ctx: &Context,
        table: &str,
        command: Command,
        row: &Json,
    ) -> Result<Evaluation, Error> {
        let index = self.table_index(table)?;
        let values = self.context_values(ctx)?;
        let row = self.row_values(index, row)?;
        let tenant = self.predicates.tenant(&values);
        let both = |clause: Clause| -> Result<ClauseEvaluation, Error> {
            let compiled = self
                .predicates
                .predicate_of(&tenant, index, command, clause)
                .map(|p| p.decide(&row, &values));
            Ok(ClauseEvaluation {
                interpreter: self.interpret_twice(index, command, clause, &row, &values)?,
                compiled,
            })
        };
        Ok(Evaluation {
            using: has_using(command)
                .then(|| both(Clause::Using))
                .transpose()?,
            check: has_check(command)
                .then(|| both(Clause::Check))
                .transpose()?,
        })
    }

    /// The interpreter on the combined clause as written (context read at
    /// run time, as native RLS does) and specialised for the context (as
    /// the rewriter does); a difference is [`Error::Disagreement`].
    fn interpret_twice(
        &self,
        table: usize,
        command: Command,
        clause: Clause,
        row: &[Value],
        context: &[Value],
    ) -> Result<Result<Option<bool>, EvalError>, Error> {
        let combined = combine(&self.set, table, command, clause);
        let written = evaluate(&combined.expr, &Env { row, context }).map(as_verdict);
        let known: Vec<Option<Value>> = context.iter().cloned().map(Some).collect();
        let specialised = specialise(&combined.expr, &known)
            .and_then(|special| evaluate(&special, &Env { row, context: &[] }).map(as_verdict));
        if written != specialised {
            return Err(Error::Disagreement(format!(
                "as written {written:?}, specialised {specialised:?}"
            )));
        }
        Ok(written)
    }

    /// A row of table number `table`: one value per column, each null or
    /// of the column's type.
    fn check_row_shape(&self, table: usize, row: &[Value]) -> Result<(), Error> {
        let t = self
            .set
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable(format!("number {table}")))?;
        if row.len() != t.columns.len() {
            return Err(Error::Row(format!(
                "{} values for table `{}`, which has {} columns",
                row.len(),
                t.name,
                t.columns.len()
            )));
        }
        for (c, v) in t.columns.iter().zip(row) {
            if !v.is_null() && v.ty() != c.ty.ty {
                return Err(Error::Row(format!(
                    "{}: expected {}, found {}",
                    c.name,
                    c.ty.ty.name(),
                    v.ty().name()
                )));
            }
        }
        Ok(())
    }
}

fn as_verdict(v: Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

/// The engine's compiled predicates as the rewriter's [`RowCheck`]: a row
/// known when rewriting is decided by the tenant's compiled predicate when
/// every column that predicate reads is known, and by the interpreter on
/// the context-specialised condition otherwise (a column left to the
/// database, or compilation refused).
pub(crate) struct CompiledRowCheck<'a> {
    pub predicates: &'a PredicateCache,
}

impl RowCheck for CompiledRowCheck<'_> {
    fn decide(
        &self,
        table: usize,
        command: Command,
        clause: Clause,
        specialised: &TExpr,
        row: &[Option<Value>],
        context: &[Value],
    ) -> Result<Option<bool>, EvalError> {
        if let Ok(compiled) = self.predicates.predicate(context, table, command, clause) {
            let known = row
                .iter()
                .enumerate()
                .all(|(i, v)| v.is_some() || !compiled.reads_column(i));
            if known {
                let values: Vec<Value> = row
                    .iter()
                    .map(|v| v.clone().unwrap_or(Value::Null))
                    .collect();
                return compiled.decide(&values, context);
            }
        }
        interpret(specialised, row, context)
    }
}
