//! PostgreSQL's row-level security, read straight from its documentation and
//! written separately from `rampart::policy::combine`: evaluate each policy on
//! its own, then decide. The `combine` target holds the two to agreement.

use rampart::lang::model::{Policy, PolicySet, Value};
use rampart::lang::Command;
use rampart::policy::combine::Clause;
use rampart::policy::interp::{evaluate, Env};
use rampart::policy::{specialise, EvalError, OnFail, RowImage, StatementKind};

/// Whether `policy` applies to a request with these context values: its
/// `for` names the command and its `to` (if any) names a role the request has.
fn applies(set: &PolicySet, policy: &Policy, command: Command, context: &[Value]) -> bool {
    if !policy.commands.iter().any(|c| *c == command) {
        return false;
    }
    let Some(wanted) = &policy.roles else {
        return true; // PUBLIC
    };
    let roles = set
        .context
        .iter()
        .position(|f| f.name == "roles")
        .and_then(|i| context.get(i));
    match roles {
        Some(Value::TextSet(have)) => wanted.iter().any(|r| have.contains(r)),
        // No roles (or a null set): no role matches.
        _ => false,
    }
}

/// The expression a policy contributes for `clause`: `check`, else `using`.
fn clause_expr(policy: &Policy, clause: Clause) -> Option<&rampart::lang::model::TExpr> {
    match clause {
        Clause::Using => policy.using.as_ref(),
        Clause::Check => policy.check.as_ref().or(policy.using.as_ref()),
    }
}

/// Whether the row passes `table`'s policies for `command` and `clause`:
/// `Ok` when every applicable policy evaluated, else the errors met. Each
/// policy is specialised on the `known` context first, as the rewriter's
/// literals let PostgreSQL's planner fold them.
pub fn decide(
    set: &PolicySet,
    table: usize,
    command: Command,
    clause: Clause,
    env: &Env<'_>,
    known: &[Option<Value>],
) -> Result<bool, Vec<EvalError>> {
    let t = &set.tables[table];
    if t.open {
        return Ok(true);
    }
    let mut any_permissive = false;
    let mut all_restrictive = true;
    let mut errors = Vec::new();
    for policy in &t.policies {
        if !applies(set, policy, command, env.context) {
            continue;
        }
        let Some(expr) = clause_expr(policy, clause) else {
            continue;
        };
        let pass = match specialise(expr, known).and_then(|e| evaluate(&e, env)) {
            Ok(v) => v == Value::Bool(true),
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if policy.permissive {
            any_permissive |= pass;
        } else {
            all_restrictive &= pass;
        }
    }
    if errors.is_empty() {
        Ok(any_permissive && all_restrictive)
    } else {
        Err(errors)
    }
}

/// The cells of PostgreSQL 15's "Policies Applied by Command Type" a
/// statement meets: row image, what failing does, whose policies, which clause.
pub fn cells(kind: StatementKind, reads: bool) -> Vec<(RowImage, OnFail, Command, Clause)> {
    use Clause::{Check, Using};
    use Command::{Delete, Insert, Select, Update};
    use OnFail::{Error, Hide};
    use RowImage::{Existing, Inserted, Updated};
    let mut out = Vec::new();
    match kind {
        StatementKind::Select => out.push((Existing, Hide, Select, Using)),
        StatementKind::SelectForUpdate => {
            out.push((Existing, Hide, Select, Using));
            out.push((Existing, Hide, Update, Using));
        }
        StatementKind::Insert => {
            out.push((Inserted, Error, Insert, Check));
            if reads {
                out.push((Inserted, Error, Select, Using));
            }
        }
        StatementKind::Update => {
            out.push((Existing, Hide, Update, Using));
            out.push((Updated, Error, Update, Check));
            if reads {
                out.push((Existing, Hide, Select, Using));
                out.push((Updated, Error, Select, Using));
            }
        }
        StatementKind::Delete => {
            out.push((Existing, Hide, Delete, Using));
            if reads {
                out.push((Existing, Hide, Select, Using));
            }
        }
        StatementKind::InsertOnConflictUpdate => {
            // The conflict target is read, so SELECT rights are always needed.
            out.push((Inserted, Error, Insert, Check));
            out.push((Inserted, Error, Select, Using));
            out.push((Existing, Error, Update, Using));
            out.push((Existing, Error, Select, Using));
            out.push((Updated, Error, Update, Check));
            out.push((Updated, Error, Select, Using));
        }
    }
    out
}
