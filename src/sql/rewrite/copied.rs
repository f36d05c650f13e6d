//! Values of a select list copied into a guard (`proposed.rs`): a guard's
//! `exists` subqueries put a FROM between a copied value and the row it
//! reads, so an unqualified column in it would be read from the subquery's
//! table instead. Copies have their columns qualified, or are refused where
//! that cannot be done exactly. (DO UPDATE's values need none of this: an
//! unqualified column there is ambiguous, 42702, in PostgreSQL.)

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, Query, Visit, VisitMut, Visitor, VisitorMut};

use super::plain::{change_plain, find_in_plain};

/// Whether an expression has a subquery (`EXISTS`, `IN (SELECT …)`, a
/// scalar subquery).
pub(super) fn has_subquery(expr: &Expr) -> bool {
    if find_in_plain(expr, |_| false).is_some() {
        // A plain expression has none.
        return false;
    }
    struct Finds;
    impl Visitor for Finds {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            ControlFlow::Break(())
        }
    }
    expr.visit(&mut Finds).is_break()
}

/// `value` as a guard with subqueries may copy it: each unqualified column
/// qualified by `qualifier` (the row the value reads). `None` when that is
/// not exact: the value has a subquery of its own (whose references to the
/// row a copy could rebind), or a column to qualify and no `qualifier`.
pub(super) fn qualified_copy(value: &Expr, qualifier: Option<&[String]>) -> Option<Expr> {
    qualified_copy_where(value, qualifier, |_| true)
}

/// [`qualified_copy`], also `None` where a bare name is not one that
/// `is_column` accepts (the caller's row does not have it).
pub(super) fn qualified_copy_where(
    value: &Expr,
    qualifier: Option<&[String]>,
    is_column: impl Fn(&Ident) -> bool,
) -> Option<Expr> {
    if has_subquery(value) {
        return None;
    }
    qualify(value.clone(), qualifier, is_column)
}

/// `copy` qualified as [`qualified_copy_where`] says, for a value the caller
/// found has no subquery.
pub(super) fn qualify(
    mut copy: Expr,
    qualifier: Option<&[String]>,
    is_column: impl Fn(&Ident) -> bool,
) -> Option<Expr> {
    qualify_in_place(&mut copy, qualifier, is_column).then_some(copy)
}

/// Qualifies each unqualified column of `value` (which has no subquery) by
/// `qualifier`; `false` where one could not be (no `qualifier`, or a name
/// `is_column` refuses), the columns met before it left qualified.
pub(super) fn qualify_in_place(
    value: &mut Expr,
    qualifier: Option<&[String]>,
    is_column: impl Fn(&Ident) -> bool,
) -> bool {
    // A plain value is qualified without the walk; where it is not plain,
    // the walk qualifies what is left (a qualified column is not an
    // `Identifier` any more).
    let mut failed = false;
    let plain = change_plain(value, |expr| {
        failed = !qualify_column(expr, qualifier, &is_column);
        !failed
    });
    if failed {
        return false;
    }
    if plain.is_some() {
        return true;
    }
    struct Qualify<'a, F> {
        qualifier: Option<&'a [String]>,
        is_column: F,
        failed: bool,
    }
    impl<F: Fn(&Ident) -> bool> VisitorMut for Qualify<'_, F> {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if qualify_column(expr, self.qualifier, &self.is_column) {
                ControlFlow::Continue(())
            } else {
                self.failed = true;
                ControlFlow::Break(())
            }
        }
    }
    let mut qualify = Qualify {
        qualifier,
        is_column,
        failed: false,
    };
    let _ = VisitMut::visit(value, &mut qualify);
    !qualify.failed
}

/// Qualifies `expr` if it is an unqualified column; `false` where that
/// cannot be done exactly (no `qualifier`, or a name `is_column` refuses).
fn qualify_column(
    expr: &mut Expr,
    qualifier: Option<&[String]>,
    is_column: &impl Fn(&Ident) -> bool,
) -> bool {
    let Expr::Identifier(column) = expr else {
        return true;
    };
    match qualifier.filter(|_| is_column(column)) {
        Some(qualifier) => {
            *expr = qualified(qualifier, std::mem::replace(column, Ident::new("")));
            true
        }
        None => false,
    }
}

/// `"q1"."q2".column`.
fn qualified(qualifier: &[String], column: Ident) -> Expr {
    let mut parts: Vec<Ident> = Vec::with_capacity(qualifier.len() + 1);
    parts.extend(qualifier.iter().map(|q| Ident::with_quote('"', q.as_str())));
    parts.push(column);
    Expr::CompoundIdentifier(parts)
}
