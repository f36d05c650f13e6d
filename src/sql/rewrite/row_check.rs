//! Deciding a policy condition on an INSERT row known when rewriting: the
//! rewriter asks a [`RowCheck`], which is the interpreter unless the caller
//! (the engine, with its compiled predicates) passes another.

use crate::lang::model::{TExpr, Value};
use crate::lang::Command;
use crate::policy::combine::Clause;
use crate::policy::interp::{eval, Env};
use crate::policy::EvalError;

/// Decides the combined `clause` of `command` on `table` for one row.
pub trait RowCheck {
    /// The verdict on `row` (declared columns in order; `None` where the
    /// value is left to the database) in `context` (every field, in
    /// `PolicySet::context` order). `specialised` is the condition with the
    /// whole context folded in; it reads no column that is `None` in `row`.
    fn decide(
        &self,
        table: usize,
        command: Command,
        clause: Clause,
        specialised: &TExpr,
        row: &[Option<Value>],
        context: &[Value],
    ) -> Result<Option<bool>, EvalError>;
}

/// The reference interpreter, on the specialised condition.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interpreted;

impl RowCheck for Interpreted {
    fn decide(
        &self,
        _table: usize,
        _command: Command,
        _clause: Clause,
        specialised: &TExpr,
        row: &[Option<Value>],
        context: &[Value],
    ) -> Result<Option<bool>, EvalError> {
        interpret(specialised, row, context)
    }
}

/// `condition` on `row` by the interpreter, unknown values as null.
pub fn interpret(
    condition: &TExpr,
    row: &[Option<Value>],
    context: &[Value],
) -> Result<Option<bool>, EvalError> {
    let row: Vec<Value> = row
        .iter()
        .map(|v| v.clone().unwrap_or(Value::Null))
        .collect();
    let env = Env { row: &row, context };
    Ok(match eval(condition, &env)? {
        Value::Bool(b) => Some(b),
        _ => None,
    })
}
