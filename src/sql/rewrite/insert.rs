//! `INSERT INTO t [(columns)] {VALUES … | SELECT … | DEFAULT VALUES}
//! [ON CONFLICT …] [RETURNING …]`: omitted preset columns are filled in;
//! rows known when rewriting are checked then (by `self.row_check`, the
//! engine's compiled predicates or the interpreter; a failure refuses the
//! statement), the others by guards in the rows (`proposed.rs`), or where
//! those cannot be placed through appended RETURNING check columns.

use sqlparser::ast::{
    Expr, Ident, Insert, ObjectName, OnConflictAction, OnInsert, Query, SelectItem, SetExpr,
    TableObject,
};

use crate::lang::model::{TExpr, TExprKind, Table, Value};
use crate::policy::combine::{conditions, OnFail, RowImage, StatementKind};
use crate::policy::specialise;
use crate::sql::{Dialect, EmitError};

use super::error::RewriteError;
use super::plan::{PlanKind, StatementPlan};
use super::query::QueryRewriter;
use super::scope::{fold, fold_declared, idents};
use super::target::Target;

fn unsupported(construct: &str) -> RewriteError {
    RewriteError::Unsupported {
        construct: construct.into(),
    }
}

/// Clauses of other dialects' INSERT that the rewrite does not cover.
fn check_insert(insert: &Insert) -> Result<(), RewriteError> {
    if insert.replace_into || matches!(insert.or, Some(sqlparser::ast::SqliteOnConflict::Replace)) {
        return Err(unsupported(
            "`REPLACE` / `INSERT OR REPLACE` (it deletes rows past the DELETE policies)",
        ));
    }
    if insert.or.is_some() || insert.ignore {
        return Err(unsupported(
            "`INSERT OR …` / `INSERT IGNORE` (use `ON CONFLICT`)",
        ));
    }
    if matches!(insert.on, Some(OnInsert::DuplicateKeyUpdate(_))) {
        return Err(unsupported("`ON DUPLICATE KEY UPDATE` (use `ON CONFLICT`)"));
    }
    if !insert.assignments.is_empty() {
        return Err(unsupported("`INSERT … SET`"));
    }
    if insert.overriding.is_some() {
        return Err(unsupported(
            "`OVERRIDING … VALUE` (the stored row would differ from the one checked)",
        ));
    }
    if insert.output.is_some()
        || insert.settings.is_some()
        || insert.format_clause.is_some()
        || insert.insert_alias.is_some()
        || insert.priority.is_some()
    {
        return Err(unsupported(
            "`OUTPUT`, `SETTINGS`, `FORMAT`, row aliases or priorities in INSERT",
        ));
    }
    if insert.overwrite
        || insert.partitioned.is_some()
        || !insert.after_columns.is_empty()
        || insert.has_table_keyword
        || insert.by_name
    {
        return Err(unsupported(
            "`OVERWRITE`, `PARTITION`, `TABLE` or `BY NAME` in INSERT",
        ));
    }
    if insert.multi_table_insert_type.is_some()
        || !insert.multi_table_into_clauses.is_empty()
        || !insert.multi_table_when_clauses.is_empty()
        || insert.multi_table_else_clause.is_some()
    {
        return Err(unsupported("multi-table INSERT"));
    }
    if !insert.optimizer_hints.is_empty() {
        return Err(unsupported("optimizer hints"));
    }
    Ok(())
}

impl QueryRewriter<'_> {
    pub(super) fn rewrite_insert(
        &mut self,
        insert: &mut Insert,
    ) -> Result<StatementPlan, RewriteError> {
        check_insert(insert)?;
        let TableObject::TableName(name) = &insert.table else {
            return Err(unsupported("an INSERT target that is not a table"));
        };
        let alias = insert.table_alias.as_ref().map(|a| &a.alias);
        if alias.is_some() && self.dialect == Dialect::Sqlite {
            // SQLite's RETURNING cannot name the alias the checks read through.
            return Err(unsupported("an alias on the INSERT target in SQLite"));
        }
        let target = self.target(name, alias)?;
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| unsupported("an INSERT target out of range"))?;
        // `DEFAULT VALUES` gives no column: presets are filled in below,
        // every other column is the database's default.
        let mut columns = match (&insert.source, insert.columns.is_empty()) {
            (None, true) => Vec::new(),
            (None, false) => return Err(unsupported("a column list with `DEFAULT VALUES`")),
            (Some(_), _) => self.insert_columns(&insert.columns, table, &target)?,
        };
        if insert.columns.is_empty() {
            // A source narrower than the table fills its first columns.
            if let Some(width) = insert.source.as_deref().and_then(values_width) {
                columns.truncate(width);
            }
        }
        if insert.columns.is_empty() && insert.source.is_some() {
            insert.columns = columns
                .iter()
                .filter_map(|&i| table.columns.get(i))
                .map(|c| ObjectName::from(vec![Ident::with_quote('"', c.name.as_str())]))
                .collect();
        }
        if let Some(OnInsert::OnConflict(sqlparser::ast::OnConflict {
            action: OnConflictAction::DoUpdate(update),
            ..
        })) = &mut insert.on
        {
            self.fill_preset_assignments(&mut update.assignments, table, &target)?;
        }
        if let Some(source) = &mut insert.source {
            self.rewrite_clause(source)?;
        }
        if let Some(returning) = &mut insert.returning {
            self.rewrite_clause(returning)?;
        }
        if let Some(OnInsert::OnConflict(on)) = &mut insert.on {
            self.rewrite_clause(on)?;
        }
        self.fill_presets(insert, table, &target, &mut columns)?;
        let (reads, kind) = match &insert.on {
            None => (insert.returning.is_some(), StatementKind::Insert),
            Some(OnInsert::OnConflict(on)) => match &on.action {
                OnConflictAction::DoUpdate(_) => (true, StatementKind::InsertOnConflictUpdate),
                // PostgreSQL reads the table for any conflict target, a constraint's too.
                OnConflictAction::DoNothing => (
                    insert.returning.is_some() || on.conflict_target.is_some(),
                    StatementKind::Insert,
                ),
            },
            Some(_) => return Err(unsupported("this ON clause of INSERT")),
        };
        let rows = known_rows(insert.source.as_deref(), &columns, table, self.dialect);
        let runtime = self.check_known_rows(&target, kind, reads, &rows)?;
        if runtime && insert.on.is_some() {
            if let Some(why) = self.guard_proposed_rows(insert, &target, &columns, reads)? {
                return Err(RewriteError::Unsupported {
                    construct: format!(
                        "`ON CONFLICT` with rows not known when rewriting, with {why}: \
                         PostgreSQL checks each proposed row even where the conflict \
                         skips it, so each must carry a guard"
                    ),
                });
            }
        }
        // A plain INSERT's rows are guarded too where that can be done, as
        // PostgreSQL checks each row's policies before its constraints (NOT
        // NULL, unique keys): a row breaking both is 42501. The appended
        // RETURNING checks, run after the statement, are left for the rest.
        let unguarded = if runtime && insert.on.is_none() {
            self.guard_proposed_rows(insert, &target, &columns, reads)?
        } else {
            None
        };
        if let Some(why) = unguarded.filter(|_| self.in_with_item) {
            // Appended RETURNING columns would be the item's output too.
            return Err(RewriteError::Unsupported {
                construct: format!(
                    "an INSERT inside a WITH item with rows not known when rewriting, \
                     with {why}: each row must carry a guard there"
                ),
            });
        }
        let runtime = unguarded.is_some();
        if matches!(
            &insert.on,
            Some(OnInsert::OnConflict(sqlparser::ast::OnConflict {
                action: OnConflictAction::DoUpdate(_),
                ..
            }))
        ) {
            self.guard_conflict_update(insert, &target)?;
        }
        let had_returning = insert.returning.is_some();
        let user_columns = insert.returning.as_ref().map_or(0, Vec::len);
        let (image, image_columns) = if self.row_images {
            self.image_items(&target)?
        } else {
            (Vec::new(), Vec::new())
        };
        let (items, checks) = if runtime {
            let (kept, checks) = self.check_columns(
                &target,
                kind,
                reads,
                RowImage::Inserted,
                user_columns + image.len(),
            )?;
            (kept.item(), checks)
        } else {
            (None, Vec::new())
        };
        if items.is_some() || !image.is_empty() {
            let returning: &mut Vec<SelectItem> = insert.returning.get_or_insert_with(Vec::new);
            returning.extend(image);
            returning.extend(items);
        }
        let plan_kind = if kind == StatementKind::InsertOnConflictUpdate {
            PlanKind::Upsert
        } else {
            PlanKind::Insert
        };
        Ok(StatementPlan {
            kind: plan_kind,
            table: Some(target.name),
            user_columns,
            checks,
            had_returning,
            image_columns,
            with_writes: Vec::new(),
        })
    }

    /// The declared columns an INSERT gives values for, in its order: its
    /// column list, or every declared column when it has none.
    fn insert_columns(
        &self,
        listed: &[ObjectName],
        table: &Table,
        target: &Target,
    ) -> Result<Vec<usize>, RewriteError> {
        if listed.is_empty() {
            return Ok((0..table.columns.len()).collect());
        }
        let mut out = Vec::with_capacity(listed.len());
        for name in listed {
            let parts = idents(name).unwrap_or_default();
            let [ident] = parts.as_slice() else {
                return Err(RewriteError::Unsupported {
                    construct: format!("INSERT column `{name}` (name a column of the table)"),
                });
            };
            let folded = fold(ident, self.dialect);
            let index = table
                .columns
                .iter()
                .position(|c| fold_declared(&c.name, self.dialect) == folded)
                .ok_or_else(|| RewriteError::UnknownColumn {
                    column: ident.value.clone(),
                    table: target.name.clone(),
                })?;
            if out.contains(&index) {
                return Err(RewriteError::DuplicateColumn {
                    column: ident.value.clone(),
                    table: target.name.clone(),
                });
            }
            out.push(index);
        }
        Ok(out)
    }

    /// Checks the rows known when rewriting against the conditions on the
    /// inserted row; whether some condition is left for run time.
    fn check_known_rows(
        &self,
        target: &Target,
        kind: StatementKind,
        reads: bool,
        rows: &Option<Vec<Vec<Option<Value>>>>,
    ) -> Result<bool, RewriteError> {
        let emit_error = |source: EmitError| RewriteError::Emit {
            table: target.name.clone(),
            source,
        };
        let mut special = Vec::new();
        for condition in conditions(self.set, target.index, kind, reads) {
            if condition.image != RowImage::Inserted || condition.on_fail != OnFail::Error {
                continue;
            }
            let s = specialise(&condition.combined.expr, self.known)
                .map_err(|e| emit_error(EmitError::Eval(e)))?;
            if s.kind != TExprKind::Literal(Value::Bool(true)) {
                special.push((condition.command, condition.clause, s));
            }
        }
        if special.is_empty() {
            return Ok(false);
        }
        let Some(rows) = rows else {
            return Ok(true);
        };
        let context: Vec<Value> = self
            .known
            .iter()
            .map(|v| v.clone().unwrap_or(Value::Null))
            .collect();
        let mut runtime = false;
        let table_name = self
            .set
            .tables
            .get(target.index)
            .map_or_else(|| target.name.clone(), |t| t.name.name.clone());
        // Row by row, each row's conditions in order: PostgreSQL's order.
        // (The compiled predicates when the engine passed them as `row_check`.)
        for row in rows {
            for (command, clause, condition) in &special {
                if needs_database(condition, row) {
                    runtime = true;
                    continue;
                }
                let verdict = self.row_check.decide(
                    target.index,
                    *command,
                    *clause,
                    condition,
                    row,
                    &context,
                );
                match verdict {
                    Ok(Some(true)) => {}
                    Ok(_) => {
                        return Err(RewriteError::RowViolation { table: table_name });
                    }
                    Err(e) => return Err(emit_error(EmitError::Eval(e))),
                }
            }
        }
        Ok(runtime)
    }
}

/// How many columns a source gives, where that is plain from its text: a
/// `VALUES` whose rows agree, or a select list without `*`.
fn values_width(source: &Query) -> Option<usize> {
    match source.body.as_ref() {
        SetExpr::Values(values) => {
            let width = values.rows.first()?.content.len();
            values
                .rows
                .iter()
                .all(|r| r.content.len() == width)
                .then_some(width)
        }
        SetExpr::Select(select) => select
            .projection
            .iter()
            .all(|item| {
                matches!(
                    item,
                    SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
                )
            })
            .then_some(select.projection.len()),
        _ => None,
    }
}

/// Whether `condition` needs the database for `row`: it reads a column
/// whose value is not known when rewriting, or another table (`exists`).
fn needs_database(condition: &TExpr, row: &[Option<Value>]) -> bool {
    match &condition.kind {
        TExprKind::Column(i) => row.get(*i).is_none_or(Option::is_none),
        TExprKind::Exists { .. } | TExprKind::ExistsColumn { .. } => true,
        _ => condition
            .kind
            .children()
            .into_iter()
            .any(|c| needs_database(c, row)),
    }
}

/// The rows of a `VALUES` source as declared-column values (`None` where not
/// known when rewriting: an expression, or a column left to the database's
/// default); `None` for any other source.
fn known_rows(
    source: Option<&Query>,
    columns: &[usize],
    table: &Table,
    dialect: Dialect,
) -> Option<Vec<Vec<Option<Value>>>> {
    let Some(source) = source else {
        // DEFAULT VALUES with no preset: every column is the database's default.
        return Some(vec![vec![None; table.columns.len()]]);
    };
    if source.with.is_some() || source.order_by.is_some() || source.limit_clause.is_some() {
        return None;
    }
    let SetExpr::Values(values) = source.body.as_ref() else {
        return None;
    };
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        if row.content.len() != columns.len() {
            return None;
        }
        let mut known = vec![None; table.columns.len()];
        for (expr, &index) in row.content.iter().zip(columns) {
            let column = table.columns.get(index)?;
            if let Some(slot) = known.get_mut(index) {
                *slot = constant(expr, column.ty.ty, dialect);
            }
        }
        rows.push(known);
    }
    Some(rows)
}

/// The value of a constant expression (a literal, `NULL`, a negated number)
/// stored in a column of type `ty`, when it is certain; `None` otherwise.
fn constant(expr: &Expr, ty: crate::lang::model::Ty, dialect: Dialect) -> Option<Value> {
    use crate::lang::model::Ty;
    use sqlparser::ast::{UnaryOperator, Value as V};
    match expr {
        Expr::Nested(inner) => constant(inner, ty, dialect),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                V::Number(n, false) => number(&format!("-{n}"), ty),
                _ => None,
            },
            _ => None,
        },
        Expr::Value(v) => match (&v.value, ty) {
            (V::Null, _) => Some(Value::Null),
            (V::Number(n, false), _) => number(n, ty),
            (V::SingleQuotedString(s), Ty::Text) => Some(Value::Text(s.clone())),
            // A text literal emitted by `sql::emit::text_literal` (a preset's
            // value): `'…'` with every quote doubled. User placeholders
            // (`$1`, `?`) never start with a quote.
            (V::Placeholder(p), Ty::Text) => p
                .strip_prefix('\'')
                .and_then(|p| p.strip_suffix('\''))
                .map(|inner| Value::Text(inner.replace("''", "'"))),
            (V::Boolean(b), Ty::Bool) => Some(Value::Bool(*b)),
            (V::Boolean(b), Ty::Int) if dialect == Dialect::Sqlite => {
                Some(Value::Int(i64::from(*b)))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A numeric literal's value in an `int` or `float` column, when exact.
fn number(text: &str, ty: crate::lang::model::Ty) -> Option<Value> {
    use crate::lang::model::Ty;
    match ty {
        Ty::Int => text.parse::<i64>().ok().map(Value::Int),
        Ty::Float => {
            let digits = text.trim_start_matches('-');
            if !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return None;
            }
            text.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Value::Float)
        }
        _ => None,
    }
}
