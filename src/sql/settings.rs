//! Reading context fields from PostgreSQL settings, for native DDL:
//! `rampart.<block>_<field>`, text form, empty meaning null where nullable.

use sqlparser::ast::{self as sql, DataType, Ident, ObjectName};

use crate::lang::model::{ContextField, TExpr, TExprKind, Ty};

use super::emit::{cast, function, text_literal, value_expr};

/// The setting that holds a context field: `rampart.tenant_id`.
pub fn setting_name(field: &ContextField) -> String {
    format!("rampart.{}_{}", field.block.keyword(), field.name)
}

/// `CAST(current_setting('rampart.tenant_id') AS …)`: the field read from its
/// setting. The emitter puts it inside a scalar subquery (with the rest of
/// the context-only expression around it), so it is read once per statement.
pub fn read_setting(field: &ContextField) -> sql::Expr {
    let name = text_literal(&setting_name(field)).unwrap_or_else(|_| value_expr(sql::Value::Null));
    let mut text = function("current_setting", vec![name]);
    if field.ty.nullable {
        let empty = value_expr(sql::Value::SingleQuotedString(String::new()));
        text = function("nullif", vec![text, empty]);
    }
    match field.ty.ty {
        Ty::Text | Ty::Null => text,
        Ty::Int => cast(text, DataType::BigInt(None)),
        Ty::Float => cast(text, DataType::DoublePrecision),
        Ty::Bool => cast(text, DataType::Boolean),
        Ty::Timestamp => cast(text, custom("timestamptz")),
        Ty::TextSet => cast(text, custom("text[]")),
        Ty::IntSet => cast(text, custom("bigint[]")),
    }
}

/// Whether `expr` reads the context and nothing of a row (no column, no
/// `exists`): its value is one per statement.
pub fn reads_only_context(expr: &TExpr) -> bool {
    fn walk(e: &TExpr, context: &mut bool) -> bool {
        match &e.kind {
            TExprKind::Column(_) | TExprKind::ExistsColumn { .. } | TExprKind::Exists { .. } => {
                false
            }
            TExprKind::Context(_) => {
                *context = true;
                true
            }
            kind => kind.children().into_iter().all(|c| walk(c, context)),
        }
    }
    let mut context = false;
    walk(expr, &mut context) && context
}

fn custom(name: &str) -> DataType {
    DataType::Custom(ObjectName::from(vec![Ident::new(name)]), vec![])
}
