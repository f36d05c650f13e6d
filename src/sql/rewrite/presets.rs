//! Presets (`tenant_id: text = tenant.id`): the value the rewriter fills
//! in, for this context, where a write leaves a preset column to its
//! default: an INSERT that omits it or gives `DEFAULT` (and `DEFAULT
//! VALUES`), and `SET column = DEFAULT` in an UPDATE or ON CONFLICT's DO
//! UPDATE. The native DDL sets the same values as the columns' defaults
//! (`ddl.rs`).

use sqlparser::ast::{
    Assignment, AssignmentTarget, Expr, Ident, Insert, ObjectName, Query, SelectItem, SetExpr,
};

use crate::lang::model::{TExpr, TExprKind, Table};
use crate::policy::specialise;
use crate::sql::template::{values_query, with_extra_columns};
use crate::sql::EmitError;

use super::error::RewriteError;
use super::proposed::is_default;
use super::query::QueryRewriter;
use super::target::Target;
use super::upsert::declared_index;

impl QueryRewriter<'_> {
    /// The preset's value for this context as a literal.
    fn preset_literal(&self, preset: &TExpr, target: &Target) -> Result<Expr, RewriteError> {
        let emit_error = |source: EmitError| RewriteError::Emit {
            table: target.name.clone(),
            source,
        };
        let special = specialise(preset, self.known).map_err(|e| emit_error(EmitError::Eval(e)))?;
        let TExprKind::Literal(value) = &special.kind else {
            return Err(emit_error(EmitError::Internal(
                "a preset did not fold to a constant",
            )));
        };
        self.emitter.literal(value).map_err(emit_error)
    }

    /// `SET column = DEFAULT` for a preset column (an UPDATE's, or ON
    /// CONFLICT's DO UPDATE) assigns the preset's value, the column's
    /// default as the rewriter fills it in on INSERT (and as the native DDL
    /// sets it, `ddl.rs`).
    pub(super) fn fill_preset_assignments(
        &self,
        assignments: &mut [Assignment],
        table: &Table,
        target: &Target,
    ) -> Result<(), RewriteError> {
        for assignment in assignments {
            let AssignmentTarget::ColumnName(name) = &assignment.target else {
                continue;
            };
            if !is_default(&assignment.value) {
                continue;
            }
            let preset = declared_index(name, table, self.dialect)
                .and_then(|i| table.columns.get(i))
                .and_then(|c| c.preset.as_ref());
            if let Some(preset) = preset {
                assignment.value = self.preset_literal(preset, target)?;
            }
        }
        Ok(())
    }

    /// Adds each omitted column that has a preset, with the preset's value
    /// for this context as a literal, to the column list and every row;
    /// `DEFAULT` given for a preset column in a `VALUES` row takes it too
    /// (the preset is the column's default).
    pub(super) fn fill_presets(
        &self,
        insert: &mut Insert,
        table: &Table,
        target: &Target,
        columns: &mut Vec<usize>,
    ) -> Result<(), RewriteError> {
        let emit_error = |source: EmitError| RewriteError::Emit {
            table: target.name.clone(),
            source,
        };
        if let Some(SetExpr::Values(rows)) = insert.source.as_mut().map(|s| s.body.as_mut()) {
            for (position, &index) in columns.iter().enumerate() {
                let Some(preset) = table.columns.get(index).and_then(|c| c.preset.as_ref()) else {
                    continue;
                };
                let literal = self.preset_literal(preset, target)?;
                for row in &mut rows.rows {
                    if let Some(value) = row.content.get_mut(position).filter(|v| is_default(v)) {
                        *value = literal.clone();
                    }
                }
            }
        }
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (index, column) in table.columns.iter().enumerate() {
            let Some(preset) = &column.preset else {
                continue;
            };
            if columns.contains(&index) {
                continue;
            }
            names.push(ObjectName::from(vec![Ident::with_quote(
                '"',
                column.name.as_str(),
            )]));
            values.push(self.preset_literal(preset, target)?);
            columns.push(index);
        }
        if names.is_empty() {
            return Ok(());
        }
        insert.columns.extend(names);
        match &mut insert.source {
            None => {
                insert.source = Some(Box::new(values_query(vec![values]).map_err(emit_error)?));
            }
            Some(source) => append_to_rows(source, values).map_err(emit_error)?,
        }
        Ok(())
    }
}

/// Appends preset values to every row of an INSERT source: to each `VALUES`
/// row or the select list, or by wrapping any other query.
fn append_to_rows(source: &mut Query, values: Vec<Expr>) -> Result<(), EmitError> {
    let simple = source.with.is_none()
        && source.order_by.is_none()
        && source.limit_clause.is_none()
        && source.fetch.is_none()
        && source.locks.is_empty();
    match source.body.as_mut() {
        SetExpr::Values(rows) if simple => {
            for row in &mut rows.rows {
                row.content.extend(values.iter().cloned());
            }
            Ok(())
        }
        SetExpr::Select(select) => {
            select
                .projection
                .extend(values.into_iter().map(SelectItem::UnnamedExpr));
            Ok(())
        }
        _ => {
            let inner = std::mem::replace(source, values_query(Vec::new())?);
            *source = with_extra_columns(inner, values)?;
            Ok(())
        }
    }
}
