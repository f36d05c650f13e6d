//! Clauses the query walk (`query.rs`) would pass through unchanged, told
//! without walking them. In an expression made only of column references,
//! literals, parameters and built-in operators (no call, no subquery, no
//! cast, no custom operator) the walk finds no table to rewrite and nothing
//! to refuse but a column reference `check_column_reference` refuses; such
//! a clause is checked here and not walked. The flat form's query
//! (`flat.rs`) is skipped whole when every part of it is such a clause and
//! its FROM items are its flat tables.
//!
//! Anything else, or anything these functions do not recognise, is left to
//! the walk: answering `false` is always safe, as the walk then does what it
//! would have done anyway. `tests` checks the rule against the walk itself.

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, GroupByExpr, InTarget, JoinConstraint, JoinOperator,
    LimitClause, Offset, OrderBy, OrderByExpr, OrderByKind, Query, Select, SelectFlavor,
    SelectItem, SetExpr, WildcardAdditionalOptions,
};

use crate::sql::Dialect;

use super::query::check_column_reference;

/// How deep an expression is followed before it is left to the walk.
const MAX_PLAIN_DEPTH: usize = 64;

/// A clause the walk would leave unchanged when its expressions are plain.
pub(super) trait Plain {
    /// Whether walking `self` would change nothing and refuse nothing.
    fn is_plain(&self, _dialect: Dialect) -> bool {
        false
    }
}

impl Plain for Expr {
    fn is_plain(&self, dialect: Dialect) -> bool {
        plain_expr(self, dialect)
    }
}

impl Plain for Vec<SelectItem> {
    fn is_plain(&self, dialect: Dialect) -> bool {
        self.iter().all(|item| plain_item(item, dialect))
    }
}

impl Plain for Box<Query> {}
impl Plain for Vec<sqlparser::ast::TableWithJoins> {}
impl Plain for sqlparser::ast::OnConflict {}

/// The plain shapes and their children, in the walk's order: `$go` on each
/// child, `false` for any other shape. One text for `&Expr` and `&mut Expr`.
macro_rules! plain_children {
    ($expr:expr, $go:ident) => {
        match $expr {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => true,
            Expr::BinaryOp { left, op, right } => {
                !matches!(
                    op,
                    BinaryOperator::Custom(_) | BinaryOperator::PGCustomBinaryOperator(_)
                ) && $go(left)
                    && $go(right)
            }
            Expr::UnaryOp { expr, .. }
            | Expr::Nested(expr)
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::IsTrue(expr)
            | Expr::IsNotTrue(expr)
            | Expr::IsFalse(expr)
            | Expr::IsNotFalse(expr)
            | Expr::IsUnknown(expr)
            | Expr::IsNotUnknown(expr) => $go(expr),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => $go(a) && $go(b),
            Expr::In {
                expr,
                target: InTarget::List(list),
                ..
            } => {
                let mut all = $go(expr);
                for e in list {
                    all = all && $go(e);
                }
                all
            }
            Expr::Between {
                expr, low, high, ..
            } => $go(expr) && $go(low) && $go(high),
            Expr::Like {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                $go(expr)
                    && $go(pattern)
                    && match escape_char {
                        Some(e) => $go(e),
                        None => true,
                    }
            }
            _ => false,
        }
    };
}

/// Calls `each` on `expr` and on every expression in it, each before its
/// children, in the order the walk's `pre_visit_expr` sees them, while it
/// says `true`. `false` when `each` said so, or at a shape that is not
/// plain (nothing below it is seen).
fn each_plain<'e>(expr: &'e Expr, depth: usize, each: &mut impl FnMut(&'e Expr) -> bool) -> bool {
    if depth > MAX_PLAIN_DEPTH || !each(expr) {
        return false;
    }
    let mut go = |e: &'e Expr| each_plain(e, depth + 1, each);
    plain_children!(expr, go)
}

/// [`each_plain`] for changing the expressions: `each` is called on each
/// after its children, in the order of the walk's `post_visit_expr`.
fn each_plain_mut(expr: &mut Expr, depth: usize, each: &mut impl FnMut(&mut Expr) -> bool) -> bool {
    if depth > MAX_PLAIN_DEPTH {
        return false;
    }
    let mut go = |e: &mut Expr| each_plain_mut(e, depth + 1, each);
    plain_children!(&mut *expr, go) && each(expr)
}

fn plain_expr(expr: &Expr, dialect: Dialect) -> bool {
    each_plain(expr, 0, &mut |e| match e {
        Expr::Identifier(ident) => {
            check_column_reference(std::slice::from_ref(ident), dialect).is_ok()
        }
        Expr::CompoundIdentifier(parts) => check_column_reference(parts, dialect).is_ok(),
        _ => true,
    })
}

/// Whether `hit` finds an expression in `expr` (itself included), when
/// that can be told without the walk: `None` where `expr` is not plain
/// and `hit` found nothing in its plain part.
pub(super) fn find_in_plain(expr: &Expr, hit: impl Fn(&Expr) -> bool) -> Option<bool> {
    let mut found = false;
    let plain = each_plain(expr, 0, &mut |e| {
        found = hit(e);
        !found
    });
    if found {
        Some(true)
    } else {
        plain.then_some(false)
    }
}

/// Calls `each` on every expression of a plain `expr`, after its children,
/// until it says `false`; `None` where `expr` is not plain, and then the
/// expressions seen (changed) are a part of it, which the walk can finish.
pub(super) fn change_plain(expr: &mut Expr, mut each: impl FnMut(&mut Expr) -> bool) -> Option<()> {
    each_plain_mut(expr, 0, &mut each).then_some(())
}

/// `*` without options, or an expression with or without an alias.
fn plain_item(item: &SelectItem, dialect: Dialect) -> bool {
    match item {
        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
            expr.is_plain(dialect)
        }
        SelectItem::Wildcard(WildcardAdditionalOptions {
            wildcard_token: _,
            opt_ilike: None,
            opt_exclude: None,
            opt_except: None,
            opt_replace: None,
            opt_rename: None,
            opt_alias: None,
        }) => true,
        _ => false,
    }
}

fn plain_all<'e>(mut exprs: impl Iterator<Item = &'e Expr>, dialect: Dialect) -> bool {
    exprs.all(|e| e.is_plain(dialect))
}

/// Whether walking the flat form's `query`, whose FROM items number
/// `flat_tables` (every one a flat table, `flat.rs`), would change nothing
/// and refuse nothing. Every field is named, so a field sqlparser adds is
/// considered here before it compiles.
pub(super) fn flat_query_is_plain(query: &Query, flat_tables: usize, dialect: Dialect) -> bool {
    let Query {
        with: None,
        body,
        order_by,
        limit_clause,
        fetch: None,
        locks,
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators,
    } = query
    else {
        return false;
    };
    let SetExpr::Select(select) = body.as_ref() else {
        return false;
    };
    locks.is_empty()
        && pipe_operators.is_empty()
        && order_by.as_ref().is_none_or(|o| plain_order_by(o, dialect))
        && limit_clause
            .as_ref()
            .is_none_or(|l| plain_limit(l, dialect))
        && plain_select(select, flat_tables, dialect)
}

fn plain_order_by(order_by: &OrderBy, dialect: Dialect) -> bool {
    let OrderBy {
        kind: OrderByKind::Expressions(exprs),
        interpolate: None,
    } = order_by
    else {
        return false;
    };
    exprs.iter().all(|e| match e {
        OrderByExpr {
            expr,
            options: _,
            with_fill: None,
        } => expr.is_plain(dialect),
        OrderByExpr { .. } => false,
    })
}

fn plain_limit(limit: &LimitClause, dialect: Dialect) -> bool {
    match limit {
        LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        } => {
            limit_by.is_empty()
                && limit.as_ref().is_none_or(|l| l.is_plain(dialect))
                && offset
                    .as_ref()
                    .is_none_or(|Offset { value, rows: _ }| value.is_plain(dialect))
        }
        LimitClause::OffsetCommaLimit { offset, limit } => {
            offset.is_plain(dialect) && limit.is_plain(dialect)
        }
    }
}

fn plain_select(select: &Select, flat_tables: usize, dialect: Dialect) -> bool {
    let Select {
        select_token: _,
        optimizer_hints,
        distinct,
        select_modifiers: None,
        top: None,
        top_before_distinct: _,
        projection,
        exclude: None,
        into: None,
        from,
        lateral_views,
        prewhere: None,
        selection,
        connect_by,
        group_by: GroupByExpr::Expressions(group_by, group_modifiers),
        cluster_by,
        distribute_by,
        sort_by,
        having,
        named_window,
        qualify: None,
        window_before_qualify: _,
        value_table_mode: None,
        flavor: SelectFlavor::Standard,
    } = select
    else {
        return false;
    };
    let relations: usize = from.iter().map(|f| 1 + f.joins.len()).sum();
    let joins_plain = from.iter().flat_map(|f| &f.joins).all(|join| {
        let (JoinOperator::Join(constraint)
        | JoinOperator::Inner(constraint)
        | JoinOperator::CrossJoin(constraint)) = &join.join_operator
        else {
            return false;
        };
        match constraint {
            JoinConstraint::On(on) => on.is_plain(dialect),
            JoinConstraint::Using(_) | JoinConstraint::Natural | JoinConstraint::None => true,
            JoinConstraint::UsingAlias(..) => false,
        }
    });
    let distinct_plain = match distinct {
        None | Some(Distinct::Distinct | Distinct::All) => true,
        Some(Distinct::On(exprs)) => plain_all(exprs.iter(), dialect),
    };
    relations == flat_tables
        && joins_plain
        && distinct_plain
        && optimizer_hints.is_empty()
        && lateral_views.is_empty()
        && connect_by.is_empty()
        && group_modifiers.is_empty()
        && cluster_by.is_empty()
        && distribute_by.is_empty()
        && sort_by.is_empty()
        && named_window.is_empty()
        && projection.is_plain(dialect)
        && plain_all(selection.iter(), dialect)
        && plain_all(group_by.iter(), dialect)
        && plain_all(having.iter(), dialect)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::ops::ControlFlow;

    use sqlparser::ast::{Expr, Statement, VisitMut, VisitorMut};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::super::{parse, rewrite, rewrite_walking_every_clause};
    use super::{each_plain, each_plain_mut, find_in_plain, flat_query_is_plain};
    use crate::lang::model::Value;
    use crate::sql::Dialect;
    use crate::{Context, Engine};

    /// Statements the rule takes as plain, statements it must leave to the
    /// walk (a call, a subquery, a cast, a custom operator, a column the walk
    /// refuses, a clause the flat form does not keep), and writes whose
    /// clauses are one or the other.
    const CORPUS: &[&str] = &[
        "SELECT id, amount FROM orders WHERE status = 'open'",
        "SELECT * FROM orders",
        "SELECT o.id FROM orders o WHERE o.amount > 10 ORDER BY o.id DESC LIMIT 5 OFFSET 2",
        "SELECT DISTINCT status FROM orders WHERE note IS NULL AND amount BETWEEN 1 AND 9",
        "SELECT DISTINCT ON (status) status, id FROM orders ORDER BY status, id",
        "SELECT status, amount FROM orders GROUP BY status, amount HAVING amount > 1",
        "SELECT u.name FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email LIKE '%x' ESCAPE '!'",
        "SELECT u.name FROM users u, memberships m WHERE m.user_id = u.id OR NOT (u.id IN ('a', 'b'))",
        "SELECT id FROM orders WHERE status IS DISTINCT FROM $1 AND -amount < ?",
        "SELECT id FROM orders WHERE status ILIKE 'o%' AND created IS NOT NULL",
        "SELECT id AS \"Id\" FROM \"orders\" WHERE \"status\" = 'open'",
        "SELECT id FROM public.orders WHERE id = 1",
        "SELECT count(*) FROM orders",
        "SELECT lower(status) FROM orders",
        "SELECT id FROM orders WHERE amount > (SELECT 1)",
        "SELECT id FROM orders WHERE id IN (SELECT org_id FROM projects)",
        "SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM users)",
        "SELECT (SELECT name FROM users LIMIT 1) FROM orders",
        "SELECT CAST(amount AS text) FROM orders",
        "SELECT id FROM orders WHERE amount OPERATOR(pg_catalog.+) 1 > 2",
        "SELECT ctid FROM orders",
        "SELECT public.orders.id FROM orders",
        "SELECT id FROM orders ORDER BY lower(status)",
        "SELECT id FROM orders LIMIT (SELECT 1)",
        "SELECT id FROM orders FOR UPDATE",
        "SELECT id FROM orders WHERE pg_read_file('x') IS NULL",
        "SELECT id FROM orders WHERE set_config('rampart.tenant', 'x', false) IS NULL",
        "SELECT code FROM currencies",
        "SELECT o.id FROM orders o JOIN currencies c ON c.code = o.status",
        "SELECT id FROM orders o LEFT JOIN users u ON u.id = o.owner",
        "SELECT id FROM nowhere WHERE id = 1",
        "SELECT id FROM orders rampart_x",
        "WITH x AS (SELECT 1) SELECT id FROM orders",
        "SELECT id FROM orders UNION SELECT org_id FROM projects",
        "UPDATE orders SET amount = amount + 1 WHERE status = 'open' RETURNING id, amount",
        "UPDATE orders SET amount = 2 WHERE id IN (SELECT org_id FROM projects) RETURNING *",
        "UPDATE orders SET note = lower(note) WHERE ctid IS NOT NULL",
        "UPDATE orders SET amount = (SELECT 1) RETURNING id, lower(status)",
        "DELETE FROM orders WHERE status = 'cancelled' RETURNING id",
        "DELETE FROM orders WHERE xmin IS NOT NULL",
        "DELETE FROM orders WHERE id = (SELECT max(id) FROM orders) RETURNING dblink('x')",
        "INSERT INTO orders (id, amount, status) VALUES (1, 2, 'open') RETURNING id",
        "INSERT INTO orders (id, amount, status) SELECT org_id, 1, 'open' FROM projects",
        "INSERT INTO orders (id, amount, status) VALUES (1, 2, 'open') \
         ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING id",
    ];

    fn rewrite_both(sql: &str, dialect: Dialect) -> [String; 2] {
        let engine = Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas")).unwrap();
        let ctx = Context::from_json(
            r#"{"tenant": {"id": "acme", "plan": "pro"},
                "request": {"user": "bob", "roles": ["member"]}}"#,
        )
        .unwrap();
        let values: Vec<Value> = engine.context_values(&ctx).unwrap();
        let set = engine.policy_set();
        [
            format!("{:?}", rewrite(set, &values, dialect, sql)),
            format!(
                "{:?}",
                rewrite_walking_every_clause(set, &values, dialect, sql)
            ),
        ]
    }

    #[test]
    fn plain_clauses_rewrite_as_the_walk_rewrites_them() {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            for sql in CORPUS {
                let [skipped, walked] = rewrite_both(sql, dialect);
                assert_eq!(skipped, walked, "{sql} ({dialect:?})");
            }
        }
    }

    fn expr(sql: &str) -> Expr {
        Parser::new(&PostgreSqlDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_expr())
            .unwrap()
    }

    /// The plain traversals see every expression the walk sees, in its
    /// order (`pre_visit_expr`, `post_visit_expr`), and refuse the shapes
    /// they do not know.
    #[test]
    fn the_plain_traversal_sees_what_the_walk_sees() {
        struct Seen(Vec<String>, bool);
        impl VisitorMut for Seen {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
                if self.1 {
                    self.0.push(format!("{e:?}"));
                }
                ControlFlow::Continue(())
            }
            fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
                if !self.1 {
                    self.0.push(format!("{e:?}"));
                }
                ControlFlow::Continue(())
            }
        }
        for sql in [
            "a + 1",
            "NOT (a IS NULL) OR b IN (1, 2, $1) AND c NOT IN ('x')",
            "x BETWEEN -1 AND t.y",
            "s LIKE 'a%' ESCAPE '!' AND s NOT ILIKE 'x'",
            "a IS DISTINCT FROM b AND a IS NOT DISTINCT FROM $2",
            "t.c IS NOT TRUE OR c IS FALSE OR c IS UNKNOWN OR c IS NOT UNKNOWN",
            "- - a * (b - c) / 2 % 3 || 'x'",
        ] {
            let mut walked = expr(sql);
            for pre in [true, false] {
                let mut walk = Seen(Vec::new(), pre);
                let _ = VisitMut::visit(&mut walked, &mut walk);
                let mut seen = Vec::new();
                let plain = if pre {
                    each_plain(&walked, 0, &mut |e| {
                        seen.push(format!("{e:?}"));
                        true
                    })
                } else {
                    each_plain_mut(&mut walked, 0, &mut |e| {
                        seen.push(format!("{e:?}"));
                        true
                    })
                };
                assert!(plain, "{sql}");
                assert_eq!(seen, walk.0, "{sql}");
            }
            assert_eq!(find_in_plain(&walked, |_| false), Some(false), "{sql}");
        }
        for sql in [
            "f(a)",
            "a + (SELECT 1)",
            "CAST(a AS int)",
            "a OPERATOR(pg_catalog.+) b",
            "a IN (SELECT 1)",
            "CASE WHEN a THEN 1 END",
            "a = ANY(b)",
        ] {
            assert_eq!(find_in_plain(&expr(sql), |_| false), None, "{sql}");
        }
        // A hit is found where the walk would find it, plain or not.
        assert_eq!(
            find_in_plain(&expr("f(a) + $1"), |e| matches!(e, Expr::Value(_))),
            None
        );
        assert_eq!(
            find_in_plain(&expr("$1 + f(a)"), |e| matches!(e, Expr::Value(_))),
            Some(true)
        );
    }

    #[test]
    fn the_rule_takes_plain_flat_queries_and_leaves_the_rest() {
        let plain = |sql: &str, tables: usize| {
            let (statements, _) = parse(sql, Dialect::Postgres).unwrap();
            let Some(Statement::Query(query)) = statements.first() else {
                panic!("{sql}: not a query");
            };
            flat_query_is_plain(query, tables, Dialect::Postgres)
        };
        for (sql, tables) in [
            (CORPUS[0], 1),
            (CORPUS[2], 1),
            (CORPUS[5], 1),
            (CORPUS[6], 2),
        ] {
            assert!(plain(sql, tables), "{sql}");
        }
        for (sql, tables) in [
            (CORPUS[12], 1),
            (CORPUS[14], 1),
            (CORPUS[18], 1),
            (CORPUS[19], 1),
            (CORPUS[20], 1),
            (CORPUS[21], 1),
            (CORPUS[22], 1),
            (CORPUS[23], 1),
            (CORPUS[24], 1),
            // A FROM item that is not a flat table (here an open one).
            (CORPUS[28], 1),
        ] {
            assert!(!plain(sql, tables), "{sql}");
        }
    }
}
