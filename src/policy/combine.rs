//! Which policies meet a command and how they combine, exactly as PostgreSQL
//! 15's row-level security: permissive OR-ed, restrictive AND-ed onto them,
//! default deny, `check` falling back to `using`, roles folded in as guards.

use crate::lang::model::{Policy, PolicySet, TExpr, TExprKind, Ty, Value};
use crate::lang::{BinaryOp, Command, Span};

/// Which clause of the policies is combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clause {
    /// `using`: filters existing rows.
    Using,
    /// `check` (or `using` where a policy has no `check`): admits new rows.
    Check,
}

/// One policy's part in a combined predicate, for `explain`.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub policy: String,
    pub permissive: bool,
    /// The roles it is limited to, if any (folded in as a guard).
    pub roles: Option<Vec<String>>,
}

/// A combined predicate for one table × command × clause.
#[derive(Clone, Debug, PartialEq)]
pub struct Combined {
    pub expr: TExpr,
    pub applied: Vec<Applied>,
    /// Policies of the table that did not take part, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Combines the policies of `table` for `command` (symbolically: a policy with
/// `to` roles is guarded by a membership test on the context's `roles`).
pub fn combine(set: &PolicySet, table: usize, command: Command, clause: Clause) -> Combined {
    let Some(t) = set.tables.get(table) else {
        return Combined {
            expr: boolean(false),
            applied: Vec::new(),
            skipped: Vec::new(),
        };
    };
    if t.open {
        return Combined {
            expr: boolean(true),
            applied: Vec::new(),
            skipped: Vec::new(),
        };
    }
    let mut permissive: Option<TExpr> = None;
    let mut restrictive: Option<TExpr> = None;
    let mut applied = Vec::new();
    let mut skipped = Vec::new();
    for policy in &t.policies {
        if !policy.applies_to(command) {
            let fors: Vec<&str> = policy.commands.iter().map(|c| c.keyword()).collect();
            skipped.push((
                policy.name.clone(),
                format!("for {}, not {command}", fors.join(", ")),
            ));
            continue;
        }
        let Some(body) = clause_of(policy, clause) else {
            skipped.push((
                policy.name.clone(),
                format!(
                    "has no {}",
                    if clause == Clause::Using {
                        "`using`"
                    } else {
                        "`check` or `using`"
                    }
                ),
            ));
            continue;
        };
        let guard = role_guard(set, policy);
        applied.push(Applied {
            policy: policy.name.clone(),
            permissive: policy.permissive,
            roles: policy.roles.clone(),
        });
        if policy.permissive {
            let term = match guard {
                Some(g) => and(g, body.clone()),
                None => body.clone(),
            };
            permissive = Some(match permissive {
                Some(acc) => or(acc, term),
                None => term,
            });
        } else {
            let term = match guard {
                Some(g) => or(not(g), body.clone()),
                None => body.clone(),
            };
            restrictive = Some(match restrictive {
                Some(acc) => and(acc, term),
                None => term,
            });
        }
    }
    // With no permissive policy, nothing is admitted (PostgreSQL's default deny).
    let base = permissive.unwrap_or_else(|| boolean(false));
    let expr = match restrictive {
        Some(r) => and(base, r),
        None => base,
    };
    Combined {
        expr,
        applied,
        skipped,
    }
}

fn clause_of(policy: &Policy, clause: Clause) -> Option<&TExpr> {
    match clause {
        Clause::Using => policy.using.as_ref(),
        Clause::Check => policy.check.as_ref().or(policy.using.as_ref()),
    }
}

/// `'r1' in roles or 'r2' in roles …` for a policy with `to r1, r2`
/// (after `roles is not null and` when `roles` is nullable).
pub fn role_guard(set: &PolicySet, policy: &Policy) -> Option<TExpr> {
    let roles = policy.roles.as_ref()?;
    let Some(field) = set.roles_field() else {
        // The checker refuses `to` without `roles`; deny rather than guess.
        return Some(boolean(false));
    };
    let roles_value = || TExpr {
        kind: TExprKind::Context(field),
        ty: Ty::TextSet,
        span: Span::default(),
    };
    let mut guard: Option<TExpr> = None;
    for role in roles {
        let test = TExpr {
            kind: TExprKind::InSet {
                expr: Box::new(literal(Value::Text(role.clone()), Ty::Text)),
                set: Box::new(roles_value()),
                negated: false,
            },
            ty: Ty::Bool,
            span: Span::default(),
        };
        guard = Some(match guard {
            Some(g) => or(g, test),
            None => test,
        });
    }
    let guard = guard.unwrap_or_else(|| boolean(false));
    // A null `roles` holds no role: the guard is false, never null (a null
    // guard would make a restrictive policy deny instead of not applying).
    let nullable = set.context.get(field).is_some_and(|f| f.ty.nullable);
    Some(if nullable {
        let present = TExpr {
            kind: TExprKind::IsNull {
                expr: Box::new(roles_value()),
                negated: true,
            },
            ty: Ty::Bool,
            span: Span::default(),
        };
        and(present, guard)
    } else {
        guard
    })
}

/// The statement shapes of PostgreSQL's "Policies Applied by Command Type".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatementKind {
    Select,
    /// `SELECT … FOR UPDATE / FOR SHARE`
    SelectForUpdate,
    Insert,
    Update,
    Delete,
    /// `INSERT … ON CONFLICT DO UPDATE`
    InsertOnConflictUpdate,
}

/// Which row a condition is tested on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowImage {
    /// A row already in the table (before UPDATE / DELETE; the conflicting row).
    Existing,
    /// A row as it would be inserted, defaults and presets filled in.
    Inserted,
    /// A row as an UPDATE (or ON CONFLICT DO UPDATE) would leave it.
    Updated,
}

/// What happens to a row that fails a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnFail {
    /// The row is silently invisible.
    Hide,
    /// The statement fails with 42501 and changes nothing.
    Error,
}

/// One condition a statement must apply to its target table.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub image: RowImage,
    pub on_fail: OnFail,
    /// Whose policies: e.g. SELECT `using` on an updated row.
    pub command: Command,
    pub clause: Clause,
    pub combined: Combined,
}

/// The conditions PostgreSQL applies to the target table of a statement;
/// `reads` is whether the statement reads the table's columns (a `WHERE`
/// naming them, a `SET` reading them, `RETURNING`, an `ON CONFLICT` target).
pub fn conditions(
    set: &PolicySet,
    table: usize,
    kind: StatementKind,
    reads: bool,
) -> Vec<Condition> {
    use Clause::{Check, Using};
    use OnFail::{Error, Hide};
    use RowImage::{Existing, Inserted, Updated};
    let cell = |image, on_fail, command, clause| Condition {
        image,
        on_fail,
        command,
        clause,
        combined: combine(set, table, command, clause),
    };
    let mut out = Vec::new();
    match kind {
        StatementKind::Select => out.push(cell(Existing, Hide, Command::Select, Using)),
        StatementKind::SelectForUpdate => {
            out.push(cell(Existing, Hide, Command::Select, Using));
            out.push(cell(Existing, Hide, Command::Update, Using));
        }
        StatementKind::Insert => {
            out.push(cell(Inserted, Error, Command::Insert, Check));
            if reads {
                out.push(cell(Inserted, Error, Command::Select, Using));
            }
        }
        StatementKind::Update => {
            out.push(cell(Existing, Hide, Command::Update, Using));
            if reads {
                out.push(cell(Existing, Hide, Command::Select, Using));
            }
            out.push(cell(Updated, Error, Command::Update, Check));
            if reads {
                out.push(cell(Updated, Error, Command::Select, Using));
            }
        }
        StatementKind::Delete => {
            out.push(cell(Existing, Hide, Command::Delete, Using));
            if reads {
                out.push(cell(Existing, Hide, Command::Select, Using));
            }
        }
        StatementKind::InsertOnConflictUpdate => {
            out.push(cell(Inserted, Error, Command::Insert, Check));
            out.push(cell(Inserted, Error, Command::Select, Using));
            out.push(cell(Existing, Error, Command::Update, Using));
            out.push(cell(Existing, Error, Command::Select, Using));
            out.push(cell(Updated, Error, Command::Update, Check));
            out.push(cell(Updated, Error, Command::Select, Using));
        }
    }
    out
}

// ---------------------------------------------------------------- builders

pub fn literal(value: Value, ty: Ty) -> TExpr {
    TExpr {
        kind: TExprKind::Literal(value),
        ty,
        span: Span::default(),
    }
}

pub fn boolean(b: bool) -> TExpr {
    literal(Value::Bool(b), Ty::Bool)
}

pub fn and(a: TExpr, b: TExpr) -> TExpr {
    TExpr {
        kind: TExprKind::Binary(BinaryOp::And, Box::new(a), Box::new(b)),
        ty: Ty::Bool,
        span: Span::default(),
    }
}

pub fn or(a: TExpr, b: TExpr) -> TExpr {
    TExpr {
        kind: TExprKind::Binary(BinaryOp::Or, Box::new(a), Box::new(b)),
        ty: Ty::Bool,
        span: Span::default(),
    }
}

pub fn not(a: TExpr) -> TExpr {
    TExpr {
        kind: TExprKind::Not(Box::new(a)),
        ty: Ty::Bool,
        span: Span::default(),
    }
}
