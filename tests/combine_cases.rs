//! Policy combination as data: each `tests/policy/combine/*.policy` names a
//! table and a context (`#% table:`, `#% context:`); the snapshot shows what
//! every command combines to, symbolically and specialised, and each statement's conditions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write;
use std::path::Path;

use rampart::lang::model::{PolicySet, TExpr, Value};
use rampart::lang::{check, parse_file, Command, ContextKind, SourceMap};
use rampart::policy::combine::{Clause, Combined};
use rampart::policy::context::context_from_json;
use rampart::policy::print::to_text;
use rampart::policy::{combine, conditions, specialise, StatementKind};

/// The directives of a case: `#% key: value` lines.
fn directive<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix("#% ")?.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("case has no `#% {key}:` line"))
}

fn load(path: &Path) -> (PolicySet, String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut map = SourceMap::new();
    let id = map.add(path.display().to_string(), text.clone());
    let file = parse_file(id, &text)
        .unwrap_or_else(|e| panic!("{} does not parse:\n{}", path.display(), map.render(&e)));
    let checked = check(&[file]);
    let Some(set) = checked.set else {
        panic!(
            "{} does not check:\n{}",
            path.display(),
            map.render(&checked.diagnostics)
        );
    };
    let table = directive(&text, "table").to_string();
    let context = directive(&text, "context").to_string();
    (set, table, context)
}

/// Known context values: the tenant's only, or the whole context.
fn known(set: &PolicySet, values: &[Value], tenant_only: bool) -> Vec<Option<Value>> {
    set.context
        .iter()
        .zip(values)
        .map(|(f, v)| (!tenant_only || f.block == ContextKind::Tenant).then(|| v.clone()))
        .collect()
}

fn specialised(set: &PolicySet, table: usize, expr: &TExpr, known: &[Option<Value>]) -> String {
    match specialise(expr, known) {
        Ok(e) => to_text(set, table, &e),
        Err(e) => format!("error: {e} (SQLSTATE {})", e.sqlstate()),
    }
}

fn describe_applied(c: &Combined) -> String {
    let items: Vec<String> = c
        .applied
        .iter()
        .map(|a| {
            let mode = if a.permissive {
                "permissive"
            } else {
                "restrictive"
            };
            match &a.roles {
                Some(roles) => format!("{} ({mode}, to {})", a.policy, roles.join(", ")),
                None => format!("{} ({mode})", a.policy),
            }
        })
        .collect();
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

/// The clauses PostgreSQL uses for a command: `using` for existing rows,
/// `check` for new ones.
fn clauses_of(command: Command) -> &'static [Clause] {
    match command {
        Command::Select | Command::Delete => &[Clause::Using],
        Command::Insert => &[Clause::Check],
        Command::Update => &[Clause::Using, Clause::Check],
    }
}

fn render(path: &Path) -> String {
    let (set, table_name, context) = load(path);
    let (table, _) = set
        .table_by_text(&table_name)
        .unwrap_or_else(|| panic!("no table `{table_name}`"));
    let values = context_from_json(&set, &context).unwrap();
    let tenant = known(&set, &values, true);
    let full = known(&set, &values, false);
    let mut out = format!("table {table_name}\ncontext {context}\n");
    for command in Command::ALL {
        let _ = writeln!(out, "\n== {command}");
        for &clause in clauses_of(command) {
            let c = combine(&set, table, command, clause);
            let name = if clause == Clause::Using {
                "using"
            } else {
                "check"
            };
            let _ = writeln!(out, "{name}:");
            let _ = writeln!(out, "  applied: {}", describe_applied(&c));
            for (policy, why) in &c.skipped {
                let _ = writeln!(out, "  skipped: {policy} ({why})");
            }
            let _ = writeln!(out, "  symbolic: {}", to_text(&set, table, &c.expr));
            let _ = writeln!(
                out,
                "  tenant:   {}",
                specialised(&set, table, &c.expr, &tenant)
            );
            let _ = writeln!(
                out,
                "  context:  {}",
                specialised(&set, table, &c.expr, &full)
            );
        }
    }
    out.push_str("\n== conditions (image on_fail command clause: symbolic)\n");
    for (kind, kind_name) in [
        (StatementKind::Select, "select"),
        (StatementKind::SelectForUpdate, "select for update"),
        (StatementKind::Insert, "insert"),
        (StatementKind::Update, "update"),
        (StatementKind::Delete, "delete"),
        (
            StatementKind::InsertOnConflictUpdate,
            "insert on conflict do update",
        ),
    ] {
        let mut previous = None;
        for reads in [true, false] {
            let lines: Vec<String> = conditions(&set, table, kind, reads)
                .iter()
                .map(|c| {
                    let text = to_text(&set, table, &c.combined.expr);
                    let head =
                        format!("{:?} {:?} {} {:?}", c.image, c.on_fail, c.command, c.clause);
                    format!("  {}: {text}", head.to_lowercase())
                })
                .collect();
            if previous.as_ref() == Some(&lines) {
                let _ = writeln!(out, "{kind_name}, reads={reads}: as with reads=true");
                continue;
            }
            let _ = writeln!(out, "{kind_name}, reads={reads}:");
            for line in &lines {
                let _ = writeln!(out, "{line}");
            }
            previous = Some(lines);
        }
    }
    out
}

#[test]
fn combine_cases() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("policy/combine/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("policy/combine/*.policy", |path| {
            insta::assert_snapshot!(render(path));
        });
    });
}
