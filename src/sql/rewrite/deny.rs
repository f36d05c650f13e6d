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

/// What calls of a listed function give within one statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Calls {
    /// One value for the same arguments (a scalar that reads no clock
    /// moving within the statement, no random source, no setting it
    /// changes): a guard may evaluate a copy of the call (`stable.rs`).
    Scalar,
    /// Anything else: volatile (`random`, `clock_timestamp`,
    /// `gen_random_uuid`, `set_config`), set-returning (not allowed inside
    /// `CASE`), aggregates and window functions, SQLite's date and time
    /// functions (`'now'` is stable within one step of a statement only).
    Varies,
}

use Calls::{Scalar, Varies};

/// The entry of `name` (lower case) in a sorted list.
fn entry(list: &[(&str, Calls)], name: &str) -> Option<Calls> {
    list.binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .and_then(|i| list.get(i))
        .map(|(_, calls)| *calls)
}

/// Whether calls of the built-in `name` (lower case; either dialect's)
/// give one value for the same arguments within a statement
/// ([`Calls::Scalar`]).
pub(super) fn gives_one_value(name: &str) -> bool {
    [COMMON, POSTGRES, SQLITE]
        .iter()
        .any(|list| entry(list, name) == Some(Scalar))
}

/// Built-ins of both dialects (aggregates, windows, strings, numbers, dates,
/// JSON), sorted.
const COMMON: &[(&str, Calls)] = &[
    ("abs", Scalar),
    ("acos", Scalar),
    ("asin", Scalar),
    ("atan", Scalar),
    ("atan2", Scalar),
    ("avg", Varies),
    ("ceil", Scalar),
    ("ceiling", Scalar),
    ("coalesce", Scalar),
    ("cos", Scalar),
    ("count", Varies),
    ("cume_dist", Varies),
    ("current_date", Scalar),
    ("current_time", Scalar),
    ("current_timestamp", Scalar),
    ("degrees", Scalar),
    ("dense_rank", Varies),
    ("exp", Scalar),
    ("first_value", Varies),
    ("floor", Scalar),
    ("format", Scalar),
    ("lag", Varies),
    ("last_value", Varies),
    ("lead", Varies),
    ("length", Scalar),
    ("ln", Scalar),
    ("log", Scalar),
    ("log10", Scalar),
    ("lower", Scalar),
    ("ltrim", Scalar),
    ("max", Varies),
    ("min", Varies),
    ("mod", Scalar),
    ("nth_value", Varies),
    ("ntile", Varies),
    ("nullif", Scalar),
    ("percent_rank", Varies),
    ("pi", Scalar),
    ("power", Scalar),
    ("radians", Scalar),
    ("random", Varies),
    ("rank", Varies),
    ("replace", Scalar),
    ("round", Scalar),
    ("row_number", Varies),
    ("rtrim", Scalar),
    ("sign", Scalar),
    ("sin", Scalar),
    ("sqrt", Scalar),
    ("string_agg", Varies),
    ("substr", Scalar),
    ("substring", Scalar),
    ("sum", Varies),
    ("tan", Scalar),
    ("trim", Scalar),
    ("trunc", Scalar),
    ("upper", Scalar),
];

/// PostgreSQL's further built-ins, sorted.
const POSTGRES: &[(&str, Calls)] = &[
    ("age", Scalar),
    ("array_agg", Varies),
    ("array_append", Scalar),
    ("array_cat", Scalar),
    ("array_length", Scalar),
    ("array_lower", Scalar),
    ("array_position", Scalar),
    ("array_positions", Scalar),
    ("array_prepend", Scalar),
    ("array_remove", Scalar),
    ("array_replace", Scalar),
    ("array_to_json", Scalar),
    ("array_to_string", Scalar),
    ("array_upper", Scalar),
    ("ascii", Scalar),
    ("bit_and", Varies),
    ("bit_length", Scalar),
    ("bit_or", Varies),
    ("bool_and", Varies),
    ("bool_or", Varies),
    ("btrim", Scalar),
    ("cardinality", Scalar),
    ("cbrt", Scalar),
    ("char_length", Scalar),
    ("character_length", Scalar),
    ("chr", Scalar),
    ("clock_timestamp", Varies),
    ("concat", Scalar),
    ("concat_ws", Scalar),
    ("corr", Varies),
    ("covar_pop", Varies),
    ("covar_samp", Varies),
    ("current_role", Scalar),
    ("current_setting", Varies),
    ("current_user", Scalar),
    ("date_bin", Scalar),
    ("date_part", Scalar),
    ("date_trunc", Scalar),
    ("decode", Scalar),
    ("div", Scalar),
    ("encode", Scalar),
    ("every", Varies),
    ("factorial", Scalar),
    ("gcd", Scalar),
    ("gen_random_uuid", Varies),
    ("generate_series", Varies),
    ("generate_subscripts", Varies),
    ("greatest", Scalar),
    ("initcap", Scalar),
    ("isfinite", Scalar),
    ("json_agg", Varies),
    ("json_array_length", Scalar),
    ("json_build_array", Scalar),
    ("json_build_object", Scalar),
    ("json_extract_path", Scalar),
    ("json_extract_path_text", Scalar),
    ("json_object_agg", Varies),
    ("json_typeof", Scalar),
    ("jsonb_agg", Varies),
    ("jsonb_array_length", Scalar),
    ("jsonb_build_array", Scalar),
    ("jsonb_build_object", Scalar),
    ("jsonb_extract_path", Scalar),
    ("jsonb_extract_path_text", Scalar),
    ("jsonb_object_agg", Varies),
    ("jsonb_pretty", Scalar),
    ("jsonb_set", Scalar),
    ("jsonb_strip_nulls", Scalar),
    ("jsonb_typeof", Scalar),
    ("justify_days", Scalar),
    ("justify_hours", Scalar),
    ("justify_interval", Scalar),
    ("lcm", Scalar),
    ("least", Scalar),
    ("left", Scalar),
    ("localtime", Scalar),
    ("localtimestamp", Scalar),
    ("lpad", Scalar),
    ("make_date", Scalar),
    ("make_interval", Scalar),
    ("make_time", Scalar),
    ("make_timestamp", Scalar),
    ("make_timestamptz", Scalar),
    ("md5", Scalar),
    ("mode", Varies),
    ("now", Scalar),
    ("num_nonnulls", Scalar),
    ("num_nulls", Scalar),
    ("octet_length", Scalar),
    ("percentile_cont", Varies),
    ("percentile_disc", Varies),
    ("position", Scalar),
    ("quote_ident", Scalar),
    ("quote_literal", Scalar),
    ("quote_nullable", Scalar),
    ("regexp_count", Scalar),
    ("regexp_instr", Scalar),
    ("regexp_like", Scalar),
    ("regexp_match", Scalar),
    ("regexp_matches", Varies),
    ("regexp_replace", Scalar),
    ("regexp_split_to_array", Scalar),
    ("regexp_split_to_table", Varies),
    ("regexp_substr", Scalar),
    ("repeat", Scalar),
    ("reverse", Scalar),
    ("right", Scalar),
    ("row_to_json", Scalar),
    ("rpad", Scalar),
    ("scale", Scalar),
    ("session_user", Scalar),
    ("set_config", Varies),
    ("sha224", Scalar),
    ("sha256", Scalar),
    ("sha384", Scalar),
    ("sha512", Scalar),
    ("split_part", Scalar),
    ("starts_with", Scalar),
    ("statement_timestamp", Scalar),
    ("stddev", Varies),
    ("stddev_pop", Varies),
    ("stddev_samp", Varies),
    ("string_to_array", Scalar),
    ("strpos", Scalar),
    ("timezone", Scalar),
    ("to_char", Scalar),
    ("to_date", Scalar),
    ("to_hex", Scalar),
    ("to_json", Scalar),
    ("to_jsonb", Scalar),
    ("to_number", Scalar),
    ("to_timestamp", Scalar),
    ("transaction_timestamp", Scalar),
    ("translate", Scalar),
    ("unnest", Varies),
    ("var_pop", Varies),
    ("var_samp", Varies),
    ("variance", Varies),
    ("width_bucket", Scalar),
];

/// SQLite's further built-ins, and the functions Rampart registers on its
/// connections for PostgreSQL's checked arithmetic and `LIKE` (not
/// `rampart_require` and `rampart_check`, which raise the rewriter's errors),
/// sorted.
const SQLITE: &[(&str, Calls)] = &[
    ("char", Scalar),
    ("date", Varies),
    ("datetime", Varies),
    ("glob", Scalar),
    ("group_concat", Varies),
    ("hex", Scalar),
    ("ifnull", Scalar),
    ("iif", Scalar),
    ("instr", Scalar),
    ("json", Scalar),
    ("json_array", Scalar),
    ("json_array_length", Scalar),
    ("json_extract", Scalar),
    ("json_group_array", Varies),
    ("json_group_object", Varies),
    ("json_object", Scalar),
    ("json_quote", Scalar),
    ("json_type", Scalar),
    ("json_valid", Scalar),
    ("julianday", Varies),
    ("like", Scalar),
    ("likelihood", Scalar),
    ("likely", Scalar),
    ("log2", Scalar),
    ("pow", Scalar),
    ("printf", Scalar),
    ("quote", Scalar),
    ("rampart_add", Scalar),
    ("rampart_div", Scalar),
    ("rampart_fadd", Scalar),
    ("rampart_fdiv", Scalar),
    ("rampart_fmul", Scalar),
    ("rampart_fsub", Scalar),
    ("rampart_like", Scalar),
    ("rampart_mod", Scalar),
    ("rampart_mul", Scalar),
    ("rampart_starts_with", Scalar),
    ("rampart_sub", Scalar),
    ("randomblob", Varies),
    ("soundex", Scalar),
    ("strftime", Varies),
    ("time", Varies),
    ("timediff", Varies),
    ("total", Varies),
    ("typeof", Scalar),
    ("unhex", Scalar),
    ("unicode", Scalar),
    ("unixepoch", Varies),
    ("unlikely", Scalar),
    ("zeroblob", Scalar),
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
    let listed = |list: &[(&str, Calls)]| entry(list, &name).is_some();
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
            assert!(list.is_sorted_by(|a, b| a.0 < b.0), "{list:?}");
            assert!(list
                .iter()
                .all(|(n, _)| n.chars().all(|c| !c.is_uppercase())));
        }
        for (name, _) in COMMON {
            let elsewhere = |list: &[(&str, super::Calls)]| list.iter().any(|(n, _)| n == name);
            assert!(!elsewhere(POSTGRES) && !elsewhere(SQLITE), "{name}");
        }
    }
}
