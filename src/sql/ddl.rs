//! Native PostgreSQL DDL for a policy set: each preset as its column's
//! default, `ENABLE` / `FORCE ROW LEVEL SECURITY`, each restrictive policy
//! as its own `CREATE POLICY` (one per command it lists), and for each
//! command one permissive `CREATE POLICY` that ORs the table's permissive
//! policies for it in the order they are written, with context read from
//! `rampart.*` settings and roles folded into the expressions.
//!
//! PostgreSQL ORs the permissive policies of a command itself, so one policy
//! per command means the same as one per `.policy` policy; it is what a
//! careful team writes by hand, and it plans faster (fewer policies to
//! expand) and evaluates the terms in the order the author wrote them, the
//! order of the interpreter and the rewriter, rather than by descending
//! policy name.

use std::fmt::Write;

use sqlparser::ast::{DataType, Ident, ObjectName};

use crate::lang::model::{Policy, PolicySet, TExpr, TExprKind, Table, Value};
use crate::lang::Command;
use crate::policy::combine::{and, not, or, role_guard};
use crate::policy::simplify::can_fail;

use super::emit::{cast, ContextSource, Emitter, Scope};
use super::settings::read_setting;
use super::template::object_name;
use super::{Dialect, EmitError};

/// The whole DDL script, one statement per line group.
pub fn emit_postgres(set: &PolicySet) -> Result<String, EmitError> {
    let known = vec![None; set.context.len()];
    let emitter = Emitter::new(set, Dialect::Postgres, ContextSource::Settings, &known);
    let mut out = String::new();
    for (index, table) in set.tables.iter().enumerate() {
        let name = object_name(&table.name);
        let wrote = preset_defaults(set, table, &name, &emitter, &mut out)?;
        if table.open {
            if wrote {
                out.push('\n');
            }
            continue;
        }
        let _ = writeln!(out, "ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;");
        let _ = writeln!(out, "ALTER TABLE {name} FORCE ROW LEVEL SECURITY;");
        let mut qualifier = Vec::new();
        if let Some(schema) = &table.name.schema {
            qualifier.push(schema.clone());
        }
        qualifier.push(table.name.name.clone());
        let target = Target {
            emitter: &emitter,
            set,
            table: &name,
            table_name: &table.name.name,
            policies: &table.policies,
            scope: Scope::new(index, qualifier),
        };
        for policy in table.policies.iter().filter(|p| !p.permissive) {
            for command in commands_of(policy) {
                out.push_str(&target.restrictive(policy, command)?);
            }
        }
        let permissive: Vec<&Policy> = table.policies.iter().filter(|p| p.permissive).collect();
        out.push_str(&target.permissive(&permissive)?);
        out.push('\n');
    }
    Ok(out)
}

/// Each preset as its column's default (`ALTER TABLE … ALTER COLUMN …
/// SET DEFAULT`), read from the context's settings as the policies read
/// them, so that a native INSERT leaving the column out stores what the
/// rewriter fills in. A default cannot hold a subquery, so the setting is
/// read directly; a preset that is not a context field, a literal or an
/// `int` field for a `float` column is left as a comment. Says whether it
/// wrote anything.
fn preset_defaults(
    set: &PolicySet,
    table: &Table,
    name: &ObjectName,
    emitter: &Emitter<'_>,
    out: &mut String,
) -> Result<bool, EmitError> {
    let mut wrote = false;
    for column in &table.columns {
        let Some(preset) = &column.preset else {
            continue;
        };
        wrote = true;
        let column_name = Ident::with_quote('"', column.name.as_str());
        let value = match &preset.kind {
            TExprKind::Context(i) => set.context.get(*i).map(read_setting),
            TExprKind::IntToFloat(inner) => match &inner.kind {
                TExprKind::Context(i) => set
                    .context
                    .get(*i)
                    .map(|f| cast(read_setting(f), DataType::DoublePrecision)),
                _ => None,
            },
            TExprKind::Literal(value) => Some(emitter.literal(value)?),
            _ => None,
        };
        match value {
            Some(value) => {
                let _ = writeln!(
                    out,
                    "ALTER TABLE {name} ALTER COLUMN {column_name} SET DEFAULT {value};"
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "-- the preset of {name}.{column_name} is not set as a default: only a \
                     context field or a literal is"
                );
            }
        }
    }
    Ok(wrote)
}

/// `for all` stays one policy; a list becomes one policy per command.
fn commands_of(policy: &Policy) -> Vec<Option<Command>> {
    if policy.commands.len() == Command::ALL.len() {
        vec![None]
    } else {
        policy.commands.iter().copied().map(Some).collect()
    }
}

/// What every policy of one table is emitted with.
struct Target<'a> {
    emitter: &'a Emitter<'a>,
    set: &'a PolicySet,
    table: &'a ObjectName,
    /// The table's own name, unquoted, for merged policies' names.
    table_name: &'a str,
    /// All the table's policies, whose names a merged one must not take.
    policies: &'a [Policy],
    scope: Scope,
}

/// The clauses of one emitted policy, still as typed expressions.
#[derive(Default)]
struct Clauses {
    using: Option<TExpr>,
    check: Option<TExpr>,
}

impl Target<'_> {
    /// `CREATE POLICY` for one restrictive policy and command (`None`: all).
    fn restrictive(&self, policy: &Policy, command: Option<Command>) -> Result<String, EmitError> {
        let name = match (command, policy.commands.len()) {
            (Some(c), n) if n > 1 => format!("{}__{}", policy.name, c.keyword()),
            _ => policy.name.clone(),
        };
        let guard = role_guard(self.set, policy);
        // A restrictive policy limited to roles binds only those roles:
        // `not g or e`, and `not g or true` is `true`, nulls included.
        let guarded = |e: &TExpr| -> TExpr {
            match &guard {
                Some(g) if !is_true(e) => or(not(g.clone()), e.clone()),
                _ => e.clone(),
            }
        };
        let takes_using = command != Some(Command::Insert);
        let takes_check = !matches!(command, Some(Command::Select | Command::Delete));
        let mut clauses = Clauses::default();
        if takes_using {
            clauses.using = policy.using.as_ref().map(guarded);
        }
        if takes_check {
            clauses.check = match (&policy.check, command) {
                (Some(check), _) => Some(guarded(check)),
                // An insert-only policy split from a list keeps the list's
                // `using` as its check, as PostgreSQL would for the combined
                // policy.
                (None, Some(Command::Insert)) => policy.using.as_ref().map(guarded),
                (None, _) => None,
            };
        }
        self.create(&name, "RESTRICTIVE", command, &clauses, None)
    }

    /// The permissive policies of the table, one `CREATE POLICY` per
    /// command that any of them meets: the OR of their terms in the order
    /// written (each a policy's clause, guarded by its roles). A command
    /// none of them meets gets none (PostgreSQL's default deny).
    ///
    /// Where a single `for all` policy is the only one for every command it
    /// stays one `FOR ALL` policy under its name; where a single policy is
    /// the only one for a command it keeps its name (with `__<command>` when
    /// it lists several); several are merged under `<table>__<command>`,
    /// with a comment naming them.
    fn permissive(&self, policies: &[&Policy]) -> Result<String, EmitError> {
        if let [only] = policies {
            if only.commands.len() == Command::ALL.len() {
                let clauses = Clauses {
                    using: only.using.as_ref().map(|e| self.permissive_term(only, e)),
                    check: only.check.as_ref().map(|e| self.permissive_term(only, e)),
                };
                return self.create(&only.name, "PERMISSIVE", None, &clauses, None);
            }
        }
        let mut out = String::new();
        for command in Command::ALL {
            let meeting: Vec<&Policy> = policies
                .iter()
                .copied()
                .filter(|p| p.applies_to(command))
                .collect();
            let name = match meeting.as_slice() {
                [] => continue,
                [only] if only.commands.len() == 1 => only.name.clone(),
                [only] => format!("{}__{}", only.name, command.keyword()),
                _ => self.merged_name(command),
            };
            let (mut using, mut check) = (Vec::new(), Vec::new());
            for policy in &meeting {
                let (u, c) = self.terms(policy, command);
                using.extend(u);
                check.extend(c);
            }
            let clauses = Clauses {
                using: any_of(using),
                check: any_of(check),
            };
            if clauses.using.is_none() && clauses.check.is_none() {
                // Nothing to OR: the same as no policy, default deny.
                continue;
            }
            let comment = (meeting.len() > 1).then(|| {
                let names: Vec<String> = meeting
                    .iter()
                    .map(|p| Ident::with_quote('"', p.name.as_str()).to_string())
                    .collect();
                format!(
                    "-- {} on {}: {}\n",
                    command.keyword(),
                    self.table,
                    names.join(" or ")
                )
            });
            out.push_str(&self.create(
                &name,
                "PERMISSIVE",
                Some(command),
                &clauses,
                comment.as_deref(),
            )?);
        }
        Ok(out)
    }

    /// One permissive policy's `using` and `check` terms for `command`, as
    /// PostgreSQL takes them: `using` for every command but INSERT; for
    /// INSERT and UPDATE the `check`, or the `using` where it has none.
    fn terms(&self, policy: &Policy, command: Command) -> (Option<TExpr>, Option<TExpr>) {
        let term = |e: &TExpr| self.permissive_term(policy, e);
        let using = match command {
            Command::Insert => None,
            _ => policy.using.as_ref().map(term),
        };
        let check = match command {
            Command::Insert | Command::Update => {
                policy.check.as_ref().or(policy.using.as_ref()).map(term)
            }
            Command::Select | Command::Delete => None,
        };
        (using, check)
    }

    /// A permissive policy's clause guarded by its roles: `g and e`, and
    /// `g and true` is `g`.
    fn permissive_term(&self, policy: &Policy, e: &TExpr) -> TExpr {
        match role_guard(self.set, policy) {
            None => e.clone(),
            Some(g) if is_true(e) => g,
            Some(g) => and(g, e.clone()),
        }
    }

    /// `<table>__<command>`, made unique among the names the table's
    /// policies are emitted under (`name`, or `name__<command>` for one
    /// listing several commands).
    fn merged_name(&self, command: Command) -> String {
        let taken = |name: &str| {
            self.policies.iter().any(|p| {
                p.name == name
                    || (p.commands.len() > 1
                        && p.commands.iter().any(|c| {
                            name.strip_prefix(p.name.as_str())
                                == Some(&format!("__{}", c.keyword()))
                        }))
            })
        };
        let mut name = format!("{}__{}", self.table_name, command.keyword());
        while taken(&name) {
            name.push('_');
        }
        name
    }

    /// The `CREATE POLICY` statement, with an optional comment before it.
    fn create(
        &self,
        name: &str,
        kind: &str,
        command: Option<Command>,
        clauses: &Clauses,
        comment: Option<&str>,
    ) -> Result<String, EmitError> {
        let mut out = comment.unwrap_or_default().to_string();
        let _ = write!(
            out,
            "CREATE POLICY {} ON {} AS {kind} FOR {} TO PUBLIC",
            Ident::with_quote('"', name),
            self.table,
            command.map_or("ALL".to_string(), |c| c.keyword().to_uppercase()),
        );
        if let Some(using) = &clauses.using {
            let _ = write!(
                out,
                "\n  USING ({})",
                self.emitter.expr(using, &self.scope)?
            );
        }
        if let Some(check) = &clauses.check {
            let _ = write!(
                out,
                "\n  WITH CHECK ({})",
                self.emitter.expr(check, &self.scope)?
            );
        }
        out.push_str(";\n");
        Ok(out)
    }
}

/// The OR of `terms`, cheapest first where that cannot change the answer.
///
/// PostgreSQL evaluates an OR left to right and stops at the first true term,
/// so where no term can raise an error (`can_fail`) their order changes only
/// the time taken: terms reading no column (a role test, an init plan run
/// once per statement) go first, then those reading the row, then those with
/// `exists`. Where some term can fail, the order written is kept, as the
/// interpreter and the rewriter evaluate it.
fn any_of(mut terms: Vec<TExpr>) -> Option<TExpr> {
    if !terms.iter().any(can_fail) {
        terms.sort_by_key(cost);
    }
    terms.into_iter().reduce(or)
}

/// 0: reads no column of any table; 1: reads the row; 2: runs a subquery.
fn cost(e: &TExpr) -> u8 {
    let here = match &e.kind {
        TExprKind::Exists { .. } => 2,
        TExprKind::Column(_) | TExprKind::ExistsColumn { .. } => 1,
        _ => 0,
    };
    e.kind.children().into_iter().map(cost).fold(here, u8::max)
}

fn is_true(e: &TExpr) -> bool {
    e.kind == TExprKind::Literal(Value::Bool(true))
}
