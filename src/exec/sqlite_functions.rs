//! SQL functions the `sqlite` dialect's emitted predicates call, so that
//! SQLite gives PostgreSQL's answers: checked arithmetic (overflow and
//! division by zero are errors, not floats or NULL), `LIKE` with `\` escape
//! and case-sensitivity, and `starts_with`; `rampart_require` raises the
//! marked policy violation of `sql::rewrite::VIOLATION_MARKER`, and
//! `rampart_check` a failing appended check's, inside the statement.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;

use crate::error::{DatabaseError, Error};
use crate::lang::model::Value;
use crate::lang::BinaryOp;
use crate::policy::interp::{binary, int_to_float, like};
use crate::policy::EvalError;

use super::sqlite::from_value_ref;
use super::value::check_not_boolean;

/// The prefix of the message of an error raised by these functions:
/// `rampart[22003]: bigint out of range`.
pub const ERROR_PREFIX: &str = "rampart[";

/// Registers every `rampart_*` function on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let int_ops = [
        ("rampart_add", BinaryOp::Add),
        ("rampart_sub", BinaryOp::Sub),
        ("rampart_mul", BinaryOp::Mul),
        ("rampart_div", BinaryOp::Div),
        ("rampart_mod", BinaryOp::Mod),
    ];
    for (name, op) in int_ops {
        conn.create_scalar_function(name, 2, flags, move |ctx| arithmetic(ctx, op, false))?;
    }
    let float_ops = [
        ("rampart_fadd", BinaryOp::Add),
        ("rampart_fsub", BinaryOp::Sub),
        ("rampart_fmul", BinaryOp::Mul),
        ("rampart_fdiv", BinaryOp::Div),
    ];
    for (name, op) in float_ops {
        conn.create_scalar_function(name, 2, flags, move |ctx| arithmetic(ctx, op, true))?;
    }
    conn.create_scalar_function("rampart_like", 2, flags, |ctx| {
        match (text_arg(ctx, 0)?, text_arg(ctx, 1)?) {
            (Some(t), Some(p)) => like(&t, &p)
                .map(|b| SqlValue::Integer(i64::from(b)))
                .map_err(user_error),
            _ => Ok(SqlValue::Null),
        }
    })?;
    conn.create_scalar_function("rampart_starts_with", 2, flags, |ctx| {
        match (text_arg(ctx, 0)?, text_arg(ctx, 1)?) {
            (Some(t), Some(p)) => Ok(SqlValue::Integer(i64::from(
                t.as_bytes().starts_with(p.as_bytes()),
            ))),
            _ => Ok(SqlValue::Null),
        }
    })?;
    // Not deterministic: SQLite must not hoist a call with constant
    // arguments and raise before any row reaches it.
    conn.create_scalar_function(
        "rampart_require",
        2,
        FunctionFlags::SQLITE_UTF8,
        |ctx| match ctx.get_raw(0) {
            ValueRef::Integer(1) => Ok(SqlValue::Integer(1)),
            _ => {
                let message = text_arg(ctx, 1)?.unwrap_or_default();
                Err(rusqlite::Error::UserFunctionError(message.into()))
            }
        },
    )?;
    // `rampart_check(check, table, description)`: 1 for a true check, else
    // raises 42501 (false or null) or 22P02 (a value that is no boolean), so
    // that SQLite undoes the statement at once. Not deterministic, like
    // `rampart_require`.
    conn.create_scalar_function("rampart_check", 3, FunctionFlags::SQLITE_UTF8, |ctx| {
        let table = text_arg(ctx, 1)?.unwrap_or_default();
        let error = match ctx.get_raw(0) {
            ValueRef::Integer(1) => return Ok(SqlValue::Integer(1)),
            ValueRef::Integer(0) | ValueRef::Null => {
                DatabaseError::new("42501", Error::CheckViolation { table }.to_string())
            }
            other => {
                let description = text_arg(ctx, 2)?.unwrap_or_default();
                check_not_boolean(&description, &table, &from_value_ref(other))
            }
        };
        Err(rusqlite::Error::UserFunctionError(
            format!("{ERROR_PREFIX}{}]: {}", error.sqlstate, error.message).into(),
        ))
    })?;
    Ok(())
}

/// Reads an SQLite error raised by these functions back as the evaluation error.
pub fn eval_error_from_message(message: &str) -> Option<EvalError> {
    let rest = message.strip_prefix(ERROR_PREFIX)?;
    let (code, _) = rest.split_once(']')?;
    Some(match code {
        "42501" => return None,
        "22012" => EvalError::DivisionByZero,
        "22025" => EvalError::LikeEscape,
        _ if rest.contains("underflow") => EvalError::FloatUnderflow,
        _ if rest.contains("value out of range: overflow") => EvalError::FloatOverflow,
        _ => EvalError::IntOverflow,
    })
}

fn user_error(e: EvalError) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(format!("{ERROR_PREFIX}{}]: {e}", e.sqlstate()).into())
}

fn arithmetic(ctx: &Context<'_>, op: BinaryOp, float: bool) -> rusqlite::Result<SqlValue> {
    let a = number_arg(ctx, 0, float)?;
    let b = number_arg(ctx, 1, float)?;
    match binary(op, &a, &b).map_err(user_error)? {
        Value::Int(i) => Ok(SqlValue::Integer(i)),
        Value::Float(x) => Ok(SqlValue::Real(x)),
        _ => Ok(SqlValue::Null),
    }
}

fn number_arg(ctx: &Context<'_>, i: usize, float: bool) -> rusqlite::Result<Value> {
    Ok(match ctx.get_raw(i) {
        ValueRef::Integer(n) if float => Value::Float(int_to_float(n)),
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(x) => Value::Float(x),
        _ => Value::Null,
    })
}

fn text_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match ctx.get_raw(i) {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    })
}
