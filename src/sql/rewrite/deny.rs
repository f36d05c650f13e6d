//! Which functions a statement may call: built-ins of its dialect known not
//! to read tables, files, other sessions or the settings native row-level
//! security reads — an allow-list, so anything else is refused.
//!
//! The rewriter filters the tables a statement names; a function body runs
//! SQL it never sees. A user-defined function (`CREATE FUNCTION f() … SELECT
//! … FROM orders`) would read every tenant's rows with the connection's
//! rights, so every function not on the list is refused, whatever schema it
//! is in (`pg_catalog.` and, on SQLite, `main.` qualify a built-in too).
//! Functions the list leaves out for what they do: `pg_*` server functions
//! (files, settings, other sessions), `dblink*`, large objects (`lo_*`),
//! `query_to_xml` and the like (they run SQL text), `current_setting` /
//! `set_config` on `rampart.*` (what native RLS reads), SQLite's
//! `load_extension`, `readfile`, `writefile`, and Rampart's own `rampart_*`
//! helpers (the rewriter's error markers must come from the rewriter).

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Value, ValueWithSpan,
};

use crate::sql::Dialect;

use super::error::RewriteError;
use super::scope::idents;

/// Built-ins of both dialects (aggregates, windows, strings, numbers, dates,
/// JSON), sorted.
const COMMON: &[&str] = &[
    "abs",
    "acos",
    "asin",
    "atan",
    "atan2",
    "avg",
    "ceil",
    "ceiling",
    "coalesce",
    "cos",
    "count",
    "cume_dist",
    "current_date",
    "current_time",
    "current_timestamp",
    "degrees",
    "dense_rank",
    "exp",
    "first_value",
    "floor",
    "format",
    "lag",
    "last_value",
    "lead",
    "length",
    "ln",
    "log",
    "log10",
    "lower",
    "ltrim",
    "max",
    "min",
    "mod",
    "nth_value",
    "ntile",
    "nullif",
    "percent_rank",
    "pi",
    "power",
    "radians",
    "random",
    "rank",
    "replace",
    "round",
    "row_number",
    "rtrim",
    "sign",
    "sin",
    "sqrt",
    "string_agg",
    "substr",
    "substring",
    "sum",
    "tan",
    "trim",
    "trunc",
    "upper",
];

/// PostgreSQL's further built-ins, sorted.
const POSTGRES: &[&str] = &[
    "age",
    "array_agg",
    "array_append",
    "array_cat",
    "array_length",
    "array_lower",
    "array_position",
    "array_positions",
    "array_prepend",
    "array_remove",
    "array_replace",
    "array_to_json",
    "array_to_string",
    "array_upper",
    "ascii",
    "bit_and",
    "bit_length",
    "bit_or",
    "bool_and",
    "bool_or",
    "btrim",
    "cardinality",
    "cbrt",
    "char_length",
    "character_length",
    "chr",
    "clock_timestamp",
    "concat",
    "concat_ws",
    "corr",
    "covar_pop",
    "covar_samp",
    "current_role",
    "current_setting",
    "current_user",
    "date_bin",
    "date_part",
    "date_trunc",
    "decode",
    "div",
    "encode",
    "every",
    "factorial",
    "gcd",
    "gen_random_uuid",
    "generate_series",
    "generate_subscripts",
    "greatest",
    "initcap",
    "isfinite",
    "json_agg",
    "json_array_length",
    "json_build_array",
    "json_build_object",
    "json_extract_path",
    "json_extract_path_text",
    "json_object_agg",
    "json_typeof",
    "jsonb_agg",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "jsonb_object_agg",
    "jsonb_pretty",
    "jsonb_set",
    "jsonb_strip_nulls",
    "jsonb_typeof",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "lcm",
    "least",
    "left",
    "localtime",
    "localtimestamp",
    "lpad",
    "make_date",
    "make_interval",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "md5",
    "mode",
    "now",
    "num_nonnulls",
    "num_nulls",
    "octet_length",
    "percentile_cont",
    "percentile_disc",
    "position",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "regexp_count",
    "regexp_instr",
    "regexp_like",
    "regexp_match",
    "regexp_matches",
    "regexp_replace",
    "regexp_split_to_array",
    "regexp_split_to_table",
    "regexp_substr",
    "repeat",
    "reverse",
    "right",
    "row_to_json",
    "rpad",
    "scale",
    "session_user",
    "set_config",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "split_part",
    "starts_with",
    "statement_timestamp",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_to_array",
    "strpos",
    "timezone",
    "to_char",
    "to_date",
    "to_hex",
    "to_json",
    "to_jsonb",
    "to_number",
    "to_timestamp",
    "transaction_timestamp",
    "translate",
    "unnest",
    "var_pop",
    "var_samp",
    "variance",
    "width_bucket",
];

/// SQLite's further built-ins, and the functions Rampart registers on its
/// connections for PostgreSQL's checked arithmetic and `LIKE` (not
/// `rampart_require` and `rampart_check`, which raise the rewriter's errors),
/// sorted.
const SQLITE: &[&str] = &[
    "char",
    "date",
    "datetime",
    "glob",
    "group_concat",
    "hex",
    "ifnull",
    "iif",
    "instr",
    "json",
    "json_array",
    "json_array_length",
    "json_extract",
    "json_group_array",
    "json_group_object",
    "json_object",
    "json_quote",
    "json_type",
    "json_valid",
    "julianday",
    "like",
    "likelihood",
    "likely",
    "log2",
    "pow",
    "printf",
    "quote",
    "rampart_add",
    "rampart_div",
    "rampart_fadd",
    "rampart_fdiv",
    "rampart_fmul",
    "rampart_fsub",
    "rampart_like",
    "rampart_mod",
    "rampart_mul",
    "rampart_starts_with",
    "rampart_sub",
    "randomblob",
    "soundex",
    "strftime",
    "time",
    "timediff",
    "total",
    "typeof",
    "unhex",
    "unicode",
    "unixepoch",
    "unlikely",
    "zeroblob",
];

/// Refuses a call of a function not on the dialect's allow-list, and
/// `current_setting` / `set_config` of a `rampart.` setting.
pub fn check_function(call: &Function, dialect: Dialect) -> Result<(), RewriteError> {
    let Some(parts) = idents(&call.name) else {
        return Err(RewriteError::Unsupported {
            construct: format!("computed function name `{}`", call.name),
        });
    };
    let refuse = |why: &'static str| {
        Err(RewriteError::ForbiddenFunction {
            name: call.name.to_string(),
            why,
        })
    };
    let builtin_schema = match dialect {
        Dialect::Postgres => "pg_catalog",
        Dialect::Sqlite => "main",
    };
    let name = match parts.as_slice() {
        [name] => name,
        [schema, name] if schema.value.eq_ignore_ascii_case(builtin_schema) => name,
        _ => return refuse("only built-in functions may be called (not a schema's own)"),
    };
    // Built-ins answer to their name in any case on both dialects; a quoted
    // name in another case is a different (user-defined) function on
    // PostgreSQL, so it is looked up exactly.
    let name = if name.quote_style.is_some() && dialect == Dialect::Postgres {
        name.value.clone()
    } else {
        name.value.to_ascii_lowercase()
    };
    let listed = |list: &[&str]| list.binary_search(&name.as_str()).is_ok();
    let dialect_list = match dialect {
        Dialect::Postgres => POSTGRES,
        Dialect::Sqlite => SQLITE,
    };
    if !listed(COMMON) && !listed(dialect_list) {
        if let Some(why) = known_danger(&name) {
            return refuse(why);
        }
        return refuse(
            "only built-in functions known not to read tables may be called \
             (a user-defined function runs SQL the rewriter does not see)",
        );
    }
    if name == "current_setting" || name == "set_config" {
        return match first_text_argument(call) {
            Some(setting) if !setting.to_ascii_lowercase().starts_with("rampart.") => Ok(()),
            _ => refuse("only a literal setting name outside `rampart.` is allowed"),
        };
    }
    Ok(())
}

/// Why a function left off the list for what it does is dangerous.
fn known_danger(name: &str) -> Option<&'static str> {
    Some(if name.starts_with("dblink") {
        "it opens a connection row-level security does not reach"
    } else if name.starts_with("lo_") || name == "loread" || name == "lowrite" {
        "large objects are outside row-level security"
    } else if name.contains("_to_xml")
        || name.starts_with("query_to_")
        || name.starts_with("cursor_to_")
    {
        "it runs SQL or reads whole tables outside the rewrite"
    } else if name.starts_with("pg_") {
        "`pg_*` server functions read files, settings or other sessions"
    } else if matches!(name, "load_extension" | "readfile" | "writefile" | "edit") {
        "it reads or writes files or loads code"
    } else if name.starts_with("rampart_") {
        "Rampart's own helpers raise errors only the rewriter may raise"
    } else {
        return None;
    })
}

/// The first argument, when it is a single-quoted string literal.
fn first_text_argument(call: &Function) -> Option<&str> {
    let FunctionArguments::List(list) = &call.args else {
        return None;
    };
    match list.args.first()? {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }))) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{COMMON, POSTGRES, SQLITE};

    #[test]
    fn lists_are_sorted_lower_case_and_disjoint() {
        for list in [COMMON, POSTGRES, SQLITE] {
            assert!(list.is_sorted_by(|a, b| a < b), "{list:?}");
            assert!(list.iter().all(|n| n.chars().all(|c| !c.is_uppercase())));
        }
        for name in COMMON {
            assert!(!POSTGRES.contains(name) && !SQLITE.contains(name), "{name}");
        }
    }
}
