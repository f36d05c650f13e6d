//! Declarations: context fields, tables, columns and their presets, merged
//! across files; and finding a table by the name a policy or `exists` writes.

use super::expr::{may_be_null, ExprChecker, Place};
use super::suggest::{closest, did_you_mean};
use crate::lang::ast::{ColumnDecl, Item, ScalarType, TableDecl, TableName, TypeExpr};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{
    Column, ContextField, DeclaredType, PolicySet, QualifiedName, TExpr, TExprKind, Table, Ty,
};

/// A table that was accepted into the set, with the columns that were.
pub struct DeclaredTable<'a> {
    pub index: usize,
    pub decl: &'a TableDecl,
    /// `(index in the model's columns, declaration)`.
    pub columns: Vec<(usize, &'a ColumnDecl)>,
}

fn scalar_ty(scalar: ScalarType) -> Ty {
    match scalar {
        ScalarType::Int => Ty::Int,
        ScalarType::Float => Ty::Float,
        ScalarType::Bool => Ty::Bool,
        ScalarType::Text => Ty::Text,
        ScalarType::Timestamp => Ty::Timestamp,
    }
}

/// The type a declaration names; `None` for a set of something other than
/// `text` or `int`.
fn declared_type(ty: &TypeExpr) -> Option<DeclaredType> {
    let scalar = scalar_ty(ty.scalar);
    let ty_ = if ty.set {
        match scalar {
            Ty::Text => Ty::TextSet,
            Ty::Int => Ty::IntSet,
            _ => return None,
        }
    } else {
        scalar
    };
    Some(DeclaredType {
        ty: ty_,
        nullable: ty.nullable,
    })
}

fn unsupported_set(ty: &TypeExpr) -> Diagnostic {
    Diagnostic::error(
        ty.span,
        format!(
            "unsupported type `set<{}>`: sets hold `text` or `int`",
            ty.scalar.keyword()
        ),
    )
}

/// Collects the fields of every `context` block; blocks of the same kind merge.
pub fn context(items: &[&Item], set: &mut PolicySet, diags: &mut Vec<Diagnostic>) {
    for item in items {
        let Item::Context(block) = item else { continue };
        for field in &block.fields {
            let name = &field.name.name;
            if let Some((_, first)) = set.context_field(block.kind, name) {
                diags.push(
                    Diagnostic::error(
                        field.name.span,
                        format!(
                            "context field `{}.{name}` is declared twice",
                            block.kind.keyword()
                        ),
                    )
                    .with_related(first.span, "first declared here"),
                );
                continue;
            }
            let Some(ty) = declared_type(&field.ty) else {
                diags.push(unsupported_set(&field.ty));
                continue;
            };
            set.context.push(ContextField {
                block: block.kind,
                name: name.clone(),
                ty,
                span: field.span,
            });
        }
    }
}

/// Collects every table and its columns; duplicates are reported and dropped.
pub fn tables<'a>(
    items: &[&'a Item],
    set: &mut PolicySet,
    diags: &mut Vec<Diagnostic>,
) -> Vec<DeclaredTable<'a>> {
    let mut declared = Vec::new();
    for item in items {
        let Item::Table(decl) = item else { continue };
        let name = qualified_name(&decl.name);
        if let Some((index, _)) = set.table(&name) {
            let mut diagnostic =
                Diagnostic::error(decl.name.span, format!("table `{name}` is declared twice"));
            if let Some(first) = declared
                .iter()
                .find(|t: &&DeclaredTable<'_>| t.index == index)
            {
                diagnostic = diagnostic.with_related(first.decl.name.span, "first declared here");
            }
            diags.push(diagnostic);
            continue;
        }
        let mut table = Table {
            name,
            open: decl.open,
            columns: Vec::new(),
            policies: Vec::new(),
            span: decl.span,
        };
        let mut columns = Vec::new();
        for column in &decl.columns {
            if let Some(index) = self::column(&mut table, column, diags) {
                columns.push((index, column));
            }
        }
        declared.push(DeclaredTable {
            index: set.tables.len(),
            decl,
            columns,
        });
        set.tables.push(table);
    }
    declared
}

/// Adds one column to `table`, returning its index unless it was refused.
fn column(table: &mut Table, column: &ColumnDecl, diags: &mut Vec<Diagnostic>) -> Option<usize> {
    let name = &column.name.name;
    if let Some((_, first)) = table.column(name) {
        diags.push(
            Diagnostic::error(
                column.name.span,
                format!(
                    "column `{name}` is declared twice in table `{}`",
                    table.name
                ),
            )
            .with_related(first.span, "first declared here"),
        );
        return None;
    }
    if column.ty.set {
        // Kept (as a set) so that uses of it are not reported as unknown too.
        diags.push(Diagnostic::error(
            column.ty.span,
            format!(
                "column `{name}` cannot have type `{}`: only context fields may be sets",
                column.ty
            ),
        ));
    }
    let ty = declared_type(&column.ty).unwrap_or(DeclaredType {
        ty: Ty::TextSet,
        nullable: column.ty.nullable,
    });
    table.columns.push(Column {
        name: name.clone(),
        ty,
        preset: None,
        span: column.span,
    });
    Some(table.columns.len() - 1)
}

/// Types the presets (`owner: text = request.user`) of every accepted column.
pub fn presets(tables: &[DeclaredTable<'_>], set: &mut PolicySet, diags: &mut Vec<Diagnostic>) {
    let mut typed = Vec::new();
    for table in tables {
        for &(index, decl) in &table.columns {
            let Some(preset) = &decl.preset else { continue };
            let Some(column) = set
                .tables
                .get(table.index)
                .and_then(|t| t.columns.get(index))
            else {
                continue;
            };
            let mut checker = ExprChecker::new(set, diags, Place::Preset);
            let Some(expr) = checker.expr(preset) else {
                continue;
            };
            if let Some(expr) = fit_preset(set, column, expr, diags) {
                typed.push((table.index, index, expr));
            }
        }
    }
    for (table, column, expr) in typed {
        if let Some(c) = set
            .tables
            .get_mut(table)
            .and_then(|t| t.columns.get_mut(column))
        {
            c.preset = Some(expr);
        }
    }
}

/// Checks that a typed preset fits its column, converting an `int` for a
/// `float` column.
fn fit_preset(
    set: &PolicySet,
    column: &Column,
    mut expr: TExpr,
    diags: &mut Vec<Diagnostic>,
) -> Option<TExpr> {
    let want = column.ty.ty;
    if expr.ty == Ty::Null {
        expr.ty = want;
    } else if expr.ty == Ty::Int && want == Ty::Float {
        let span = expr.span;
        expr = TExpr {
            kind: TExprKind::IntToFloat(Box::new(expr)),
            ty: Ty::Float,
            span,
        };
    } else if expr.ty != want {
        diags.push(Diagnostic::error(
            expr.span,
            format!(
                "preset of column `{}` has type `{}`, but the column is `{}`",
                column.name, expr.ty, column.ty
            ),
        ));
        return None;
    }
    if !column.ty.nullable && may_be_null(&expr, set) {
        diags.push(
            Diagnostic::error(
                expr.span,
                format!(
                    "preset of column `{}` may be null, but the column is not nullable",
                    column.name
                ),
            )
            .with_note(format!(
                "help: declare the column `{}?`, or preset it from a non-null field",
                column.ty.ty
            )),
        );
        return None;
    }
    Some(expr)
}

pub fn qualified_name(name: &TableName) -> QualifiedName {
    QualifiedName {
        schema: name.schema.as_ref().map(|s| s.name.clone()),
        name: name.name.name.clone(),
    }
}

/// The index of the table a policy or `exists` names, or the error to report.
pub fn resolve_table(set: &PolicySet, name: &TableName) -> Result<usize, Diagnostic> {
    let wanted = qualified_name(name);
    if let Some((index, _)) = set.table(&wanted) {
        return Ok(index);
    }
    let known: Vec<String> = set.tables.iter().map(|t| t.name.to_string()).collect();
    // `events` when only `audit.events` exists: name the schema.
    let same_name: Vec<&str> = set
        .tables
        .iter()
        .zip(&known)
        .filter(|(t, _)| t.name.name == wanted.name && t.name.schema != wanted.schema)
        .map(|(_, k)| k.as_str())
        .collect();
    let suggestion = match same_name.as_slice() {
        [one] => Some(*one),
        _ => closest(&wanted.to_string(), known.iter().map(String::as_str)),
    };
    Err(Diagnostic::error(
        name.span,
        format!("unknown table `{wanted}`{}", did_you_mean(suggestion)),
    ))
}
