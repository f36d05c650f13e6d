//! Values crossing databases: a value read from one side as an SQL literal
//! for the other (by its declared type, so SQLite's 0/1 booleans and integer
//! timestamps become PostgreSQL's and back), and the canonical bytes the
//! checksum hashes, the same whichever side the value came from.

use crate::exec::SqlValue;
use crate::lang::model::Ty;
use crate::sql::Dialect;

/// `'text'`, quotes doubled. Both dialects read it literally (PostgreSQL
/// with `standard_conforming_strings`, its default since 9.1).
pub fn quote_text(text: &str) -> Result<String, String> {
    if text.contains('\0') {
        return Err("text values cannot contain NUL characters".into());
    }
    Ok(format!("'{}'", text.replace('\'', "''")))
}

/// `"name"`, quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value`, of a column declared `ty`, as a literal for `dialect`; `Err`
/// says why it cannot be written there.
pub fn literal(value: &SqlValue, ty: Ty, dialect: Dialect) -> Result<String, String> {
    let pg = dialect == Dialect::Postgres;
    Ok(match (value, ty) {
        (SqlValue::Null, _) => "NULL".into(),
        (SqlValue::Int(i), Ty::Int) => i.to_string(),
        (SqlValue::Bool(b), Ty::Bool) => bool_literal(*b, pg),
        (SqlValue::Int(i), Ty::Bool) => bool_literal(*i != 0, pg),
        (SqlValue::Float(x), Ty::Float) => float_literal(*x, pg)?,
        (SqlValue::Int(i), Ty::Float) => format!("{i}.0"),
        (SqlValue::Timestamp(t) | SqlValue::Int(t), Ty::Timestamp) => {
            if pg {
                let at = chrono::DateTime::from_timestamp_micros(*t)
                    .ok_or_else(|| format!("timestamp {t} µs is out of range"))?;
                format!(
                    "'{}'::timestamptz",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                )
            } else {
                t.to_string()
            }
        }
        (SqlValue::Text(s), Ty::Text | Ty::Null) => quote_text(s)?,
        (SqlValue::Array(items), Ty::TextSet | Ty::IntSet) if pg => {
            let member = if ty == Ty::TextSet { Ty::Text } else { Ty::Int };
            let items: Vec<String> = items
                .iter()
                .map(|item| literal(item, member, dialect))
                .collect::<Result<_, _>>()?;
            let cast = if ty == Ty::TextSet {
                "text[]"
            } else {
                "bigint[]"
            };
            format!("ARRAY[{}]::{cast}", items.join(", "))
        }
        (SqlValue::Text(s), Ty::TextSet | Ty::IntSet) if !pg => quote_text(s)?,
        (other, ty) => {
            return Err(format!(
                "a value `{other}` read for a column declared `{ty:?}` cannot be written to {}",
                dialect.name()
            ))
        }
    })
}

fn bool_literal(b: bool, pg: bool) -> String {
    match (pg, b) {
        (true, true) => "true".into(),
        (true, false) => "false".into(),
        (false, true) => "1".into(),
        (false, false) => "0".into(),
    }
}

fn float_literal(x: f64, pg: bool) -> Result<String, String> {
    if x.is_finite() {
        // `{:?}` keeps every digit and always has a `.` or an exponent.
        return Ok(format!("{x:?}"));
    }
    if !pg {
        return Err(format!("SQLite cannot store the float {x}"));
    }
    Ok(if x.is_nan() {
        "'NaN'::float8".into()
    } else if x > 0.0 {
        "'Infinity'::float8".into()
    } else {
        "'-Infinity'::float8".into()
    })
}

/// Appends the canonical bytes of `value` (declared `ty`) to `out`: a tag
/// and the length-prefixed text, so that no two rows encode alike.
pub fn encode(value: &SqlValue, ty: Ty, out: &mut Vec<u8>) {
    let (tag, text): (u8, String) = match (value, ty) {
        (SqlValue::Null, _) => (0, String::new()),
        (SqlValue::Int(i), Ty::Int) => (1, i.to_string()),
        (SqlValue::Bool(b), Ty::Bool) => (2, b.to_string()),
        (SqlValue::Int(i), Ty::Bool) => (2, (*i != 0).to_string()),
        (SqlValue::Float(x), Ty::Float) => (3, canonical_float(*x)),
        // A whole number in a float column may come back as an integer.
        #[expect(clippy::cast_precision_loss, reason = "as the database converts it")]
        (SqlValue::Int(i), Ty::Float) => (3, canonical_float(*i as f64)),
        (SqlValue::Timestamp(t) | SqlValue::Int(t), Ty::Timestamp) => (4, t.to_string()),
        (SqlValue::Text(s), _) => (5, s.clone()),
        (SqlValue::Array(items), _) => {
            let member = if ty == Ty::IntSet { Ty::Int } else { Ty::Text };
            let mut inner = Vec::new();
            items
                .iter()
                .for_each(|item| encode(item, member, &mut inner));
            out.push(6);
            out.extend_from_slice(&u64::try_from(inner.len()).unwrap_or(u64::MAX).to_le_bytes());
            out.extend_from_slice(&inner);
            return;
        }
        (other, _) => (7, other.to_string()),
    };
    out.push(tag);
    out.extend_from_slice(&u64::try_from(text.len()).unwrap_or(u64::MAX).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn canonical_float(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.is_nan() {
        "NaN".into()
    } else {
        format!("{x:?}")
    }
}
