//! The leaves of generated trees: names (bare, reserved, needing quotes),
//! text, numbers and timestamps, biased towards the cases printers get wrong.

use arbitrary::{Result, Unstructured};

use crate::lang::{Ident, Literal, TableName};

/// Names that print bare.
const PLAIN_NAMES: &[&str] = &["id", "tenant_id", "a", "x1", "_", "a$b", "org_id"];

/// Keywords that are not reserved: they print bare and must still read back
/// as names wherever a name may stand.
const KEYWORD_NAMES: &[&str] = &[
    "policy",
    "table",
    "open",
    "context",
    "on",
    "as",
    "for",
    "to",
    "using",
    "check",
    "tier",
    "quota",
    "when",
    "set",
    "timestamp",
    "int",
    "text",
    "all",
    "select",
    "permissive",
    "restrictive",
    "kb",
    "b",
];

/// Reserved words: usable as names only in double quotes.
const RESERVED_NAMES: &[&str] = &[
    "and", "or", "not", "in", "is", "like", "null", "true", "false", "exists", "where", "tenant",
    "request",
];

/// Names that need double quotes for other reasons.
const QUOTED_NAMES: &[&str] = &[
    "Mixed Case",
    "UPPER",
    "say \"hi\"",
    "1st",
    "ünïcödé",
    "tab\there",
    "new\nline",
    "# not a comment",
    "it's",
    "a.b",
    "(",
    " ",
];

/// Text literals with quotes, line breaks, comment signs and non-ASCII.
const TEXTS: &[&str] = &[
    "",
    "it's",
    "''",
    "line\nbreak",
    "crlf\r\n",
    "# not a comment",
    "\"double\"",
    "ünï 😀",
    "%_\\",
    "exists where ; { } ( [",
];

/// The first and last instants that RFC 3339 text can hold (years 1 to 9999),
/// in microseconds since the epoch.
pub const MIN_TIMESTAMP: i64 = -62_135_596_800_000_000;
pub const MAX_TIMESTAMP: i64 = 253_402_300_799_999_999;

/// A name: mostly plain, sometimes a keyword, a reserved word, one needing
/// quotes, or any non-empty string.
pub fn name(u: &mut Unstructured<'_>) -> Result<String> {
    let text = match u.int_in_range(0u8..=9)? {
        0..=4 => u.choose(PLAIN_NAMES)?.to_string(),
        5 => u.choose(KEYWORD_NAMES)?.to_string(),
        6 => u.choose(RESERVED_NAMES)?.to_string(),
        7 => u.choose(QUOTED_NAMES)?.to_string(),
        _ => u.arbitrary::<String>()?,
    };
    // A quoted name needs at least one character.
    Ok(if text.is_empty() {
        "e".to_string()
    } else {
        text
    })
}

pub fn ident(u: &mut Unstructured<'_>) -> Result<Ident> {
    Ok(Ident::new(name(u)?))
}

pub fn table_name(u: &mut Unstructured<'_>) -> Result<TableName> {
    let schema = if u.ratio(1u8, 4)? {
        Some(ident(u)?)
    } else {
        None
    };
    Ok(TableName {
        schema,
        name: ident(u)?,
        span: Default::default(),
    })
}

pub fn text(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 2)? {
        Ok(u.choose(TEXTS)?.to_string())
    } else {
        u.arbitrary()
    }
}

pub fn int(u: &mut Unstructured<'_>) -> Result<i64> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => 0,
        1 => i64::MIN,
        2 => i64::MAX,
        3 => u.int_in_range(-1000..=1000)?,
        _ => u.arbitrary()?,
    })
}

/// A finite float, sometimes an edge: zeros of both signs, the extremes,
/// a subnormal, or one whose shortest text uses an exponent.
pub fn float(u: &mut Unstructured<'_>) -> Result<f64> {
    let x = match u.int_in_range(0u8..=8)? {
        0 => 0.0,
        1 => -0.0,
        2 => f64::MAX,
        3 => f64::MIN,
        4 => f64::MIN_POSITIVE,
        5 => 5e-324,
        6 => 1e16,
        _ => u.arbitrary()?,
    };
    Ok(if x.is_finite() { x } else { 0.5 })
}

pub fn timestamp(u: &mut Unstructured<'_>) -> Result<i64> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => MIN_TIMESTAMP,
        1 => MAX_TIMESTAMP,
        _ => u.int_in_range(MIN_TIMESTAMP..=MAX_TIMESTAMP)?,
    })
}

/// Any literal, in the parser's normal form: negative numbers are literals
/// (never a minus sign over a literal; see `expr::negate`).
pub fn literal(u: &mut Unstructured<'_>) -> Result<Literal> {
    Ok(match u.int_in_range(0u8..=6)? {
        0 => Literal::Int(int(u)?),
        1 => Literal::Null,
        2 => Literal::Bool(u.arbitrary()?),
        3 => Literal::Float(float(u)?),
        4 | 5 => Literal::Text(text(u)?),
        _ => Literal::Timestamp(timestamp(u)?),
    })
}
