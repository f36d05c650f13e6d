//! Which values a guard may copy: a guard evaluates again the values the
//! policies read (an INSERT row's, an UPDATE's assigned ones), so a value
//! must give the same each time within the statement (no volatile function
//! call), and must keep its meaning where it is copied (no `?` parameter,
//! which SQLite numbers by its place in the text; no subquery, for some
//! callers).

use std::ops::ControlFlow;

use sqlparser::ast::{self as sql, Expr, Query, Visit, Visitor};

use super::scope::idents;

/// Built-in scalar functions (of either dialect, sorted) whose value is
/// the same each time they are called with the same arguments within one
/// statement. Left out: `random` and the like, `clock_timestamp`,
/// `gen_random_uuid`, `set_config` (it changes what it is called for),
/// set-returning functions (not allowed inside `CASE`), aggregates and
/// window functions, and SQLite's date and time functions (`'now'` is
/// stable within one step of a statement only).
const STABLE_FUNCTIONS: &[&str] = &[
    "abs",
    "acos",
    "age",
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
    "asin",
    "atan",
    "atan2",
    "bit_length",
    "btrim",
    "cardinality",
    "cbrt",
    "ceil",
    "ceiling",
    "char",
    "char_length",
    "character_length",
    "chr",
    "coalesce",
    "concat",
    "concat_ws",
    "cos",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "date_bin",
    "date_part",
    "date_trunc",
    "decode",
    "degrees",
    "div",
    "encode",
    "exp",
    "factorial",
    "floor",
    "format",
    "gcd",
    "glob",
    "greatest",
    "hex",
    "ifnull",
    "iif",
    "initcap",
    "instr",
    "isfinite",
    "json",
    "json_array",
    "json_array_length",
    "json_build_array",
    "json_build_object",
    "json_extract",
    "json_extract_path",
    "json_extract_path_text",
    "json_object",
    "json_quote",
    "json_type",
    "json_typeof",
    "json_valid",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
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
    "length",
    "like",
    "likelihood",
    "likely",
    "ln",
    "localtime",
    "localtimestamp",
    "log",
    "log10",
    "log2",
    "lower",
    "lpad",
    "ltrim",
    "make_date",
    "make_interval",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "md5",
    "mod",
    "now",
    "nullif",
    "num_nonnulls",
    "num_nulls",
    "octet_length",
    "pi",
    "position",
    "pow",
    "power",
    "printf",
    "quote",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "radians",
    "regexp_count",
    "regexp_instr",
    "regexp_like",
    "regexp_match",
    "regexp_replace",
    "regexp_split_to_array",
    "regexp_substr",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row_to_json",
    "rpad",
    "rtrim",
    "scale",
    "session_user",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sign",
    "sin",
    "soundex",
    "split_part",
    "sqrt",
    "starts_with",
    "statement_timestamp",
    "string_to_array",
    "strpos",
    "substr",
    "substring",
    "tan",
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
    "trim",
    "trunc",
    "typeof",
    "unhex",
    "unicode",
    "unlikely",
    "upper",
    "width_bucket",
    "zeroblob",
];

/// Whether an expression calls a function not known to be stable (nor the
/// SQLite dialect's checked arithmetic): a volatile one would give the check
/// another value than the row stores, as the guard evaluates it again.
pub(super) fn calls_function(expr: &Expr) -> bool {
    finds(expr, unstable_call, false)
}

/// Whether an expression has a `?` parameter, which SQLite numbers by its
/// place in the text: a copy of it in a guard would shift the others.
pub(super) fn has_anonymous_parameter(expr: &Expr) -> bool {
    finds(expr, anonymous_parameter, false)
}

/// Whether a guard cannot copy `value`: [`calls_function`],
/// [`has_anonymous_parameter`] or `copied::has_subquery`, in one walk.
pub(super) fn uncopyable(value: &Expr) -> bool {
    finds(value, |e| unstable_call(e) || anonymous_parameter(e), true)
}

/// A call of a function not known to be stable: one off the list, or one
/// called as a window function or with `FILTER` (an aggregate's).
fn unstable_call(expr: &Expr) -> bool {
    let Expr::Function(f) = expr else {
        return false;
    };
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return true;
    }
    // `pg_catalog.lower` is `lower` (`deny.rs` refused other schemas).
    let Some(name) = idents(&f.name).and_then(|parts| parts.last().copied()) else {
        return true;
    };
    let name = name.value.to_ascii_lowercase();
    !(name.starts_with("rampart_") || STABLE_FUNCTIONS.binary_search(&name.as_str()).is_ok())
}

/// A `?` parameter.
fn anonymous_parameter(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(v) if matches!(&v.value, sql::Value::Placeholder(p) if p == "?"))
}

/// Whether `expr` holds an expression `hit` finds, or (`subqueries`) a
/// subquery.
fn finds(expr: &Expr, hit: impl Fn(&Expr) -> bool, subqueries: bool) -> bool {
    // A plain expression has no subquery, and is searched without the walk.
    if let Some(found) = super::plain::find_in_plain(expr, &hit) {
        return found;
    }
    struct Finds<F> {
        hit: F,
        subqueries: bool,
    }
    impl<F: Fn(&Expr) -> bool> Visitor for Finds<F> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if (self.hit)(expr) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            if self.subqueries {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    expr.visit(&mut Finds { hit, subqueries }).is_break()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::{calls_function, STABLE_FUNCTIONS};
    use crate::sql::Dialect;

    #[test]
    fn stable_functions_are_sorted_built_ins() {
        assert!(
            STABLE_FUNCTIONS.is_sorted()
                && STABLE_FUNCTIONS.iter().all(|n| STABLE_FUNCTIONS
                    .iter()
                    .filter(|m| m == &n)
                    .count()
                    == 1)
        );
        for name in STABLE_FUNCTIONS {
            let call = format!("{name}(1)");
            let expr = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(&call)
                .and_then(|mut p| p.parse_expr())
                .unwrap_or_else(|e| panic!("{call}: {e}"));
            let sqlparser::ast::Expr::Function(f) = &expr else {
                // `current_date` and the like parse as keywords too.
                continue;
            };
            let allowed = [Dialect::Postgres, Dialect::Sqlite]
                .iter()
                .any(|&d| super::super::deny::check_function(f, d).is_ok());
            assert!(allowed, "{name} is on no dialect's allow-list");
        }
    }

    #[test]
    fn only_calls_that_give_one_value_per_statement_are_stable() {
        let calls = |sql: &str| {
            let expr = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(sql)
                .and_then(|mut p| p.parse_expr())
                .unwrap();
            calls_function(&expr)
        };
        for stable in [
            "lower(x) || upper(y)",
            "pg_catalog.abs(x - 1)",
            "coalesce(round(x, 2), 0)",
            "now()",
        ] {
            assert!(!calls(stable), "{stable}");
        }
        for unstable in [
            "random()",
            "x + clock_timestamp()",
            "gen_random_uuid()",
            "sum(x)",
            "row_number() OVER ()",
            "lower(x) OVER ()",
            "set_config('a.b', 'c', true)",
            "generate_series(1, 3)",
            "datetime('now')",
        ] {
            assert!(calls(unstable), "{unstable}");
        }
    }
}
