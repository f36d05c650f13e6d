//! Running one statement twice for the differential tests through
//! `Session`: natively under RLS as the non-owner role and through a session
//! on the owner's connection, each in a transaction that is rolled back, and
//! where the two outcomes differ.

use rampart::exec::pg::PostgresBackend;
use rampart::exec::{Backend, SqlValue};
use rampart::lang::model::Limits;
use rampart::quota::{QuotaError, QuotaState, QuotaStore};
use rampart::sql::rewrite::RewriteError;
use rampart::{Error, Session};

/// Rows as comparable text, one string per value.
pub type Rows = Vec<Vec<String>>;

/// What a statement gave: columns, rows and the count, or `SQLSTATE: message`.
pub type Answer = Result<(std::sync::Arc<[String]>, Rows, u64), String>;

/// A quota store that admits everything: the example tiers' rates would
/// refuse a corpus run at full speed.
pub struct Unlimited;

impl QuotaStore for Unlimited {
    fn set_limits(&self, _: &str, _: &Limits) -> Result<(), QuotaError> {
        Ok(())
    }
    fn check_qps(&self, _: &str) -> Result<(), QuotaError> {
        Ok(())
    }
    fn acquire_connection(&self, _: &str) -> Result<(), QuotaError> {
        Ok(())
    }
    fn release_connection(&self, _: &str) {}
    fn add_storage(&self, _: &str, _: i64) -> Result<u64, QuotaError> {
        Ok(0)
    }
    fn storage_used(&self, _: &str) -> Result<u64, QuotaError> {
        Ok(0)
    }
    fn state(&self, _: &str) -> Result<Option<QuotaState>, QuotaError> {
        Ok(None)
    }
}

/// One side's run of a statement inside its transaction.
#[derive(Debug)]
pub struct Outcome {
    pub answer: Answer,
    /// What `SELECT 1` gives next in the same transaction: `ok` or a SQLSTATE.
    pub after: String,
    /// Every declared table's rows (sorted) after a write, in the transaction,
    /// or the SQLSTATE reading them gave.
    pub tables: Option<Result<Vec<Rows>, String>>,
}

pub fn text_rows(rows: &[Vec<SqlValue>]) -> Rows {
    rows.iter()
        .map(|r| r.iter().map(|v| format!("{v:?}")).collect())
        .collect()
}

pub fn sorted(mut rows: Rows) -> Rows {
    rows.sort();
    rows
}

/// Every declared table's rows, sorted, read as is on `backend`.
pub fn contents(backend: &mut dyn Backend, names: &[String]) -> Result<Vec<Rows>, String> {
    names
        .iter()
        .map(|name| {
            let raw = backend
                .run(&format!("SELECT * FROM {name}"), true)
                .map_err(|e| e.sqlstate)?;
            Ok(sorted(text_rows(&raw.rows)))
        })
        .collect()
}

/// What `SELECT 1` gives on `backend` now.
pub fn probe(result: Result<(), String>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(e) => e.get(..5).unwrap_or(&e).to_string(),
    }
}

/// How the statement is run natively: whether it returns rows (a query or
/// RETURNING) and whether it writes.
#[derive(Clone, Copy)]
pub struct Shape {
    pub returns_rows: bool,
    pub write: bool,
}

/// Runs `sql` natively: the owner's connection as the non-owner role
/// (`SET LOCAL ROLE`), so that the tables can be read whole afterwards.
pub fn native(
    backend: &mut PostgresBackend,
    role: &str,
    names: &[String],
    sql: &str,
    shape: Shape,
) -> Outcome {
    backend.batch("BEGIN").unwrap();
    backend.batch(&format!("SET LOCAL ROLE {role}")).unwrap();
    let answer = backend
        .run(sql, shape.returns_rows)
        .map(|raw| (raw.columns, text_rows(&raw.rows), raw.affected))
        .map_err(|e| format!("{}: {}", e.sqlstate, e.message));
    let after = probe(
        backend
            .run("SELECT 1", true)
            .map(|_| ())
            .map_err(|e| e.sqlstate.clone()),
    );
    let tables = (shape.write && answer.is_ok()).then(|| {
        backend.batch("RESET ROLE").unwrap();
        contents(backend, names)
    });
    backend.batch("ROLLBACK").unwrap();
    Outcome {
        answer,
        after,
        tables,
    }
}

/// Runs `sql` through the session inside `BEGIN` … `ROLLBACK`.
pub fn through_session(session: &mut Session, names: &[String], sql: &str, write: bool) -> Outcome {
    session.execute("BEGIN").unwrap();
    let answer = session
        .execute(sql)
        .map(|r| (r.columns, text_rows(&r.rows), r.affected))
        .map_err(|e| format!("{}: {e}", e.sqlstate()));
    let after = probe(
        session
            .execute("SELECT 1")
            .map(|_| ())
            .map_err(|e| e.sqlstate().to_string()),
    );
    // Read even after a failure: the statement must have changed nothing.
    let tables = write.then(|| contents(session.backend_mut(), names));
    session.execute("ROLLBACK").unwrap();
    Outcome {
        answer,
        after,
        tables,
    }
}

/// Where the two outcomes differ, if they do.
pub fn difference(
    native: &Outcome,
    session: &Outcome,
    ordered: bool,
    before: &[Rows],
) -> Option<String> {
    match (&native.answer, &session.answer) {
        (Ok((nc, nr, na)), Ok((sc, sr, sa))) => {
            if !nr.is_empty() && nc != sc {
                return Some(format!("columns {nc:?} / {sc:?}"));
            }
            let same = if ordered {
                nr == sr
            } else {
                sorted(nr.clone()) == sorted(sr.clone())
            };
            if !same {
                return Some("rows".into());
            }
            if na != sa {
                return Some(format!("count {na} / {sa}"));
            }
            if native.tables != session.tables {
                return Some("table contents".into());
            }
        }
        (Err(a), Err(b)) => {
            if a.get(..5) != b.get(..5) {
                return Some("SQLSTATE".into());
            }
            if session
                .tables
                .as_ref()
                .is_some_and(|t| t.as_deref() != Ok(before))
            {
                return Some("a failed write changed the tables".into());
            }
        }
        _ => return Some("outcome".into()),
    }
    (native.after != session.after).then(|| {
        format!(
            "the transaction afterwards: {} / {}",
            native.after, session.after
        )
    })
}

pub fn brief(outcome: &Outcome) -> String {
    let answer = match &outcome.answer {
        Ok((columns, rows, affected)) => {
            let mut first = sorted(rows.clone());
            first.truncate(6);
            format!(
                "{affected} affected, {} rows {columns:?}, first sorted: {first:?}",
                rows.len()
            )
        }
        Err(e) => format!("error {e}"),
    };
    let tables = outcome
        .tables
        .as_ref()
        .map(|t| match t {
            Ok(t) => format!(
                ", table sizes {:?}",
                t.iter().map(Vec::len).collect::<Vec<_>>()
            ),
            Err(e) => format!(", the tables cannot be read: {e}"),
        })
        .unwrap_or_default();
    format!("{answer}; then {}{tables}", outcome.after)
}

/// How `sql` runs natively, from the session's rewrite of it: `Err` with the
/// error when the rewriter refuses it. A bad row or a failing policy found
/// when rewriting is an outcome, not a refusal: the statement is a write
/// (only writes have rows to check then).
pub fn shape(session: &mut Session, sql: &str) -> Result<Shape, Error> {
    match session.rewritten(sql) {
        Ok(rewritten) => {
            let plan = &rewritten.plan[0];
            Ok(Shape {
                returns_rows: !plan.kind.is_write() || plan.had_returning,
                write: plan.writes(),
            })
        }
        Err(e)
            if matches!(e, Error::Rewrite(RewriteError::RowViolation { .. }))
                || e.sqlstate().starts_with("22") =>
        {
            Ok(Shape {
                returns_rows: false,
                write: true,
            })
        }
        Err(e) => Err(e),
    }
}
