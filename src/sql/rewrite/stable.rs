//! Which values a guard may copy: a guard evaluates again the values the
//! policies read (an INSERT row's, an UPDATE's assigned ones), so a value
//! must give the same each time within the statement (no volatile function
//! call), and must keep its meaning where it is copied (no `?` parameter,
//! which SQLite numbers by its place in the text; no subquery, for some
//! callers).

use std::ops::ControlFlow;

use sqlparser::ast::{self as sql, Expr, Query, Visit, Visitor};

use super::deny::gives_one_value;
use super::scope::idents;

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

/// A call of a function not known to be stable: one the allow-lists do not
/// mark as giving one value per statement (`deny.rs`), or one called as a
/// window function or with `FILTER` / `WITHIN GROUP` (an aggregate's).
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
    !(name.starts_with("rampart_") || gives_one_value(&name))
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
    #![allow(clippy::unwrap_used)]

    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::calls_function;

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
