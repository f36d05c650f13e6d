//! `ON CONFLICT … DO UPDATE`: the conflicting row must pass UPDATE and SELECT
//! `using`, and the row it becomes UPDATE `check` and SELECT `using`, or the
//! statement fails with 42501. Both are guards in the DO UPDATE's `WHERE`,
//! after the user's condition, that raise a marked error (see `plan.rs`).

use std::ops::ControlFlow;

use sqlparser::ast::{
    self as sql, AssignmentTarget, BinaryOperator, CaseWhen, DataType, Expr, Ident, Insert,
    ObjectName, ObjectNamePart, OnConflictAction, OnInsert, VisitMut, VisitorMut,
};

use crate::lang::model::{TExpr, Table, Ty};
use crate::policy::combine::{and, conditions, OnFail, RowImage, StatementKind};
use crate::policy::specialise;
use crate::sql::emit::{bool_literal, cast, function, nested, text_literal, value_expr};
use crate::sql::schema::storage_type;
use crate::sql::template::scalar_subquery;
use crate::sql::{Dialect, EmitError};

use super::error::RewriteError;
use super::plan::VIOLATION_MARKER;
use super::proposed::columns_read;
use super::query::QueryRewriter;
use super::scope::names_declared;
use super::stable::{calls_function, has_anonymous_parameter};
use super::target::Target;

impl QueryRewriter<'_> {
    /// Adds the existing-row and updated-row guards to `DO UPDATE`'s `WHERE`.
    pub(super) fn guard_conflict_update(
        &self,
        insert: &mut Insert,
        target: &Target,
    ) -> Result<(), RewriteError> {
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| unsupported("an INSERT target out of range"))?;
        let Some(OnInsert::OnConflict(on)) = &mut insert.on else {
            return Ok(());
        };
        let OnConflictAction::DoUpdate(update) = &mut on.action else {
            return Ok(());
        };
        let kind = StatementKind::InsertOnConflictUpdate;
        let mut existing: Option<TExpr> = None;
        let mut updated: Option<TExpr> = None;
        for condition in conditions(self.set, target.index, kind, true) {
            if condition.on_fail != OnFail::Error {
                continue;
            }
            let slot = match condition.image {
                RowImage::Existing => &mut existing,
                RowImage::Updated => &mut updated,
                RowImage::Inserted => continue,
            };
            *slot = Some(match slot.take() {
                None => condition.combined.expr,
                Some(acc) => and(acc, condition.combined.expr),
            });
        }
        let read: Vec<String> = match &updated {
            Some(u) => {
                let special = specialise(u, self.known).map_err(|e| RewriteError::Emit {
                    table: target.name.clone(),
                    source: EmitError::Eval(e),
                })?;
                columns_read(&special)
                    .into_iter()
                    .filter_map(|i| table.columns.get(i).map(|c| c.name.clone()))
                    .collect()
            }
            None => Vec::new(),
        };
        let assigned = self.assigned_values(&update.assignments, table, target, &read)?;
        let name = &table.name.name;
        let mut guards = Vec::new();
        if let Some(existing) = existing {
            if let Some(expr) = self.emit_condition(target, &existing)? {
                let message = format!(
                    "{VIOLATION_MARKER}new row violates row-level security policy \
                     (USING expression) for table \"{name}\""
                );
                guards.push(self.raise_unless(expr, &message, target)?);
            }
        }
        if let Some(updated) = updated {
            if let Some(expr) = self.emit_condition(target, &updated)? {
                let mut substitute = Substitute {
                    qualifier: target.qualifier.clone(),
                    assigned: &assigned,
                };
                let mut expr = expr;
                let _ = expr.visit(&mut substitute);
                let message = format!(
                    "{VIOLATION_MARKER}new row violates row-level security policy \
                     for table \"{name}\""
                );
                guards.push(self.raise_unless(expr, &message, target)?);
            }
        }
        let Some(guard) = guards.into_iter().reduce(|a, b| Expr::BinaryOp {
            left: Box::new(nested(a)),
            op: BinaryOperator::And,
            right: Box::new(nested(b)),
        }) else {
            return Ok(());
        };
        update.selection = Some(match update.selection.take() {
            None => guard,
            // The user's condition first, as PostgreSQL tests it before the policies.
            Some(user) => Expr::Case {
                case_token: sql::helpers::attached_token::AttachedToken::empty(),
                end_token: sql::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![CaseWhen {
                    condition: Expr::Nested(Box::new(user)),
                    result: guard,
                }],
                else_result: Some(Box::new(bool_literal(false))),
            },
        });
        Ok(())
    }

    /// The value each assigned column takes, by declared column name; on
    /// PostgreSQL cast to the column's type, as storing it would.
    fn assigned_values(
        &self,
        assignments: &[sql::Assignment],
        table: &Table,
        target: &Target,
        read: &[String],
    ) -> Result<Vec<(String, Expr)>, RewriteError> {
        let mut out: Vec<(String, Expr)> = Vec::new();
        for assignment in assignments {
            let AssignmentTarget::ColumnName(name) = &assignment.target else {
                return Err(unsupported("`SET (a, b) = …` in DO UPDATE"));
            };
            let column = self.declared_column(name, table, target)?;
            if read.contains(&column.0) && calls_function(&assignment.value) {
                return Err(unsupported(
                    "a function call in a DO UPDATE value the policies read (the check \
                     would evaluate it again, and a volatile one differently)",
                ));
            }
            if read.contains(&column.0) && has_anonymous_parameter(&assignment.value) {
                return Err(unsupported(
                    "a `?` parameter in a DO UPDATE value the policies read (a copy in \
                     the check would renumber the parameters; write `?NNN`)",
                ));
            }
            let value = stored_value(&assignment.value, column.1, self.dialect);
            if out.iter().any(|(n, _)| *n == column.0) {
                return Err(RewriteError::DuplicateColumn {
                    column: column.0,
                    table: target.name.clone(),
                });
            }
            out.push((column.0, value));
        }
        Ok(out)
    }

    /// The declared name and type of an assigned column (`col` or `t.col`).
    fn declared_column(
        &self,
        name: &ObjectName,
        table: &Table,
        target: &Target,
    ) -> Result<(String, crate::lang::model::Ty), RewriteError> {
        let Some(last) = column_ident(name) else {
            return Err(unsupported("an empty column name in DO UPDATE"));
        };
        declared_index(name, table, self.dialect)
            .and_then(|i| table.columns.get(i))
            .map(|c| (c.name.clone(), c.ty.ty))
            .ok_or_else(|| RewriteError::UnknownColumn {
                column: last.value.clone(),
                table: target.name.clone(),
            })
    }

    /// `condition`, or else the marked 42501 error: true when it holds.
    /// Neither form is a constant the planner could fold (and raise) early.
    pub(super) fn raise_unless(
        &self,
        condition: Expr,
        message: &str,
        target: &Target,
    ) -> Result<Expr, RewriteError> {
        let emit_error = |source: EmitError| RewriteError::Emit {
            table: target.name.clone(),
            source,
        };
        let text = text_literal(message).map_err(emit_error)?;
        Ok(match self.dialect {
            Dialect::Sqlite => function("rampart_require", vec![condition, text]),
            Dialect::Postgres => {
                // `CAST(CASE WHEN c THEN NULL ELSE (SELECT 'msg') END AS bigint) IS NULL`:
                // a failing row casts the message to bigint, which raises with it.
                let case = Expr::Case {
                    case_token: sql::helpers::attached_token::AttachedToken::empty(),
                    end_token: sql::helpers::attached_token::AttachedToken::empty(),
                    operand: None,
                    conditions: vec![CaseWhen {
                        condition,
                        result: value_expr(sql::Value::Null),
                    }],
                    else_result: Some(Box::new(scalar_subquery(text).map_err(emit_error)?)),
                };
                Expr::IsNull(Box::new(cast(
                    case,
                    DataType::Custom(ObjectName::from(vec![Ident::new("bigint")]), vec![]),
                )))
            }
        })
    }
}

/// The index among `table`'s columns of an assigned column (`col` or
/// `t.col`: its last part names it).
pub(super) fn declared_index(name: &ObjectName, table: &Table, dialect: Dialect) -> Option<usize> {
    let last = column_ident(name)?;
    table
        .columns
        .iter()
        .position(|c| names_declared(last, &c.name, dialect))
}

/// The last part of an assigned column's name, which names the column; `None`
/// for an empty name or one with a computed part.
fn column_ident(name: &ObjectName) -> Option<&Ident> {
    let plain = name
        .0
        .iter()
        .all(|p| matches!(p, ObjectNamePart::Identifier(_)));
    match name.0.last() {
        Some(ObjectNamePart::Identifier(last)) if plain => Some(last),
        _ => None,
    }
}

/// A value as the column of type `ty` stores it: on PostgreSQL cast to
/// the column's type, as assigning it does; as it is on SQLite.
pub(super) fn stored_value(value: &Expr, ty: Ty, dialect: Dialect) -> Expr {
    stored(value.clone(), ty, dialect)
}

/// [`stored_value`] printed: `CAST((value) AS type)` on PostgreSQL,
/// `(value)` on SQLite, as the tree prints (a test keeps them the same);
/// `None` where the value does not print.
pub(super) fn stored_text(value: &Expr, ty: Ty, dialect: Dialect) -> Option<String> {
    use std::fmt::Write;
    // Sized for a short value at once (`format!` would start small and grow).
    let mut text = String::with_capacity(96);
    // Writing to a `String` fails only where a `Display` does.
    match dialect {
        Dialect::Postgres => write!(text, "CAST(({value}) AS {})", storage_type(ty, dialect)),
        Dialect::Sqlite => write!(text, "({value})"),
    }
    .ok()?;
    Some(text)
}

/// The text around the guard and the stored value (`stored_text`) in
/// `CASE WHEN guard THEN <value stored> END` printed, as its tree prints (a
/// test keeps them the same): an UPDATE's guarded assignment (`update.rs`),
/// placed as its text.
pub(super) const GUARDED: [&str; 3] = ["CASE WHEN ", " THEN ", " END"];

/// [`stored_value`] of a value given up for it.
pub(super) fn stored(value: Expr, ty: Ty, dialect: Dialect) -> Expr {
    let nested = Expr::Nested(Box::new(value));
    match dialect {
        Dialect::Postgres => cast(
            nested,
            DataType::Custom(
                ObjectName::from(vec![Ident::new(storage_type(ty, Dialect::Postgres))]),
                vec![],
            ),
        ),
        Dialect::Sqlite => nested,
    }
}

fn unsupported(construct: &str) -> RewriteError {
    RewriteError::Unsupported {
        construct: construct.into(),
    }
}

/// Replaces the target's columns in an emitted condition with the values
/// DO UPDATE assigns them: the condition then reads the updated row.
pub(super) struct Substitute<'a> {
    pub qualifier: Vec<String>,
    pub assigned: &'a [(String, Expr)],
}

impl VisitorMut for Substitute<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(column) = target_column(expr, &self.qualifier) {
            if let Some((_, value)) = self.assigned.iter().find(|(n, _)| *n == column.value) {
                *expr = value.clone();
            }
        }
        ControlFlow::Continue(())
    }
}

/// The column an emitted condition reads as `qualifier.column`, where
/// `expr` is one: a column of the target, as the policies name it.
pub(super) fn target_column<'e>(expr: &'e Expr, qualifier: &[String]) -> Option<&'e Ident> {
    let Expr::CompoundIdentifier(parts) = expr else {
        return None;
    };
    let (column, named) = parts.split_last()?;
    let same =
        named.len() == qualifier.len() && named.iter().zip(qualifier).all(|(a, b)| a.value == *b);
    same.then_some(column)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use sqlparser::ast::helpers::attached_token::AttachedToken;
    use sqlparser::ast::{CaseWhen, Expr};

    use super::{stored, stored_text, GUARDED};
    use crate::lang::model::Ty;
    use crate::sql::Dialect;

    #[test]
    fn a_stored_value_prints_as_its_text() {
        let types = [
            Ty::Int,
            Ty::Float,
            Ty::Bool,
            Ty::Text,
            Ty::Timestamp,
            Ty::TextSet,
            Ty::IntSet,
            Ty::Null,
        ];
        for sql in [
            "\"orders\".amount + 1",
            "'it''s'",
            "a OR b",
            "CAST(x AS text)",
        ] {
            let value = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(sql)
                .unwrap()
                .parse_expr()
                .unwrap();
            for ty in types {
                for dialect in [Dialect::Postgres, Dialect::Sqlite] {
                    assert_eq!(
                        stored_text(&value, ty, dialect).unwrap(),
                        stored(value.clone(), ty, dialect).to_string(),
                        "{sql} as {ty:?} on {dialect:?}"
                    );
                    let guard = Expr::Nested(Box::new(value.clone()));
                    let case = Expr::Case {
                        case_token: AttachedToken::empty(),
                        end_token: AttachedToken::empty(),
                        operand: None,
                        conditions: vec![CaseWhen {
                            condition: guard.clone(),
                            result: stored(value.clone(), ty, dialect),
                        }],
                        else_result: None,
                    };
                    assert_eq!(
                        format!(
                            "{}{guard}{}{}{}",
                            GUARDED[0],
                            GUARDED[1],
                            stored_text(&value, ty, dialect).unwrap(),
                            GUARDED[2]
                        ),
                        case.to_string(),
                        "{sql} as {ty:?} on {dialect:?}"
                    );
                }
            }
        }
    }
}
