//! Proposed rows of `INSERT … {VALUES | SELECT} … ON CONFLICT` not known
//! when rewriting: PostgreSQL checks each one before looking for a conflict,
//! so even a row the conflict skips must pass. Each row's check is a guard
//! around one of its values (a `VALUES` row's, or the select list's) that
//! raises the marked 42501 error (`plan.rs`).

use sqlparser::ast::{
    self as sql, CaseWhen, Expr, Insert, OnConflictAction, OnInsert, SelectItem, SetExpr,
};

use crate::lang::model::{TExpr, TExprKind, Table, Ty, Value};
use crate::policy::combine::{and, conditions, OnFail, RowImage, StatementKind};
use crate::policy::specialise;
use crate::sql::emit::value_expr;
use crate::sql::{Dialect, EmitError};

use super::copied::{has_subquery, qualified_copy};
use super::error::RewriteError;
use super::plan::VIOLATION_MARKER;
use super::query::QueryRewriter;
use super::scope::{fold, idents};
use super::stable::{calls_function, has_anonymous_parameter};
use super::target::Target;
use super::upsert::{stored_value, Substitute};

impl QueryRewriter<'_> {
    /// Guards every row of a `VALUES` or plain `SELECT` source of an `ON
    /// CONFLICT` INSERT with the conditions on the inserted row; why not,
    /// when that cannot be done exactly (another source, `ORDER BY` / `LIMIT`,
    /// `DEFAULT`, a column left to the database's default that the policy
    /// reads, a function call it would run twice, a `?` parameter that a
    /// copy would renumber, no value whose type a `CASE` keeps). A column
    /// left to the database whose default is known to be null
    /// (`null_defaults`) is read as null.
    pub(super) fn guard_proposed_rows(
        &self,
        insert: &mut Insert,
        target: &Target,
        columns: &[usize],
        reads: bool,
    ) -> Result<Option<&'static str>, RewriteError> {
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| RewriteError::Unsupported {
                construct: "an INSERT target out of range".into(),
            })?;
        let kind = match &insert.on {
            Some(OnInsert::OnConflict(on))
                if matches!(on.action, OnConflictAction::DoUpdate(_)) =>
            {
                StatementKind::InsertOnConflictUpdate
            }
            _ => StatementKind::Insert,
        };
        let mut combined: Option<TExpr> = None;
        for condition in conditions(self.set, target.index, kind, reads) {
            if condition.image != RowImage::Inserted || condition.on_fail != OnFail::Error {
                continue;
            }
            combined = Some(match combined {
                None => condition.combined.expr,
                Some(acc) => and(acc, condition.combined.expr),
            });
        }
        let Some(combined) = combined else {
            return Ok(None);
        };
        let special = specialise(&combined, self.known).map_err(|e| RewriteError::Emit {
            table: target.name.clone(),
            source: EmitError::Eval(e),
        })?;
        if special.kind == TExprKind::Literal(Value::Bool(true)) {
            return Ok(None);
        }
        let read = columns_read(&special);
        // A column the database fills with null (`null_defaults`) is read
        // as null where the row leaves it to the database.
        let null_default = |column: usize| {
            self.null_defaults
                .get(target.index)
                .and_then(Option::as_ref)
                .and_then(|columns| columns.get(column))
                .copied()
                .unwrap_or(false)
        };
        let mut omitted = Vec::new();
        for &column in &read {
            if columns.contains(&column) || omitted.contains(&column) {
                continue;
            }
            if !null_default(column) {
                return Ok(Some("an omitted column without a preset that the policies read (its value is the database's default)"));
            }
            omitted.push(column);
        }
        let typed_null = |column: &crate::lang::model::Column| {
            (
                column.name.clone(),
                stored_value(&value_expr(sql::Value::Null), column.ty.ty, self.dialect),
            )
        };
        // The same for every row.
        let omitted: Vec<(String, Expr)> = omitted
            .iter()
            .filter_map(|&c| table.columns.get(c))
            .map(typed_null)
            .collect();
        let Some(check) = self.emit_condition(target, &combined)? else {
            return Ok(None);
        };
        let Some(source) = insert.source.as_deref_mut() else {
            return Ok(Some("DEFAULT VALUES"));
        };
        let (rows, row_name) = match proposed_rows(source, self.dialect) {
            Ok(found) => found,
            Err(why) => return Ok(Some(why)),
        };
        // A select list's columns read its FROM: copied into the guard's
        // subqueries they must be qualified (a VALUES row reads no row).
        let qualify = has_subquery(&check).then_some(row_name).flatten();
        let message = format!(
            "{VIOLATION_MARKER}new row violates row-level security policy for table \"{}\"",
            table.name.name
        );
        for mut row in rows {
            let mut assigned = omitted.clone();
            for (value, &index) in row.iter().zip(columns) {
                let Some(column) = table.columns.get(index) else {
                    return Ok(Some("a value for an undeclared column"));
                };
                if is_default(value) {
                    if read.contains(&index) {
                        if !null_default(index) {
                            return Ok(Some("`DEFAULT` as a value the policies read"));
                        }
                        assigned.push(typed_null(column));
                    }
                    // Its value is the database's, which the guard never
                    // reads; nor does the guard ride on it (`carrier`).
                    continue;
                }
                if has_anonymous_parameter(value) {
                    return Ok(Some("a `?` parameter (a copy in the guard renumbers them)"));
                }
                if read.contains(&index) && calls_function(value) {
                    return Ok(Some(
                        "a call of a function not known to be stable in a value the \
                         policies read (the guard would run it again)",
                    ));
                }
                let copy = match &qualify {
                    None => (**value).clone(),
                    Some(name) => match qualified_copy(value, name.as_deref()) {
                        Some(copy) => copy,
                        None => {
                            return Ok(Some(
                                "a value with a subquery, or a column of a join, that the \
                                 policies' subqueries would read",
                            ))
                        }
                    },
                };
                assigned.push((
                    column.name.clone(),
                    stored_value(&copy, column.ty.ty, self.dialect),
                ));
            }
            let Some(wrapped) = self.carrier(&row, columns, table) else {
                return Ok(Some(
                    "no value to carry the guard (a text column's, or one whose type \
                     its text settles)",
                ));
            };
            let mut guard = check.clone();
            let mut substitute = Substitute {
                qualifier: target.qualifier.clone(),
                assigned: &assigned,
            };
            let _ = sqlparser::ast::VisitMut::visit(&mut guard, &mut substitute);
            let raise = self.raise_unless(guard, &message, target)?;
            let Some(slot) = row.get_mut(wrapped) else {
                return Ok(Some("a row without the guarded value"));
            };
            let value = std::mem::replace(&mut **slot, value_expr(sql::Value::Null));
            **slot = Expr::Case {
                case_token: sql::helpers::attached_token::AttachedToken::empty(),
                end_token: sql::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![CaseWhen {
                    condition: raise,
                    result: value,
                }],
                else_result: None,
            };
        }
        Ok(None)
    }
}

impl QueryRewriter<'_> {
    /// Which value of a proposed row carries its guard: `CASE WHEN … THEN v
    /// END` must keep the type `v` gives the column. On PostgreSQL that is
    /// a value for a text column (an untyped literal resolves to text either
    /// way), or a value whose type its text settles (a number, a boolean, a
    /// cast, a column); on SQLite any value.
    fn carrier(&self, row: &[&mut Expr], columns: &[usize], table: &Table) -> Option<usize> {
        let text = |&(_, &index): &(usize, &usize)| {
            table
                .columns
                .get(index)
                .is_some_and(|c| c.ty.ty == Ty::Text)
        };
        // `DEFAULT` stands alone: `CASE WHEN … THEN DEFAULT END` is no SQL.
        let mut positions = row
            .iter()
            .zip(columns)
            .enumerate()
            .filter(|(_, (value, _))| !is_default(value));
        if self.dialect == Dialect::Sqlite {
            return positions.next().map(|(position, _)| position);
        }
        positions
            .clone()
            .find(|(_, pair)| text(&(0, pair.1)))
            .or_else(|| positions.find(|(_, (value, _))| settled_type(value)))
            .map(|(position, _)| position)
    }
}

/// Whether an expression's type is plain from its text, with no context
/// to resolve it from: numbers, booleans, casts and columns, and operators
/// over them (an untyped `'…'`, `NULL` or parameter is not).
fn settled_type(expr: &Expr) -> bool {
    use sqlparser::ast::Value as V;
    match expr {
        Expr::Value(v) => matches!(v.value, V::Number(..) | V::Boolean(_)),
        Expr::Cast { .. } | Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => settled_type(inner),
        Expr::BinaryOp { left, right, .. } => settled_type(left) && settled_type(right),
        _ => false,
    }
}

/// The proposed rows' values and, for a select list, the name its columns
/// are read through (`None` inside: a join, or several FROM items).
type ProposedRows<'a> = (Vec<Vec<&'a mut Expr>>, Option<Option<Vec<String>>>);

/// The values of each proposed row, as the source writes them: each
/// `VALUES` row, or a plain select list (evaluated once per row it gives,
/// after its `WHERE`); why not, for any other source.
fn proposed_rows(
    source: &mut sql::Query,
    dialect: Dialect,
) -> Result<ProposedRows<'_>, &'static str> {
    if source.order_by.is_some()
        || source.limit_clause.is_some()
        || source.fetch.is_some()
        || !source.locks.is_empty()
    {
        // A select list under ORDER BY / LIMIT is evaluated for rows the
        // limit then drops.
        return Err("an `ORDER BY`, `LIMIT` or locking clause on the rows");
    }
    let with = source.with.is_some();
    match source.body.as_mut() {
        SetExpr::Values(_) if with => Err("a `WITH` on a VALUES source"),
        SetExpr::Values(values) => Ok((
            values
                .rows
                .iter_mut()
                .map(|row| row.content.iter_mut().collect())
                .collect(),
            None,
        )),
        SetExpr::Select(select) => {
            if select.distinct.is_some() || select.top.is_some() || select.into.is_some() {
                return Err("`DISTINCT`, `TOP` or `INTO` in the rows' SELECT");
            }
            let name = row_name(&select.from, dialect);
            let mut row = Vec::with_capacity(select.projection.len());
            for item in &mut select.projection {
                match item {
                    SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                        row.push(expr);
                    }
                    _ => return Err("`*` in the rows' select list"),
                }
            }
            Ok((vec![row], Some(name)))
        }
        _ => Err("a source other than VALUES or a plain SELECT"),
    }
}

/// The name a select list reads its only FROM item through (its alias, or
/// the table's name), folded; `None` for a join or several items.
fn row_name(from: &[sql::TableWithJoins], dialect: Dialect) -> Option<Vec<String>> {
    let [only] = from else {
        return None;
    };
    if !only.joins.is_empty() {
        return None;
    }
    match &only.relation {
        sql::TableFactor::Table { alias: Some(a), .. }
        | sql::TableFactor::Derived { alias: Some(a), .. } => Some(vec![fold(&a.name, dialect)]),
        sql::TableFactor::Table {
            name, alias: None, ..
        } => idents(name).and_then(|parts| parts.last().map(|last| vec![fold(last, dialect)])),
        _ => None,
    }
}

/// The columns of the policy's own row an expression reads.
pub(super) fn columns_read(expr: &TExpr) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let TExprKind::Column(i) = e.kind {
            out.push(i);
        }
        stack.extend(e.kind.children());
    }
    out
}

/// `DEFAULT` as a value: the database's default, unknown here.
pub(super) fn is_default(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(i) if i.quote_style.is_none()
        && i.value.eq_ignore_ascii_case("default"))
}
