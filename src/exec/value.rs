//! `SqlValue`: one cell of a result, as either backend gives it.

use std::fmt;

use serde_json::Value as Json;

use crate::error::DatabaseError;
use crate::lang::model::Ty;
use crate::sql::Dialect;

/// One value of a result row. SQLite has no boolean or timestamp storage:
/// there, declared `bool` columns come back as `Int` 0/1 and `timestamp`
/// columns as `Int` microseconds since the epoch, as they are stored.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text, and values without a closer match (PostgreSQL `numeric` in
    /// its decimal form, `uuid`, `date`, …).
    Text(String),
    Bytes(Vec<u8>),
    /// Microseconds since 1970-01-01T00:00:00Z (PostgreSQL `timestamptz`).
    Timestamp(i64),
    /// A PostgreSQL array (`text[]`, `bigint[]`, …).
    Array(Vec<SqlValue>),
}

impl SqlValue {
    /// Whether this is SQL true: `true`, or 1 from SQLite.
    pub fn is_true(&self) -> bool {
        matches!(self, SqlValue::Bool(true) | SqlValue::Int(1))
    }

    /// Whether this is SQL true, false or null (`Some(None)` for null),
    /// as a boolean comes from `dialect`; `None` for anything else.
    pub fn as_bool(&self, dialect: Dialect) -> Option<Option<bool>> {
        match (self, dialect) {
            (SqlValue::Null, _) => Some(None),
            (SqlValue::Bool(b), Dialect::Postgres) => Some(Some(*b)),
            (SqlValue::Int(i @ (0 | 1)), Dialect::Sqlite) => Some(Some(*i == 1)),
            _ => None,
        }
    }

    /// Whether this value, read from `dialect`, is one of the declared type
    /// `ty` (or null) as that database stores it: on SQLite booleans are
    /// 0 or 1 and timestamps integer microseconds, and an integer is also
    /// a float.
    pub fn fits(&self, ty: Ty, dialect: Dialect) -> bool {
        let pg = dialect == Dialect::Postgres;
        match (self, ty) {
            (SqlValue::Null, _)
            | (SqlValue::Int(_), Ty::Int)
            | (SqlValue::Float(_), Ty::Float)
            | (SqlValue::Text(_), Ty::Text | Ty::Null) => true,
            (SqlValue::Int(_), Ty::Float | Ty::Timestamp) => !pg,
            (SqlValue::Bool(_), Ty::Bool) | (SqlValue::Timestamp(_), Ty::Timestamp) => pg,
            (SqlValue::Int(i), Ty::Bool) => !pg && (*i == 0 || *i == 1),
            (SqlValue::Array(items), Ty::TextSet) => {
                pg && items.iter().all(|i| i.fits(Ty::Text, dialect))
            }
            (SqlValue::Array(items), Ty::IntSet) => {
                pg && items.iter().all(|i| i.fits(Ty::Int, dialect))
            }
            (SqlValue::Text(_), Ty::TextSet | Ty::IntSet) => !pg,
            _ => false,
        }
    }

    /// The value as JSON: numbers, strings, booleans, arrays and `null`;
    /// bytes as a `\x…` hex string and timestamps in RFC 3339.
    pub fn to_json(&self) -> Json {
        match self {
            SqlValue::Null => Json::Null,
            SqlValue::Bool(b) => Json::Bool(*b),
            SqlValue::Int(i) => Json::from(*i),
            SqlValue::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Json::String(f.to_string()), Json::Number),
            SqlValue::Text(s) => Json::String(s.clone()),
            SqlValue::Bytes(_) | SqlValue::Timestamp(_) => Json::String(self.to_string()),
            SqlValue::Array(items) => Json::Array(items.iter().map(SqlValue::to_json).collect()),
        }
    }
}

/// 22P02 for a policy check (`check`, its description, on `table`) that
/// gave `value`, which is no boolean: a value in the database that does not
/// fit its column's declared type, read by the check.
pub(crate) fn check_not_boolean(check: &str, table: &str, value: &SqlValue) -> DatabaseError {
    let check = if check.is_empty() {
        String::new()
    } else {
        format!(" ({check})")
    };
    DatabaseError::new(
        "22P02",
        format!(
            "a policy check{check} on table `{table}` gave `{value}`, not a boolean: \
             a value in the database does not fit its column's declared type"
        ),
    )
}

impl fmt::Display for SqlValue {
    /// The text a table shows: `NULL` for null, PostgreSQL's output forms
    /// otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlValue::Null => f.write_str("NULL"),
            SqlValue::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            SqlValue::Int(i) => write!(f, "{i}"),
            SqlValue::Float(x) => write!(f, "{x}"),
            SqlValue::Text(s) => f.write_str(s),
            SqlValue::Bytes(bytes) => {
                f.write_str("\\x")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            SqlValue::Timestamp(micros) => match chrono::DateTime::from_timestamp_micros(*micros) {
                Some(t) => write!(f, "{}", t.to_rfc3339()),
                None => write!(f, "{micros}"),
            },
            SqlValue::Array(items) => {
                f.write_str("{")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("}")
            }
        }
    }
}
