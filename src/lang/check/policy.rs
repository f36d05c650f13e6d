//! Policies: their table, commands, roles and clauses; and the warning for a
//! table that some command can never reach (no permissive policy for it).

use super::declare::{resolve_table, DeclaredTable};
use super::expr::{ExprChecker, Place};
use crate::lang::ast::{Command, CommandSpec, Item, PolicyDecl, PolicyMode, Span};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{Policy, PolicySet, Ty};

/// Checks every policy; returns the accepted ones with their table's index.
pub fn policies(
    items: &[&Item],
    set: &PolicySet,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(usize, Policy)> {
    let mut accepted: Vec<(usize, Policy)> = Vec::new();
    // `(table, name, span of the name)` of the accepted policies.
    let mut names: Vec<(usize, &str, Span)> = Vec::new();
    for item in items {
        let Item::Policy(decl) = item else { continue };
        let table = match resolve_table(set, &decl.table) {
            Ok(index) => Some(index),
            Err(diagnostic) => {
                diags.push(diagnostic);
                None
            }
        };
        let mut keep = table.is_some();
        if let Some(t) = table.and_then(|t| set.tables.get(t)).filter(|t| t.open) {
            keep = false;
            diags.push(
                Diagnostic::error(
                    decl.table.span,
                    format!(
                        "policy `{}` is on open table `{}`: open tables are not filtered",
                        decl.name.name, t.name
                    ),
                )
                .with_note("help: remove `open` from the table to filter it by its policies"),
            );
        }
        if let Some(&(_, _, first)) = names
            .iter()
            .find(|(t, n, _)| Some(*t) == table && *n == decl.name.name)
        {
            keep = false;
            diags.push(
                Diagnostic::error(
                    decl.name.span,
                    format!(
                        "policy `{}` is declared twice on table `{}`",
                        decl.name.name,
                        decl.table.qualified()
                    ),
                )
                .with_related(first, "first declared here"),
            );
        }
        let policy = policy(decl, table, set, diags);
        if let (true, Some(table)) = (keep, table) {
            names.push((table, &decl.name.name, decl.name.span));
            accepted.push((table, policy));
        }
    }
    accepted
}

fn policy(
    decl: &PolicyDecl,
    table: Option<usize>,
    set: &PolicySet,
    diags: &mut Vec<Diagnostic>,
) -> Policy {
    let commands = commands(decl, diags);
    roles(decl, set, diags);
    let reads_rows = commands
        .iter()
        .any(|c| matches!(c, Command::Select | Command::Update | Command::Delete));
    let writes_rows = commands
        .iter()
        .any(|c| matches!(c, Command::Insert | Command::Update));
    if let (Some(using), false) = (&decl.using, reads_rows) {
        diags.push(
            Diagnostic::error(
                using.span,
                "`using` does not apply to a policy for `insert` alone: new rows are admitted by `check`",
            )
            .with_note("help: write the condition as `check …`"),
        );
    }
    if let (Some(check), false) = (&decl.check, writes_rows) {
        let list: Vec<String> = commands.iter().map(|c| format!("`{c}`")).collect();
        diags.push(
            Diagnostic::error(
                check.span,
                format!(
                    "`check` does not apply to a policy for {}: it admits new rows, for `insert` and `update`",
                    list.join(", ")
                ),
            )
            .with_note("help: existing rows are filtered by `using …`"),
        );
    }
    if decl.using.is_none() && decl.check.is_none() {
        let effect = match decl.mode() {
            PolicyMode::Permissive => "it grants nothing",
            PolicyMode::Restrictive => "it restricts nothing",
        };
        diags.push(Diagnostic::warning(
            decl.name.span,
            format!(
                "policy `{}` has neither `using` nor `check`: {effect}",
                decl.name.name
            ),
        ));
    }
    let mut checker = ExprChecker::new(set, diags, Place::Policy { table });
    let using = decl
        .using
        .as_ref()
        .and_then(|e| checker.condition(e, "using"));
    let check = decl
        .check
        .as_ref()
        .and_then(|e| checker.condition(e, "check"));
    Policy {
        name: decl.name.name.clone(),
        permissive: decl.mode() == PolicyMode::Permissive,
        commands,
        roles: decl
            .roles
            .as_ref()
            .map(|roles| roles.iter().map(|r| r.name.clone()).collect()),
        using,
        check,
        span: decl.span,
    }
}

/// The commands of `for …`, in canonical order; `for all` or none is all four.
fn commands(decl: &PolicyDecl, diags: &mut Vec<Diagnostic>) -> Vec<Command> {
    let Some(CommandSpec::List(list)) = &decl.commands else {
        return Command::ALL.to_vec();
    };
    let mut commands: Vec<Command> = Vec::new();
    for &(command, span) in list {
        if commands.contains(&command) {
            diags.push(Diagnostic::warning(
                span,
                format!("command `{command}` is listed twice"),
            ));
        } else {
            commands.push(command);
        }
    }
    commands.sort_unstable();
    commands
}

/// `to …` needs the context field `roles`, a `set<text>`, in one block.
fn roles(decl: &PolicyDecl, set: &PolicySet, diags: &mut Vec<Diagnostic>) {
    let Some(roles) = &decl.roles else { return };
    let span = match (roles.first(), roles.last()) {
        (Some(first), Some(last)) => first.span.to(last.span),
        _ => decl.span,
    };
    let fields: Vec<_> = set.context.iter().filter(|f| f.name == "roles").collect();
    match fields.as_slice() {
        [] => diags.push(
            Diagnostic::error(
                span,
                "`to` needs a context field `roles` of type `set<text>`, and none is declared",
            )
            .with_note("help: declare `roles: set<text>` in `context request { … }`"),
        ),
        [field] if field.ty.ty == Ty::TextSet => {}
        [field] => diags.push(
            Diagnostic::error(
                span,
                format!(
                    "`to` needs the context field `{}` to be `set<text>`, but it is `{}`",
                    field.path(),
                    field.ty
                ),
            )
            .with_related(field.span, "declared here"),
        ),
        [first, second, ..] => diags.push(
            Diagnostic::error(
                span,
                format!(
                    "`to` reads the context field `roles`, but both `{}` and `{}` are declared",
                    first.path(),
                    second.path()
                ),
            )
            .with_note("help: declare `roles` in one context block only"),
        ),
    }
}

/// Warns, once per table, about commands no permissive policy admits rows for.
pub fn coverage(set: &PolicySet, tables: &[DeclaredTable<'_>], diags: &mut Vec<Diagnostic>) {
    for declared in tables {
        let Some(table) = set.tables.get(declared.index) else {
            continue;
        };
        if table.open {
            continue;
        }
        let denied: Vec<String> = Command::ALL
            .into_iter()
            .filter(|&c| {
                !table
                    .policies
                    .iter()
                    .any(|p| p.permissive && p.applies_to(c))
            })
            .map(|c| format!("`{c}`"))
            .collect();
        let what = match denied.len() {
            0 => continue,
            1 => "that command is",
            _ => "those commands are",
        };
        diags.push(Diagnostic::warning(
            declared.decl.name.span,
            format!(
                "table `{}` has no permissive policy for {}: {what} denied for every row",
                table.name,
                denied.join(", ")
            ),
        ));
    }
}
