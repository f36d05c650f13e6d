//! Column references qualified by schema (`public.orders.id`): a declared
//! table's reference is rewritten into a subquery named by the table alone
//! (`AS orders`), which a schema-qualified reference cannot name, so such a
//! reference is shortened to `orders.id` before the statement is rewritten.
//! It names the same FROM item: PostgreSQL and SQLite match `s.t.c` against
//! a FROM item that is the table `s.t` without an alias, and `t.c` against
//! the same item (`FROM s.t` and `FROM t` alike), and both refuse either
//! where the table has an alias. Only names whose first two parts are a
//! declared table are shortened; any other stays refused
//! (`query::check_column_reference`). The pass runs only for statements
//! whose tokens hold a three-part dotted name (`DottedNames`, watched by
//! `mod.rs`'s token check).

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectNamePart, Statement, VisitMut, VisitorMut};

use crate::lang::model::PolicySet;
use crate::sql::Dialect;

use super::table::resolve;

/// Shortens `schema.table.column` to `table.column` throughout
/// `statement`, where `schema.table` is a declared table.
pub(super) fn shorten(statement: &mut Statement, set: &PolicySet, dialect: Dialect) {
    struct Shorten<'a> {
        set: &'a PolicySet,
        dialect: Dialect,
    }
    impl VisitorMut for Shorten<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Expr::CompoundIdentifier(parts) = expr {
                if let [schema, table, _] = parts.as_slice() {
                    let name = [
                        ObjectNamePart::Identifier(schema.clone()),
                        ObjectNamePart::Identifier(table.clone()),
                    ];
                    if resolve(self.set, &name, self.dialect).is_some() {
                        parts.remove(0);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Shorten { set, dialect });
}

/// Watches a statement's tokens (whitespace left out) for a name of three
/// or more dotted parts (`a.b.c`).
#[derive(Default)]
pub(super) struct DottedNames {
    /// How many `word .` pairs lead up to the current token.
    dotted: usize,
    after_word: bool,
    /// Whether such a name was seen.
    pub three_parts: bool,
}

impl DottedNames {
    pub(super) fn see(&mut self, token: &sqlparser::tokenizer::Token) {
        use sqlparser::tokenizer::Token;
        match token {
            Token::Word(_) => {
                if self.dotted >= 2 {
                    self.three_parts = true;
                }
                if self.after_word {
                    // A word after a word starts a new name.
                    self.dotted = 0;
                }
                self.after_word = true;
            }
            Token::Period if self.after_word => {
                self.dotted += 1;
                self.after_word = false;
            }
            _ => {
                self.dotted = 0;
                self.after_word = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};

    use super::DottedNames;

    fn three_parts(sql: &str) -> bool {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize()
            .unwrap();
        let mut names = DottedNames::default();
        for token in tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))) {
            names.see(token);
        }
        names.three_parts
    }

    #[test]
    fn three_dotted_parts_are_seen_and_two_are_not() {
        for seen in [
            "SELECT public.orders.id FROM orders",
            "SELECT a . b . c",
            "SELECT \"S\".\"T\".c",
            "SELECT x FROM t WHERE db.s.t.c = 1",
        ] {
            assert!(three_parts(seen), "{seen}");
        }
        for unseen in [
            "SELECT o.id FROM public.orders o",
            "SELECT a.b c.d",
            "SELECT a.b, c.d",
            "SELECT 1.5, x.y",
            "SELECT a.b.*",
        ] {
            assert!(!three_parts(unseen), "{unseen}");
        }
    }
}
