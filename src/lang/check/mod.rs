//! The checker: resolves names and types every expression of a merged set of
//! parsed files, producing a `model::PolicySet` and every diagnostic at once.

mod declare;
mod expr;
mod operators;
mod policy;
mod quota;
mod recursion;
mod suggest;

use super::ast::{Item, PolicyFile};
use super::diag::Diagnostic;
use super::model::PolicySet;

/// What checking a policy set found.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The checked set: `Some` exactly when no diagnostic is an error.
    pub set: Option<PolicySet>,
    /// Errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks the files of one policy set, merged in the order given.
pub fn check(files: &[PolicyFile]) -> Checked {
    let items: Vec<&Item> = files.iter().flat_map(|f| &f.items).collect();
    let mut diagnostics = Vec::new();
    let mut set = PolicySet::default();

    declare::context(&items, &mut set, &mut diagnostics);
    let tables = declare::tables(&items, &mut set, &mut diagnostics);
    declare::presets(&tables, &mut set, &mut diagnostics);
    let policies = policy::policies(&items, &set, &mut diagnostics);
    recursion::check(&set, &policies, &mut diagnostics);
    for (table, policy) in policies {
        if let Some(t) = set.tables.get_mut(table) {
            t.policies.push(policy);
        }
    }
    policy::coverage(&set, &tables, &mut diagnostics);
    quota::quotas(&items, &mut set, &mut diagnostics);

    diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    Checked {
        set: (!failed).then_some(set),
        diagnostics,
    }
}
