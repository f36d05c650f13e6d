//! One meaning, checked against a real PostgreSQL 15 (`RAMPART_PG_URL`): for
//! policy files and random policy sets, native RLS from `emit_postgres` must
//! agree with the interpreter and the rewriter's predicate on reads and writes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "pg_native/inputs.rs"]
mod inputs;
#[path = "pg_native/random_sets.rs"]
mod random_sets;
#[path = "pg_native/statements.rs"]
mod statements;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use postgres::{Client, Transaction};
use rampart::lang::model::{PolicySet, Value};
use rampart::lang::Command;
use rampart::policy::combine::Clause;
use rampart::policy::interp::{admits, Env};
use rampart::policy::{combine, conditions, EvalError, StatementKind};
use rampart::sql::ddl::emit_postgres;
use rampart::sql::schema::create_tables;
use rampart::sql::Dialect;

use common::pg::{quote_ident, refs, TestDb};
use inputs::{checked, context_json, file_cases, setting_text, uses_arithmetic, Case};
use random_sets::Rng;
use statements::{run, Outcome, Target};

const ROWS_PER_TABLE: usize = 30;

/// What was compared, and every disagreement found.
#[derive(Default)]
struct Report {
    sets: usize,
    contexts: usize,
    rows_read: usize,
    rows_visible: usize,
    writes: usize,
    /// Writes that PostgreSQL refused with 42501, and those that hid the row.
    writes_denied: usize,
    writes_hidden: usize,
    mismatches: Vec<String>,
}

impl Report {
    fn finish(self, what: &str) {
        eprintln!(
            "{what}: {} sets, {} contexts; {} row visibilities ({} visible) and {} writes \
             ({} denied, {} reaching no row) compared",
            self.sets,
            self.contexts,
            self.rows_read,
            self.rows_visible,
            self.writes,
            self.writes_denied,
            self.writes_hidden
        );
        assert!(
            self.mismatches.is_empty(),
            "{} mismatches with PostgreSQL:\n\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n\n")
        );
    }
}

/// Creates the tables, fills them as the superuser and returns each table's
/// rows as `(ctid, values)`.
fn load_data(su: &mut Client, case: &Case, rng: &mut Rng) -> Vec<Vec<(String, Vec<Value>)>> {
    su.batch_execute(&create_tables(&case.set, Dialect::Postgres))
        .unwrap();
    let mut data = Vec::new();
    for t in 0..case.set.tables.len() {
        let target = Target {
            set: &case.set,
            table: t,
            context: &[],
            known: &[],
        };
        // One multi-row INSERT; RETURNING gives the rows back in order.
        let rows: Vec<Vec<Value>> = (0..ROWS_PER_TABLE)
            .map(|_| {
                target
                    .columns()
                    .iter()
                    .map(|c| random_sets::value(rng, c.ty, case.extremes))
                    .collect()
            })
            .collect();
        let mut params = Vec::new();
        let mut tuples = Vec::new();
        let mut names = String::new();
        for row in &rows {
            let (n, slots, p) = target.row_parts_from(row, params.len());
            names = n;
            tuples.push(format!("({slots})"));
            params.extend(p);
        }
        let sql = format!(
            "INSERT INTO {} ({names}) VALUES {} RETURNING ctid::text",
            target.name(),
            tuples.join(", ")
        );
        let ctids = su.query(&sql, &refs(&params)).unwrap();
        let rows: Vec<(String, Vec<Value>)> = ctids
            .iter()
            .map(|r| r.get::<_, String>(0))
            .zip(rows)
            .collect();
        data.push(rows);
    }
    data
}

/// Runs one policy set: schema, data, native DDL, then reads and writes
/// under several contexts.
fn run_case(db: &TestDb, case: &Case, rng: &mut Rng, contexts: usize, report: &mut Report) {
    let mut su = db.superuser();
    let data = load_data(&mut su, case, rng);
    let ddl = emit_postgres(&case.set).unwrap();
    if let Err(e) = su.batch_execute(&ddl) {
        report.mismatches.push(format!(
            "{}: PostgreSQL refuses the emitted DDL: {}\n{ddl}",
            case.name,
            common::pg::describe(&e)
        ));
        cleanup(&mut su, &case.set);
        return;
    }
    let schemas: BTreeSet<String> = case
        .set
        .tables
        .iter()
        .map(|t| t.name.schema.clone().unwrap_or_else(|| "public".into()))
        .collect();
    for s in &schemas {
        su.batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {s} TO {r}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r};",
            s = quote_ident(s),
            r = db.role
        ))
        .unwrap();
    }
    let mut user = db.unprivileged();
    for _ in 0..contexts {
        let values = random_sets::context(rng, &case.set);
        let (json, context) = context_json(&case.set, &values);
        let known: Vec<Option<Value>> = context.iter().cloned().map(Some).collect();
        let mut tx = user.transaction().unwrap();
        let mut sql = String::from("SELECT 1");
        let mut params: Vec<Box<dyn postgres::types::ToSql + Sync>> = Vec::new();
        for (f, v) in case.set.context.iter().zip(&context) {
            let _ = write!(
                sql,
                ", set_config(${}, ${}, true)",
                params.len() + 1,
                params.len() + 2
            );
            params.push(Box::new(format!(
                "rampart.{}_{}",
                f.block.keyword(),
                f.name
            )));
            params.push(Box::new(setting_text(v)));
        }
        tx.query(&sql, &refs(&params)).unwrap();
        report.contexts += 1;
        for (t, rows) in data.iter().enumerate() {
            let target = Target {
                set: &case.set,
                table: t,
                context: &context,
                known: &known,
            };
            let mut check = Check {
                case,
                json: &json,
                target: &target,
                rows,
                report: &mut *report,
            };
            check.select(&mut tx, &mut su);
            check.writes(&mut tx, &mut su, rng);
        }
        tx.rollback().unwrap();
    }
    report.sets += 1;
    cleanup(&mut su, &case.set);
}

fn cleanup(su: &mut Client, set: &PolicySet) {
    for t in &set.tables {
        let name = rampart::sql::template::object_name(&t.name);
        su.batch_execute(&format!("DROP TABLE IF EXISTS {name} CASCADE"))
            .unwrap();
        if let Some(s) = &t.name.schema {
            su.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(s)))
                .unwrap();
        }
    }
}

/// The comparisons for one table under one context.
struct Check<'a> {
    case: &'a Case,
    json: &'a str,
    target: &'a Target<'a>,
    rows: &'a [(String, Vec<Value>)],
    report: &'a mut Report,
}

impl Check<'_> {
    fn mismatch(&mut self, what: &str, detail: &str) {
        let mut text = format!(
            "{} — table {}, {what}\ncontext: {}\n{detail}",
            self.case.name,
            self.target.name(),
            self.json
        );
        if let Some(policy) = &self.case.text {
            let _ = write!(text, "\npolicy set:\n{policy}");
        }
        self.report.mismatches.push(text);
    }

    /// Visible rows: native RLS, the interpreter on the combined SELECT
    /// `using`, and the rewriter's predicate run as the superuser.
    fn select(&mut self, tx: &mut Transaction<'_>, su: &mut Client) {
        let name = self.target.name();
        let ctids = |rows: Result<Vec<postgres::Row>, postgres::Error>| {
            rows.map(|rows| {
                rows.iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<BTreeSet<_>>()
            })
            .map_err(|e| common::pg::describe(&e))
        };
        let native = ctids(tx.query(&format!("SELECT ctid::text FROM {name}"), &[]));
        let combined = combine(
            self.target.set,
            self.target.table,
            Command::Select,
            Clause::Using,
        );
        let rewriter = match self.target.rewriter_sql(&combined.expr) {
            Ok(p) => ctids(su.query(&format!("SELECT ctid::text FROM {name} WHERE {p}"), &[])),
            Err(e) => Err(e.sqlstate().to_string()),
        };
        self.report.rows_read += self.rows.len();
        self.report.rows_visible += native.as_ref().map_or(0, BTreeSet::len);
        if native != rewriter {
            let detail = format!("native: {native:?}\nrewriter: {rewriter:?}");
            self.mismatch(
                "SELECT: native RLS and the rewriter's predicate differ",
                &detail,
            );
        }
        let mut differing = Vec::new();
        for (ctid, row) in self.rows {
            let env = Env {
                row,
                context: self.target.context,
            };
            let interp = match admits(&combined.expr, &env) {
                Err(EvalError::NeedsDatabase) => continue,
                other => other.map_err(|e| e.sqlstate().to_string()),
            };
            let seen = native.as_ref().map(|s| s.contains(ctid));
            let agree = match (&interp, &seen) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => b.starts_with(a.as_str()),
                _ => false,
            };
            if !agree {
                differing.push(format!(
                    "row {row:?}: native {seen:?}, interpreter {interp:?}"
                ));
            }
        }
        if !differing.is_empty() {
            differing.truncate(5);
            self.mismatch(
                "SELECT: native RLS and the interpreter differ",
                &differing.join("\n"),
            );
        }
    }

    fn compare(&mut self, what: &str, native: &Outcome, expected: &Outcome, row: &str) {
        self.report.writes += 1;
        match native {
            Outcome::Denied => self.report.writes_denied += 1,
            Outcome::Affected(0) => self.report.writes_hidden += 1,
            _ => {}
        }
        if !native.agrees(expected) {
            let detail = format!("{row}\nnative: {native:?}\nexpected: {expected:?}");
            self.mismatch(what, &detail);
        }
    }

    /// INSERT (with and without RETURNING), UPDATE and DELETE of single rows,
    /// and an UPDATE of the whole table that reads nothing.
    fn writes(&mut self, tx: &mut Transaction<'_>, su: &mut Client, rng: &mut Rng) {
        let t = self.target;
        let (set, table, name) = (t.set, t.table, t.name());
        let columns = t.columns();
        let fresh = |rng: &mut Rng| -> Vec<Value> {
            columns
                .iter()
                .map(|c| random_sets::value(rng, c.ty, self.case.extremes))
                .collect()
        };
        for _ in 0..4 {
            let row = fresh(rng);
            let (names, slots, params) = t.row_parts(&row);
            for (returning, suffix) in [(false, ""), (true, " RETURNING *")] {
                let sql = format!("INSERT INTO {name} ({names}) VALUES ({slots}){suffix}");
                let native = run(tx, &sql, &params);
                let conds = conditions(set, table, StatementKind::Insert, returning);
                let expected = t.expect_row(su, &conds, None, Some(&row));
                self.compare(
                    &format!("`{sql}`"),
                    &native,
                    &expected,
                    &format!("row {row:?}"),
                );
            }
        }
        let update = conditions(set, table, StatementKind::Update, true);
        let delete = conditions(set, table, StatementKind::Delete, true);
        let column = rng.below(columns.len());
        let ty = columns[column].ty;
        let new_value = random_sets::value(rng, ty, self.case.extremes);
        let col_sql = format!("{}{}", quote_ident(&columns[column].name), "");
        let cast = common::pg::param_cast(ty.ty);
        let mut images = Vec::new();
        for (ctid, row) in self.rows {
            let mut new = row.clone();
            new[column] = new_value.clone();
            images.push((row.clone(), new.clone()));
            if !rng.chance(30) {
                continue;
            }
            let params = vec![
                common::pg::param(&new_value, ty.ty),
                Box::new(ctid.clone()) as _,
            ];
            let sql = format!("UPDATE {name} SET {col_sql} = $1{cast} WHERE ctid = $2::text::tid");
            let native = run(tx, &sql, &params);
            let expected = t.expect_row(su, &update, Some(row), Some(&new));
            let detail = format!("row {row:?} → {new:?}");
            self.compare(&format!("`{sql}`"), &native, &expected, &detail);
            let sql = format!("DELETE FROM {name} WHERE ctid = $1::text::tid");
            let native = run(tx, &sql, &[Box::new(ctid.clone())]);
            let expected = t.expect_row(su, &delete, Some(row), None);
            self.compare(
                &format!("`{sql}`"),
                &native,
                &expected,
                &format!("row {row:?}"),
            );
        }
        let sql = format!("UPDATE {name} SET {col_sql} = $1{cast}");
        let native = run(tx, &sql, &[common::pg::param(&new_value, ty.ty)]);
        let blind = conditions(set, table, StatementKind::Update, false);
        let expected = t.expect_all(su, &blind, &images);
        let detail = format!("new value {new_value:?}");
        self.compare(&format!("`{sql}`"), &native, &expected, &detail);
    }
}

/// Runs `cases` in a database of their own.
fn run_cases(what: &str, cases: &[Case], seed: u64, contexts: usize) {
    let Some(db) = TestDb::create() else { return };
    let mut report = Report::default();
    let mut rng = Rng::new(seed);
    for case in cases {
        run_case(&db, case, &mut rng, contexts, &mut report);
    }
    report.finish(what);
}

#[test]
fn language_examples_agree_with_postgres() {
    run_cases("tests/lang/valid", &file_cases("tests/lang/valid"), 1, 3);
}

#[test]
fn combine_cases_agree_with_postgres() {
    run_cases(
        "tests/policy/combine",
        &file_cases("tests/policy/combine"),
        2,
        3,
    );
}

#[test]
fn example_policies_agree_with_postgres() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let dirs = std::fs::read_dir(&root).expect("the worked examples live in policies/");
    let mut cases = Vec::new();
    for dir in dirs.map(|d| d.unwrap().path()).filter(|p| p.is_dir()) {
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "policy"))
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
        let set = checked(&files).unwrap_or_else(|| panic!("{} does not check", dir.display()));
        cases.push(Case {
            name: dir.display().to_string(),
            text: None,
            set,
            extremes: !uses_arithmetic(&all),
        });
    }
    assert!(
        cases.len() >= 3,
        "expected the saas, healthcare and blog examples"
    );
    run_cases("policies/", &cases, 3, 3);
}

/// Random sets from a fixed seed and from one that changes every run
/// (`RAMPART_PG_SEED` replays one).
#[test]
fn random_policy_sets_agree_with_postgres() {
    let varying = std::env::var("RAMPART_PG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_secs())
        });
    for seed in [0x5EED, varying] {
        let mut rng = Rng::new(seed);
        let mut cases = Vec::new();
        let mut refused = 0;
        let mut attempts = 0;
        while cases.len() < 20 && attempts < 200 {
            attempts += 1;
            let text = random_sets::policy_text(&mut rng);
            match checked(&[("random.policy".to_string(), text.clone())]) {
                Some(set) => cases.push(Case {
                    name: format!(
                        "random set {} (seed {seed}, RAMPART_PG_SEED={seed})",
                        cases.len()
                    ),
                    text: Some(text),
                    set,
                    extremes: true,
                }),
                None => refused += 1,
            }
        }
        assert!(
            refused < 20,
            "the checker refused {refused} of the random sets"
        );
        run_cases(&format!("random sets, seed {seed}"), &cases, seed, 3);
    }
}
