//! Context values from JSON (`{"tenant": {...}, "request": {...}}`), checked
//! against the declared context: a missing, undeclared or mistyped field is
//! an error naming it.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::lang::model::{PolicySet, Ty, Value};
use crate::lang::ContextKind;

/// Why a context was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("context is not valid JSON: {0}")]
    Json(String),
    #[error("context must be a JSON object with `tenant` and `request` objects")]
    NotAnObject,
    #[error("{0}: expected an object")]
    BlockNotObject(&'static str),
    #[error("unknown context block `{0}` (expected `tenant` or `request`)")]
    UnknownBlock(String),
    #[error("{0}: missing (declared in the policy set)")]
    Missing(String),
    #[error("{0}: not declared in the policy set")]
    Undeclared(String),
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        path: String,
        expected: String,
        found: &'static str,
    },
    #[error("{0}: text values cannot contain NUL characters")]
    Nul(String),
}

/// Parses context JSON into values indexed as [`PolicySet::context`].
pub fn context_from_json(set: &PolicySet, text: &str) -> Result<Vec<Value>, ContextError> {
    let json: Json = serde_json::from_str(text).map_err(|e| ContextError::Json(e.to_string()))?;
    context_from_value(set, &json)
}

/// As [`context_from_json`], from parsed JSON.
pub fn context_from_value(set: &PolicySet, json: &Json) -> Result<Vec<Value>, ContextError> {
    let object = json.as_object().ok_or(ContextError::NotAnObject)?;
    for key in object.keys() {
        if key != "tenant" && key != "request" {
            return Err(ContextError::UnknownBlock(key.clone()));
        }
    }
    let mut values = Vec::with_capacity(set.context.len());
    for field in &set.context {
        let block = field.block.keyword();
        let path = field.path();
        let fields = match object.get(block) {
            Some(Json::Object(fields)) => Some(fields),
            Some(_) => return Err(ContextError::BlockNotObject(block)),
            None => None,
        };
        let raw = fields
            .and_then(|f| f.get(&field.name))
            .ok_or_else(|| ContextError::Missing(path.clone()))?;
        if raw.is_null() {
            if field.ty.nullable {
                values.push(Value::Null);
                continue;
            }
            return Err(wrong(&path, field.ty.ty, false, raw));
        }
        values.push(value_from_json(&path, field.ty.ty, field.ty.nullable, raw)?);
    }
    for (block, kind) in [
        ("tenant", ContextKind::Tenant),
        ("request", ContextKind::Request),
    ] {
        if let Some(Json::Object(fields)) = object.get(block) {
            for name in fields.keys() {
                if set.context_field(kind, name).is_none() {
                    return Err(ContextError::Undeclared(format!("{block}.{name}")));
                }
            }
        }
    }
    Ok(values)
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn wrong(path: &str, ty: Ty, nullable: bool, raw: &Json) -> ContextError {
    ContextError::WrongType {
        path: path.to_string(),
        expected: format!("{ty}{}", if nullable { "?" } else { "" }),
        found: json_kind(raw),
    }
}

/// One value of a declared type from JSON (`text` ↔ string, `int` ↔
/// integer, `float` ↔ number, `bool` ↔ boolean, `timestamp` ↔ RFC 3339
/// string, sets ↔ arrays).
pub fn value_from_json(
    path: &str,
    ty: Ty,
    nullable: bool,
    raw: &Json,
) -> Result<Value, ContextError> {
    let bad = || wrong(path, ty, nullable, raw);
    Ok(match (ty, raw) {
        (_, Json::Null) if nullable => Value::Null,
        (Ty::Text, Json::String(s)) => Value::Text(no_nul(path, s)?),
        (Ty::Int, Json::Number(n)) => Value::Int(n.as_i64().ok_or_else(bad)?),
        (Ty::Float, Json::Number(n)) => Value::Float(n.as_f64().ok_or_else(bad)?),
        (Ty::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Ty::Timestamp, Json::String(s)) => Value::Timestamp(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| bad())?
                .timestamp_micros(),
        ),
        (Ty::TextSet, Json::Array(items)) => {
            let mut set = BTreeSet::new();
            for item in items {
                match item {
                    Json::String(s) => {
                        set.insert(no_nul(path, s)?);
                    }
                    _ => return Err(bad()),
                }
            }
            Value::TextSet(set)
        }
        (Ty::IntSet, Json::Array(items)) => {
            let mut set = BTreeSet::new();
            for item in items {
                set.insert(item.as_i64().ok_or_else(bad)?);
            }
            Value::IntSet(set)
        }
        _ => return Err(bad()),
    })
}

fn no_nul(path: &str, s: &str) -> Result<String, ContextError> {
    if s.contains('\0') {
        Err(ContextError::Nul(path.to_string()))
    } else {
        Ok(s.to_string())
    }
}
