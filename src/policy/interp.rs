//! The reference interpreter: evaluates a typed expression over one row and a
//! context with SQL three-valued logic and PostgreSQL's errors. It is the
//! definition of meaning that the compiled code and emitted SQL are tested against.

use std::cmp::Ordering;

use crate::lang::model::{Func, TExpr, TExprKind, Value};
use crate::lang::BinaryOp;

use super::simplify::specialise;
use super::EvalError;

/// What an expression reads: the row of the policy's table and the context
/// values (indexed as [`crate::lang::model::PolicySet::context`]).
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    pub row: &'a [Value],
    pub context: &'a [Value],
}

/// Evaluates `expr`. A `bool` expression yields `Value::Bool` or `Value::Null`.
pub fn eval(expr: &TExpr, env: &Env<'_>) -> Result<Value, EvalError> {
    match &expr.kind {
        TExprKind::Literal(v) => Ok(v.clone()),
        TExprKind::Column(i) => env
            .row
            .get(*i)
            .cloned()
            .ok_or(EvalError::MissingValue { index: *i }),
        TExprKind::Context(i) => env
            .context
            .get(*i)
            .cloned()
            .ok_or(EvalError::MissingValue { index: *i }),
        TExprKind::ExistsColumn { .. } | TExprKind::Exists { .. } => Err(EvalError::NeedsDatabase),
        TExprKind::Not(e) => Ok(match eval(e, env)? {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        }),
        TExprKind::Neg(e) => match eval(e, env)? {
            Value::Int(i) => i
                .checked_neg()
                .map(Value::Int)
                .ok_or(EvalError::IntOverflow),
            Value::Float(x) => Ok(Value::Float(-x)),
            _ => Ok(Value::Null),
        },
        TExprKind::IntToFloat(e) => Ok(match eval(e, env)? {
            Value::Int(i) => Value::Float(int_to_float(i)),
            other => other,
        }),
        TExprKind::Binary(BinaryOp::And, l, r) => eval_and(l, r, env),
        TExprKind::Binary(BinaryOp::Or, l, r) => eval_or(l, r, env),
        TExprKind::Binary(op, l, r) => {
            let a = eval(l, env)?;
            let b = eval(r, env)?;
            binary(*op, &a, &b)
        }
        TExprKind::InList {
            expr,
            items,
            negated,
        } => {
            // An empty list is decided without its operand (it is emitted as
            // a constant, which PostgreSQL folds before running anything).
            if items.is_empty() {
                return Ok(Value::Bool(*negated));
            }
            // As PostgreSQL runs `x = a OR x = b …`: items left to right,
            // stopping at the first match.
            let x = eval(expr, env)?;
            let mut saw_null = x.is_null();
            for item in items {
                let v = eval(item, env)?;
                if v.is_null() {
                    saw_null = true;
                } else if !x.is_null() && compare(&x, &v) == Some(Ordering::Equal) {
                    return Ok(Value::Bool(!*negated));
                }
            }
            Ok(if saw_null {
                Value::Null
            } else {
                Value::Bool(*negated)
            })
        }
        TExprKind::InSet { expr, set, negated } => {
            let x = eval(expr, env)?;
            let set = eval(set, env)?;
            Ok(negate_if(*negated, in_set(&x, &set)))
        }
        TExprKind::IsNull { expr, negated } => {
            let null = eval(expr, env)?.is_null();
            Ok(Value::Bool(null != *negated))
        }
        TExprKind::Like {
            expr,
            pattern,
            negated,
        } => {
            let x = eval(expr, env)?;
            let p = eval(pattern, env)?;
            match (x, p) {
                (Value::Text(x), Value::Text(p)) => Ok(Value::Bool(like(&x, &p)? != *negated)),
                _ => Ok(Value::Null),
            }
        }
        TExprKind::Call(func, args) => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(eval(a, env)?);
            }
            Ok(call(*func, &values))
        }
    }
}

/// The meaning of `expr` on one row: constants folded as PostgreSQL's planner
/// folds them (see [`specialise`]), then evaluated left to right.
pub fn evaluate(expr: &TExpr, env: &Env<'_>) -> Result<Value, EvalError> {
    let planned = specialise(expr, &[])?;
    eval(&planned, env)
}

/// Whether a `using` or `check` admits the row: only `true` does.
pub fn admits(expr: &TExpr, env: &Env<'_>) -> Result<bool, EvalError> {
    Ok(matches!(evaluate(expr, env)?, Value::Bool(true)))
}

/// `int` → `float` as PostgreSQL's `int8::float8` (round to nearest).
#[expect(
    clippy::cast_precision_loss,
    reason = "this rounding is exactly PostgreSQL's int8 to float8 cast"
)]
pub fn int_to_float(i: i64) -> f64 {
    i as f64
}

fn negate_if(negated: bool, v: Value) -> Value {
    match v {
        Value::Bool(b) => Value::Bool(b != negated),
        other => other,
    }
}

/// Left to right, stopping at the first `false` (as PostgreSQL's executor).
fn eval_and(l: &TExpr, r: &TExpr, env: &Env<'_>) -> Result<Value, EvalError> {
    let a = eval(l, env)?;
    if a == Value::Bool(false) {
        return Ok(a);
    }
    let b = eval(r, env)?;
    Ok(match (a, b) {
        (_, Value::Bool(false)) => Value::Bool(false),
        (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
        _ => Value::Null,
    })
}

/// Left to right, stopping at the first `true`.
fn eval_or(l: &TExpr, r: &TExpr, env: &Env<'_>) -> Result<Value, EvalError> {
    let a = eval(l, env)?;
    if a == Value::Bool(true) {
        return Ok(a);
    }
    let b = eval(r, env)?;
    Ok(match (a, b) {
        (_, Value::Bool(true)) => Value::Bool(true),
        (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
        _ => Value::Null,
    })
}

/// A binary operator other than `and` / `or` on two evaluated operands.
pub fn binary(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    match op {
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let Some(ord) = compare(a, b) else {
                return Ok(Value::Null);
            };
            Ok(Value::Bool(match op {
                BinaryOp::Eq => ord == Ordering::Equal,
                BinaryOp::Ne => ord != Ordering::Equal,
                BinaryOp::Lt => ord == Ordering::Less,
                BinaryOp::Le => ord != Ordering::Greater,
                BinaryOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        BinaryOp::Concat => match (a, b) {
            (Value::Text(x), Value::Text(y)) => Ok(Value::Text(format!("{x}{y}"))),
            _ => Ok(Value::Null),
        },
        _ => match (a, b) {
            (Value::Int(x), Value::Int(y)) => int_arith(op, *x, *y).map(Value::Int),
            (Value::Float(x), Value::Float(y)) => float_arith(op, *x, *y).map(Value::Float),
            _ => Ok(Value::Null),
        },
    }
}

fn int_arith(op: BinaryOp, x: i64, y: i64) -> Result<i64, EvalError> {
    match op {
        BinaryOp::Add => x.checked_add(y).ok_or(EvalError::IntOverflow),
        BinaryOp::Sub => x.checked_sub(y).ok_or(EvalError::IntOverflow),
        BinaryOp::Mul => x.checked_mul(y).ok_or(EvalError::IntOverflow),
        BinaryOp::Div => {
            if y == 0 {
                Err(EvalError::DivisionByZero)
            } else {
                x.checked_div(y).ok_or(EvalError::IntOverflow)
            }
        }
        BinaryOp::Mod => {
            if y == 0 {
                Err(EvalError::DivisionByZero)
            } else if y == -1 {
                // PostgreSQL: any value modulo -1 is 0, i64::MIN included.
                Ok(0)
            } else {
                Ok(x % y)
            }
        }
        _ => Ok(0),
    }
}

/// float8 arithmetic with PostgreSQL's overflow and underflow errors.
fn float_arith(op: BinaryOp, x: f64, y: f64) -> Result<f64, EvalError> {
    let inf_in = x.is_infinite() || y.is_infinite();
    let result = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => {
            let r = x * y;
            if r == 0.0 && x != 0.0 && y != 0.0 {
                return Err(EvalError::FloatUnderflow);
            }
            r
        }
        BinaryOp::Div => {
            if y == 0.0 {
                return Err(EvalError::DivisionByZero);
            }
            let r = x / y;
            if r == 0.0 && x != 0.0 && !y.is_infinite() {
                return Err(EvalError::FloatUnderflow);
            }
            r
        }
        BinaryOp::Mod => {
            if y == 0.0 {
                return Err(EvalError::DivisionByZero);
            }
            x % y
        }
        _ => 0.0,
    };
    if result.is_infinite() && !inf_in {
        return Err(EvalError::FloatOverflow);
    }
    Ok(result)
}

/// Orders two non-null values of one type as PostgreSQL does (text by bytes,
/// the `C` collation; floats with NaN above everything and equal to itself).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => Some(float_cmp(*x, *y)),
        (Value::Int(x), Value::Float(y)) => Some(float_cmp(int_to_float(*x), *y)),
        (Value::Float(x), Value::Int(y)) => Some(float_cmp(*x, int_to_float(*y))),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Text(x), Value::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Timestamp(x), Value::Timestamp(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn float_cmp(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // -0.0 == 0.0 as in PostgreSQL.
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// `x in [a, b, …]`: true if any is equal; else null if `x` or any item is null.
pub fn in_list(x: &Value, items: &[Value]) -> Value {
    if items.is_empty() {
        return Value::Bool(false);
    }
    if x.is_null() {
        return Value::Null;
    }
    let mut saw_null = false;
    for item in items {
        if item.is_null() {
            saw_null = true;
        } else if compare(x, item) == Some(Ordering::Equal) {
            return Value::Bool(true);
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(false)
    }
}

/// `x in set`: as `x = ANY(array)` in PostgreSQL (an empty set gives false).
pub fn in_set(x: &Value, set: &Value) -> Value {
    match set {
        Value::TextSet(s) if s.is_empty() => Value::Bool(false),
        Value::IntSet(s) if s.is_empty() => Value::Bool(false),
        Value::TextSet(s) => match x {
            Value::Text(t) => Value::Bool(s.contains(t)),
            _ => Value::Null,
        },
        Value::IntSet(s) => match x {
            Value::Int(i) => Value::Bool(s.contains(i)),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

fn call(func: Func, args: &[Value]) -> Value {
    match (func, args) {
        // With the C collation PostgreSQL changes the case of ASCII letters only.
        (Func::Lower, [Value::Text(s)]) => Value::Text(s.to_ascii_lowercase()),
        (Func::Upper, [Value::Text(s)]) => Value::Text(s.to_ascii_uppercase()),
        (Func::Length, [Value::Text(s)]) => {
            Value::Int(i64::try_from(s.chars().count()).unwrap_or(i64::MAX))
        }
        (Func::StartsWith, [Value::Text(s), Value::Text(p)]) => {
            Value::Bool(s.as_bytes().starts_with(p.as_bytes()))
        }
        _ => Value::Null,
    }
}

/// PostgreSQL's `LIKE` with `\` as the escape: `%` any run, `_` one character.
pub fn like(text: &str, pattern: &str) -> Result<bool, EvalError> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => LikeToken::Any,
            '_' => LikeToken::One,
            '\\' => match chars.next() {
                Some(e) => LikeToken::Char(e),
                None => return Err(EvalError::LikeEscape),
            },
            c => LikeToken::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    Ok(like_match(&text, &tokens))
}

#[derive(Clone, Copy)]
enum LikeToken {
    Any,
    One,
    Char(char),
}

/// Iterative matcher with backtracking to the last `%` (linear memory).
fn like_match(text: &[char], pattern: &[LikeToken]) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some(LikeToken::Any), _) => {
                star = Some((p, t));
                p += 1;
            }
            (Some(LikeToken::One), Some(_)) => {
                p += 1;
                t += 1;
            }
            (Some(LikeToken::Char(c)), Some(x)) if c == x => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|tok| matches!(tok, LikeToken::Any)))
}
