//! A policy subquery placed in a statement (`table.rs`), a fence: what it
//! is and how the rewriter's walks tell it among the statement's table
//! references. It is placed as its printed text (`printed.rs`) and holds
//! its tree only once a condition is moved into it (`pushdown.rs`).

use std::sync::Arc;

use sqlparser::ast::{ObjectNamePart, Query, TableAlias, TableFactor};

use super::tenant::ReadText;

/// A policy subquery the rewriter placed: where it is ([`fence_id`]), its
/// table and whether the read locks rows (together, its key in the
/// `PolicyCache`), its text, and whether its tree was lent to the
/// statement (a condition was moved into it; `lend.rs` takes it back).
#[derive(Clone, Debug)]
pub struct Fence {
    pub id: *const u8,
    pub table: usize,
    pub locked: bool,
    pub text: Arc<ReadText>,
    pub lent: bool,
}

/// What tells a placed policy subquery in a statement: the address of its
/// text (a printed node, `printed::raw_table`), or of its `Query` once its
/// tree is lent. Neither moves while the statement is rewritten, and no
/// two live ones are the same.
pub(super) fn fence_id(factor: &TableFactor) -> Option<*const u8> {
    match factor {
        TableFactor::Derived { subquery, .. } => {
            Some(std::ptr::from_ref::<Query>(subquery).cast::<u8>())
        }
        TableFactor::Table { name, .. } => match name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)]
                if ident.quote_style.is_none() && !ident.value.is_empty() =>
            {
                Some(ident.value.as_ptr())
            }
            _ => None,
        },
        _ => None,
    }
}

/// The fence among `fences` that `factor` is, and its alias: only where
/// the factor is as placed (an alias without column names, not LATERAL).
pub(super) fn find_fence<'f, 'a>(
    fences: &'f [Fence],
    factor: &'a TableFactor,
) -> Option<(&'f Fence, &'a TableAlias)> {
    let alias = match factor {
        TableFactor::Derived {
            alias: Some(alias),
            lateral: false,
            ..
        }
        | TableFactor::Table {
            alias: Some(alias), ..
        } if alias.columns.is_empty() => alias,
        _ => return None,
    };
    let id = fence_id(factor)?;
    fences.iter().find(|f| f.id == id).map(|f| (f, alias))
}
