//! Random syntax trees (feature `arbitrary`), for the property tests and the
//! fuzz targets: every item kind and expression form, in the parser's normal
//! form, so that `parse(print(tree)) == tree` is expected to hold.

mod atoms;
mod expr;
pub mod sql;
pub mod typed;
pub mod values;

use arbitrary::Result;
/// Re-exported so that users of the generators need no `arbitrary` dependency.
pub use arbitrary::Unstructured;

pub use atoms::{MAX_TIMESTAMP, MIN_TIMESTAMP};
pub use expr::negate;

use crate::lang::*;

/// How tall generated expressions get: far below the parser's nesting limit
/// (`MAX_NESTING`), which printing adds parentheses towards.
pub const MAX_DEPTH: u32 = 6;

/// The most items in a file, and columns, fields, limits, rules or roles in one.
const MAX_ITEMS: u8 = 6;
const MAX_PARTS: u8 = 4;

fn span() -> Span {
    Span::default()
}

/// A whole file of any items, with no comments (printing drops them).
pub fn policy_file(u: &mut Unstructured<'_>) -> Result<PolicyFile> {
    let count = u.int_in_range(0..=MAX_ITEMS)?;
    let items = (0..count).map(|_| item(u)).collect::<Result<_>>()?;
    Ok(PolicyFile {
        items,
        comments: Vec::new(),
    })
}

/// An expression up to [`MAX_DEPTH`] levels tall.
pub fn expr(u: &mut Unstructured<'_>) -> Result<Expr> {
    expr::expr(u, MAX_DEPTH)
}

/// An expression up to `depth` levels tall.
pub fn expr_with_depth(u: &mut Unstructured<'_>, depth: u32) -> Result<Expr> {
    expr::expr(u, depth)
}

/// Up to `max` things made by `one`.
fn some<T>(
    u: &mut Unstructured<'_>,
    max: u8,
    mut one: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let count = u.int_in_range(0..=max)?;
    (0..count).map(|_| one(u)).collect()
}

fn maybe<T>(
    u: &mut Unstructured<'_>,
    one: impl FnOnce(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if u.arbitrary()? { Some(one(u)?) } else { None })
}

pub fn item(u: &mut Unstructured<'_>) -> Result<Item> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => Item::Policy(policy(u)?),
        1 => Item::Table(table(u)?),
        2 => Item::Context(context(u)?),
        3 => Item::Tier(TierDecl {
            name: atoms::ident(u)?,
            limits: some(u, MAX_PARTS, limit)?,
            span: span(),
        }),
        4 => Item::Quota(QuotaRules {
            rules: some(u, MAX_PARTS, quota_rule)?,
            span: span(),
        }),
        _ => Item::TenantQuota(TenantQuota {
            tenant: atoms::text(u)?,
            limits: some(u, MAX_PARTS, limit)?,
            span: span(),
        }),
    })
}

fn type_expr(u: &mut Unstructured<'_>) -> Result<TypeExpr> {
    let scalar = *u.choose(&[
        ScalarType::Int,
        ScalarType::Float,
        ScalarType::Bool,
        ScalarType::Text,
        ScalarType::Timestamp,
    ])?;
    Ok(TypeExpr {
        scalar,
        set: u.ratio(1u8, 5)?,
        nullable: u.arbitrary()?,
        span: span(),
    })
}

fn context(u: &mut Unstructured<'_>) -> Result<ContextBlock> {
    let kind = if u.arbitrary()? {
        ContextKind::Tenant
    } else {
        ContextKind::Request
    };
    let fields = some(u, MAX_PARTS, |u| {
        Ok(FieldDecl {
            name: atoms::ident(u)?,
            ty: type_expr(u)?,
            span: span(),
        })
    })?;
    Ok(ContextBlock {
        kind,
        fields,
        span: span(),
    })
}

fn table(u: &mut Unstructured<'_>) -> Result<TableDecl> {
    Ok(TableDecl {
        open: u.ratio(1u8, 4)?,
        name: atoms::table_name(u)?,
        columns: some(u, MAX_PARTS, |u| {
            Ok(ColumnDecl {
                name: atoms::ident(u)?,
                ty: type_expr(u)?,
                preset: maybe(u, |u| expr::expr(u, 2))?,
                span: span(),
            })
        })?,
        span: span(),
    })
}

fn command_spec(u: &mut Unstructured<'_>) -> Result<CommandSpec> {
    if u.ratio(1u8, 3)? {
        return Ok(CommandSpec::All(span()));
    }
    // `for` needs at least one command.
    let count = u.int_in_range(1..=MAX_PARTS)?;
    let list = (0..count)
        .map(|_| Ok((*u.choose(&Command::ALL)?, span())))
        .collect::<Result<_>>()?;
    Ok(CommandSpec::List(list))
}

fn policy(u: &mut Unstructured<'_>) -> Result<PolicyDecl> {
    let mode = maybe(u, |u| {
        let mode = if u.arbitrary()? {
            PolicyMode::Restrictive
        } else {
            PolicyMode::Permissive
        };
        Ok((mode, span()))
    })?;
    let roles = maybe(u, |u| {
        // `to` needs at least one role.
        let count = u.int_in_range(1..=MAX_PARTS)?;
        (0..count).map(|_| atoms::ident(u)).collect::<Result<_>>()
    })?;
    Ok(PolicyDecl {
        name: atoms::ident(u)?,
        table: atoms::table_name(u)?,
        mode,
        commands: maybe(u, command_spec)?,
        roles,
        using: maybe(u, expr)?,
        check: maybe(u, expr)?,
        span: span(),
    })
}

fn limit(u: &mut Unstructured<'_>) -> Result<Limit> {
    let unit = maybe(u, |u| {
        Ok(*u.choose(&[
            SizeUnit::B,
            SizeUnit::Kb,
            SizeUnit::Mb,
            SizeUnit::Gb,
            SizeUnit::Tb,
        ])?)
    })?;
    Ok(Limit {
        name: atoms::ident(u)?,
        value: atoms::int(u)?,
        unit,
        span: span(),
    })
}

fn quota_rule(u: &mut Unstructured<'_>) -> Result<QuotaRule> {
    Ok(QuotaRule {
        tier: atoms::ident(u)?,
        when: maybe(u, expr)?,
        span: span(),
    })
}
