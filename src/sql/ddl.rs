//! Native PostgreSQL DDL for a policy set: `ENABLE` / `FORCE ROW LEVEL
//! SECURITY` and one `CREATE POLICY` per policy and command, with context
//! read from `rampart.*` settings and roles folded into the expressions.

use std::fmt::Write;

use sqlparser::ast::Ident;

use crate::lang::model::{Policy, PolicySet, TExpr, TExprKind, Value};
use crate::lang::Command;
use crate::policy::combine::{and, not, or, role_guard};

use super::emit::{ContextSource, Emitter, Scope};
use super::template::object_name;
use super::{Dialect, EmitError};

/// The whole DDL script, one statement per line group.
pub fn emit_postgres(set: &PolicySet) -> Result<String, EmitError> {
    let known = vec![None; set.context.len()];
    let emitter = Emitter::new(set, Dialect::Postgres, ContextSource::Settings, &known);
    let mut out = String::new();
    for (index, table) in set.tables.iter().enumerate() {
        if table.open {
            continue;
        }
        let name = object_name(&table.name);
        let _ = writeln!(out, "ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;");
        let _ = writeln!(out, "ALTER TABLE {name} FORCE ROW LEVEL SECURITY;");
        let mut qualifier = Vec::new();
        if let Some(schema) = &table.name.schema {
            qualifier.push(schema.clone());
        }
        qualifier.push(table.name.name.clone());
        let scope = Scope::new(index, qualifier);
        for policy in &table.policies {
            for command in commands_of(policy) {
                out.push_str(&create_policy(
                    &emitter, set, &name, policy, command, &scope,
                )?);
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// `for all` stays one policy; a list becomes one policy per command.
fn commands_of(policy: &Policy) -> Vec<Option<Command>> {
    if policy.commands.len() == Command::ALL.len() {
        vec![None]
    } else {
        policy.commands.iter().copied().map(Some).collect()
    }
}

fn create_policy(
    emitter: &Emitter<'_>,
    set: &PolicySet,
    table: &sqlparser::ast::ObjectName,
    policy: &Policy,
    command: Option<Command>,
    scope: &Scope,
) -> Result<String, EmitError> {
    let name = match (command, policy.commands.len()) {
        (Some(c), n) if n > 1 => format!("{}__{}", policy.name, c.keyword()),
        _ => policy.name.clone(),
    };
    let mut out = format!(
        "CREATE POLICY {} ON {table} AS {} FOR {} TO PUBLIC",
        Ident::with_quote('"', name.as_str()),
        if policy.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        command.map_or("ALL".to_string(), |c| c.keyword().to_uppercase()),
    );
    let guard = role_guard(set, policy);
    // `g and true` is `g` and `not g or true` is `true`, nulls included.
    let guarded = |e: &TExpr| -> TExpr {
        match &guard {
            None => e.clone(),
            Some(_) if e.kind == TExprKind::Literal(Value::Bool(true)) && !policy.permissive => {
                e.clone()
            }
            Some(g) if e.kind == TExprKind::Literal(Value::Bool(true)) => g.clone(),
            Some(g) if policy.permissive => and(g.clone(), e.clone()),
            Some(g) => or(not(g.clone()), e.clone()),
        }
    };
    let takes_using = command != Some(Command::Insert);
    let takes_check = !matches!(command, Some(Command::Select | Command::Delete));
    if let (true, Some(using)) = (takes_using, &policy.using) {
        let _ = write!(out, "\n  USING ({})", emitter.expr(&guarded(using), scope)?);
    }
    if let (true, Some(check)) = (takes_check, &policy.check) {
        let _ = write!(
            out,
            "\n  WITH CHECK ({})",
            emitter.expr(&guarded(check), scope)?
        );
    } else if let (true, Some(Command::Insert), Some(using)) = (takes_check, command, &policy.using)
    {
        // An insert-only policy split from a list keeps the list's `using` as its check,
        // as PostgreSQL would for the combined policy.
        let _ = write!(
            out,
            "\n  WITH CHECK ({})",
            emitter.expr(&guarded(using), scope)?
        );
    }
    out.push_str(";\n");
    Ok(out)
}
