//! `SqlValue`: one cell of a result, as either backend gives it.

use std::fmt;

use serde_json::Value as Json;

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
