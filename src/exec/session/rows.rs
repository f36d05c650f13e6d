//! Reading what a write returned: each appended check verified (a value
//! that is not a boolean is an error, not a violation), and each row image
//! checked against the declared types before it becomes a change event.

use crate::error::{DatabaseError, Error};
use crate::lang::model::{PolicySet, Ty};
use crate::sql::rewrite::StatementPlan;
use crate::sql::Dialect;

use super::super::value::check_not_boolean;
use super::super::SqlValue;

/// The declared types of a plan's image columns (`None` for a column the
/// policy set does not declare, which is never checked).
pub(super) fn image_types(set: &PolicySet, plan: &StatementPlan) -> Vec<Option<Ty>> {
    let table = plan
        .table
        .as_deref()
        .and_then(|name| set.tables.iter().find(|t| t.name.to_string() == name));
    plan.image_columns
        .iter()
        .map(|name| {
            table
                .and_then(|t| t.columns.iter().find(|c| c.name == *name))
                .map(|c| c.ty.ty)
        })
        .collect()
}

/// Verifies one row's appended checks: every one true, else 42501; a value
/// that is no boolean at all (an SQLite column declared `bool` holding
/// text, read by a check) fails with 22P02 naming the check.
pub(super) fn verify_checks(
    plan: &StatementPlan,
    table: &str,
    checks: &[SqlValue],
    dialect: Dialect,
) -> Result<(), Error> {
    for (at, value) in checks.iter().enumerate() {
        match value.as_bool(dialect) {
            Some(Some(true)) => {}
            Some(_) => {
                return Err(Error::CheckViolation {
                    table: table.to_string(),
                })
            }
            None => {
                let check = plan
                    .checks
                    .get(at)
                    .map_or("", |c| c.policy_description.as_str());
                return Err(Error::Database(check_not_boolean(check, table, value)));
            }
        }
    }
    Ok(())
}

/// One row image as `(column, value)` pairs, each value checked against
/// its column's declared type (22P02 naming table and column otherwise).
pub(super) fn image_row(
    table: &str,
    names: &[String],
    types: &[Option<Ty>],
    values: &[SqlValue],
    dialect: Dialect,
) -> Result<Vec<(String, SqlValue)>, Error> {
    let mut row = Vec::with_capacity(names.len());
    for (at, (name, value)) in names.iter().zip(values).enumerate() {
        if let Some(ty) = types.get(at).copied().flatten() {
            if !value.fits(ty, dialect) {
                return Err(Error::Database(not_fitting(table, name, ty, value)));
            }
        }
        row.push((name.clone(), value.clone()));
    }
    Ok(row)
}

/// A value read from `table`.`column` that is not of its declared type.
pub(crate) fn not_fitting(table: &str, column: &str, ty: Ty, value: &SqlValue) -> DatabaseError {
    DatabaseError::new(
        "22P02",
        format!(
            "column `{column}` of table `{table}` holds `{value}`, which is not a `{ty}` as \
             the policy set declares it"
        ),
    )
}
