//! Kept parts printed once. A policy subquery, hiding predicate, set of
//! RETURNING checks or UPDATE guard prints as the same text in every
//! statement of a tenant, so it is printed once, and a statement holds a
//! node printing that text where the part goes: printing the statement then
//! costs about what printing the user's own text does, whatever the
//! policies add.
//!
//! - A policy subquery is placed as its text (`table.rs`, `raw_table`),
//!   fenced; `unfence.rs` swaps in the text printed without the fence, and
//!   `pushdown.rs` puts the tree in its place where it moves a condition
//!   into it (the tree is then lent and given back, `lend.rs`).
//! - A hiding predicate is placed as its text (`KeptPredicate`).
//! - RETURNING checks are placed as one item printing their text
//!   (`tenant::KeptChecks`).
//! - The UPDATE guard is filled into its printed template (`GuardTemplate`),
//!   and the guarded assignment placed as its text (`upsert::GUARDED`).
//!
//! The node is an unquoted identifier, which sqlparser prints as its value
//! verbatim (`raw`). It only ever holds text printed from the tree it stands
//! for (or a template made from one), and only where nothing reads the tree
//! but the printer: the rewriter's walks meet a placed subquery as a table
//! reference they know by its address (`fence.rs`).

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, TableAlias, TableFactor, VisitMut, VisitorMut,
};

use super::upsert::target_column;
use crate::sql::emit::needs_parens;

/// An expression printed as `text`, verbatim.
pub(super) fn raw(text: String) -> Expr {
    Expr::Identifier(Ident::new(text))
}

/// A kept predicate (a write target's hiding predicate, a flat table's
/// policy) as statements receive it: printed once when made, bare and as
/// `nested` gives it (in parentheses where its tree would be). Nothing reads
/// a hiding predicate once it is placed, so it never needs its tree; a
/// statement's copy shares the texts.
#[derive(Clone, Debug)]
pub(super) struct KeptPredicate(Arc<PredicateTexts>);

#[derive(Debug)]
struct PredicateTexts {
    bare: String,
    nested: String,
}

impl KeptPredicate {
    pub(super) fn new(made: &Expr) -> Self {
        let bare = made.to_string();
        let nested = if needs_parens(made) {
            format!("({bare})")
        } else {
            bare.clone()
        };
        KeptPredicate(Arc::new(PredicateTexts { bare, nested }))
    }

    /// The predicate as it was made.
    pub(super) fn bare(&self) -> Expr {
        raw(self.0.bare.clone())
    }

    /// The predicate as `nested` gives it: in parentheses where its tree
    /// would be (`Expr::Nested` prints them so).
    pub(super) fn nested(&self) -> Expr {
        raw(self.0.nested.clone())
    }
}

/// A table factor printed as `text`, then its alias.
pub(super) fn raw_table(text: String, alias: Option<TableAlias>) -> TableFactor {
    plain_table(
        ObjectName(vec![ObjectNamePart::Identifier(Ident::new(text))]),
        alias,
    )
}

/// A table reference by `name` with nothing else to it but `alias`.
pub(super) fn plain_table(name: ObjectName, alias: Option<TableAlias>) -> TableFactor {
    TableFactor::Table {
        name,
        alias,
        args: None,
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_directives: Vec::new(),
        inheritance: None,
    }
}

/// An UPDATE guard (`update.rs`) printed with a hole wherever it reads a
/// column of the target: `pieces[0] hole pieces[1] hole … pieces[n]`. A
/// statement fills each hole with the value it assigns the column, printed
/// once, or with the column as it was; the guard's tree is neither copied
/// nor printed again.
#[derive(Debug)]
pub(super) struct GuardTemplate {
    pieces: Vec<String>,
    /// The pieces' length together.
    pieces_len: usize,
    /// Per hole: the column's index in the guard's `read` list, and the
    /// column as printed.
    holes: Vec<(usize, String)>,
}

/// Marks a hole in a guard's text: a character no printed guard holds
/// (checked: a policy literal holding one leaves the guard untemplated).
const HOLE: char = '\u{1}';

impl GuardTemplate {
    /// The template of `guard`, whose columns of the target (`qualifier`)
    /// are those in `read`; `None` where its text holds [`HOLE`] already.
    pub(super) fn new(guard: &Expr, qualifier: &[String], read: &[String]) -> Option<Self> {
        let mut marked = guard.clone();
        let mut marker = Marker {
            qualifier,
            read,
            holes: Vec::new(),
        };
        let _ = VisitMut::visit(&mut marked, &mut marker);
        let text = marked.to_string();
        let mut split = text.split(HOLE);
        let mut pieces = vec![split.next()?.to_string()];
        for (i, _) in marker.holes.iter().enumerate() {
            if split.next()? != i.to_string() {
                return None;
            }
            pieces.push(split.next()?.to_string());
        }
        if split.next().is_some() {
            return None;
        }
        Some(GuardTemplate {
            pieces_len: pieces.iter().map(String::len).sum(),
            pieces,
            holes: marker.holes,
        })
    }

    /// The length of the guard's text filled with `value_of`.
    pub(super) fn filled_len<'v>(&self, value_of: impl Fn(usize) -> Option<&'v str>) -> usize {
        let holes = self
            .holes
            .iter()
            .map(|(column, printed)| value_of(*column).map_or(printed.len(), str::len));
        self.pieces_len + holes.sum::<usize>()
    }

    /// Puts the guard's text on the end of `text`, each hole filled by
    /// `value_of(column)`, or by the column itself where that is `None`.
    pub(super) fn fill_into<'v>(
        &self,
        value_of: impl Fn(usize) -> Option<&'v str>,
        text: &mut String,
    ) {
        text.reserve(self.filled_len(&value_of));
        for (i, piece) in self.pieces.iter().enumerate() {
            text.push_str(piece);
            if let Some((column, printed)) = self.holes.get(i) {
                text.push_str(value_of(*column).unwrap_or(printed));
            }
        }
    }
}

/// Puts a numbered hole where a guard reads one of the target's columns,
/// as `upsert::Substitute` would put the column's value.
struct Marker<'a> {
    qualifier: &'a [String],
    read: &'a [String],
    holes: Vec<(usize, String)>,
}

impl VisitorMut for Marker<'_> {
    type Break = ();
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let read = target_column(expr, self.qualifier)
            .and_then(|column| self.read.iter().position(|r| *r == column.value));
        if let Some(index) = read {
            let hole = format!("{HOLE}{}{HOLE}", self.holes.len());
            self.holes.push((index, expr.to_string()));
            *expr = raw(hole);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sqlparser::ast::{Expr, VisitMut};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::GuardTemplate;
    use crate::sql::rewrite::upsert::Substitute;

    fn expr(sql: &str) -> Expr {
        Parser::new(&PostgreSqlDialect {})
            .try_with_sql(sql)
            .unwrap()
            .parse_expr()
            .unwrap()
    }

    const GUARD: &str = r#""orders"."owner" = 'bob' AND "orders"."amount" >= 0
        AND EXISTS (SELECT 1 FROM "m" AS "rampart_e1" WHERE "rampart_e1"."user_id" = "orders"."owner"
        AND "rampart_e1"."amount" < "orders"."amount") AND "orders"."note" IS NULL"#;

    /// What the tree path gives: the guard with the assigned values put in.
    fn substituted(guard: &Expr, assigned: &[(String, Expr)]) -> String {
        let mut guard = guard.clone();
        let _ = VisitMut::visit(
            &mut guard,
            &mut Substitute {
                qualifier: vec!["orders".into()],
                assigned,
            },
        );
        guard.to_string()
    }

    #[test]
    fn a_filled_template_prints_as_the_substituted_guard() {
        let guard = expr(GUARD);
        let read: Vec<String> = ["owner", "amount", "note"].map(String::from).to_vec();
        let template = GuardTemplate::new(&guard, &["orders".into()], &read).unwrap();
        let amount = expr(r#"CAST(("orders".amount + 1) AS bigint)"#);
        let owner = expr("CAST(('it''s') AS text)");
        for assigned in [
            vec![],
            vec![("amount".to_string(), amount.clone())],
            vec![
                ("owner".to_string(), owner.clone()),
                ("amount".to_string(), amount),
            ],
            vec![("owner".to_string(), owner)],
        ] {
            let values: Vec<Option<String>> = read
                .iter()
                .map(|c| {
                    assigned
                        .iter()
                        .find(|(n, _)| n == c)
                        .map(|(_, v)| v.to_string())
                })
                .collect();
            let mut filled = String::new();
            template.fill_into(
                |column| values.get(column).and_then(|v| v.as_deref()),
                &mut filled,
            );
            assert_eq!(filled, substituted(&guard, &assigned));
        }
    }

    #[test]
    fn a_guard_whose_text_holds_the_hole_mark_has_no_template() {
        let guard = expr("\"orders\".\"owner\" = 'a\u{1}0\u{1}b' AND \"orders\".\"amount\" > 0");
        let read: Vec<String> = ["owner", "amount"].map(String::from).to_vec();
        assert!(GuardTemplate::new(&guard, &["orders".into()], &read).is_none());
        let plain = expr("\"orders\".\"owner\" = 'ab' AND \"orders\".\"amount\" > 0");
        assert!(GuardTemplate::new(&plain, &["orders".into()], &read).is_some());
    }
}
