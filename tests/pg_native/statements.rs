//! Writes under native row-level security and what Rampart expects of them:
//! a statement runs in a savepoint (rolled back, so the data stays put) and
//! ends as rows affected, denied (42501) or another error; the expectation
//! comes from `policy::conditions` decided by the interpreter, or by the
//! rewriter's SQL where the interpreter needs the database (`exists`).

use postgres::types::ToSql;
use postgres::{Client, Transaction};
use rampart::lang::model::{PolicySet, TExpr, Value};
use rampart::policy::interp::{admits, Env};
use rampart::policy::{specialise, Condition, EvalError, OnFail, RowImage};
use rampart::sql::{ContextSource, Dialect, Emitter, Scope};

use crate::common::pg::{describe, param, param_cast, quote_ident, refs, sqlstate};

/// How a statement ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Affected(u64),
    /// `new row violates row-level security policy` (42501).
    Denied,
    /// Another error, by SQLSTATE.
    Failed(String),
}

impl Outcome {
    /// Equal, errors compared by SQLSTATE only.
    pub fn agrees(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Failed(a), Outcome::Failed(b)) => a.get(..5) == b.get(..5),
            _ => self == other,
        }
    }
}

/// Runs `sql` in a savepoint that is always rolled back.
pub fn run(tx: &mut Transaction<'_>, sql: &str, params: &[Box<dyn ToSql + Sync>]) -> Outcome {
    let mut sp = tx.savepoint("attempt").unwrap();
    let result = sp.execute(sql, &refs(params));
    sp.rollback().unwrap();
    match result {
        Ok(n) => Outcome::Affected(n),
        Err(e) if sqlstate(&e) == "42501" => Outcome::Denied,
        Err(e) => Outcome::Failed(describe(&e)),
    }
}

/// One table of a policy set, seen with one context.
pub struct Target<'a> {
    pub set: &'a PolicySet,
    pub table: usize,
    pub context: &'a [Value],
    /// The whole context, for specialising the rewriter's predicates.
    pub known: &'a [Option<Value>],
}

impl Target<'_> {
    pub fn name(&self) -> String {
        rampart::sql::template::object_name(&self.set.tables[self.table].name).to_string()
    }

    pub fn columns(&self) -> &[rampart::lang::model::Column] {
        &self.set.tables[self.table].columns
    }

    /// The rewriter's predicate for `expr`: specialised for the whole
    /// context and emitted for PostgreSQL with literals.
    pub fn rewriter_sql(&self, expr: &TExpr) -> Result<String, EvalError> {
        let expr = specialise(expr, self.known)?;
        let emitter = Emitter::new(
            self.set,
            Dialect::Postgres,
            ContextSource::Literals,
            self.known,
        );
        let t = &self.set.tables[self.table];
        let scope = Scope::new(self.table, vec![t.name.name.clone()]);
        Ok(emitter.expr(&expr, &scope).unwrap().to_string())
    }

    /// `"c1", "c2", …` and `$1::bigint, $2::text, …` with the row's values.
    pub fn row_parts(&self, row: &[Value]) -> (String, String, Vec<Box<dyn ToSql + Sync>>) {
        self.row_parts_from(row, 0)
    }

    /// As [`Target::row_parts`], numbering parameters after the first `skip`.
    pub fn row_parts_from(
        &self,
        row: &[Value],
        skip: usize,
    ) -> (String, String, Vec<Box<dyn ToSql + Sync>>) {
        let names: Vec<String> = self
            .columns()
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect();
        let slots: Vec<String> = self
            .columns()
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}{}", skip + i + 1, param_cast(c.ty.ty)))
            .collect();
        let params = self
            .columns()
            .iter()
            .zip(row)
            .map(|(c, v)| param(v, c.ty.ty))
            .collect();
        (names.join(", "), slots.join(", "), params)
    }

    /// Whether `expr` admits `row`: the interpreter's answer, or where it
    /// needs the database the rewriter's predicate run on the row as the superuser.
    pub fn admits(&self, su: &mut Client, expr: &TExpr, row: &[Value]) -> Result<bool, String> {
        let env = Env {
            row,
            context: self.context,
        };
        match admits(expr, &env) {
            Ok(b) => Ok(b),
            Err(EvalError::NeedsDatabase) => self.sql_admits(su, expr, row),
            Err(e) => Err(e.sqlstate().to_string()),
        }
    }

    fn sql_admits(&self, su: &mut Client, expr: &TExpr, row: &[Value]) -> Result<bool, String> {
        let predicate = self
            .rewriter_sql(expr)
            .map_err(|e| e.sqlstate().to_string())?;
        let names = self.columns().iter().map(|c| quote_ident(&c.name));
        let (_, slots, params) = self.row_parts(row);
        let columns: Vec<String> = slots
            .split(", ")
            .zip(names)
            .map(|(slot, name)| format!("{slot} AS {name}"))
            .collect();
        let t = &self.set.tables[self.table];
        let sql = format!(
            "SELECT ({predicate}) IS TRUE FROM (SELECT {}) AS {}",
            columns.join(", "),
            quote_ident(&t.name.name)
        );
        su.query_one(&sql, &refs(&params))
            .map(|r| r.get::<_, bool>(0))
            .map_err(|e| sqlstate(&e))
    }

    /// What a statement that meets `conditions` does to one row: hidden
    /// (0 rows) when an existing-row condition fails, denied when a new-row
    /// one does, else 1 row.
    pub fn expect_row(
        &self,
        su: &mut Client,
        conditions: &[Condition],
        existing: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Outcome {
        let mut admitted = |c: &Condition| -> Result<bool, String> {
            let row = match c.image {
                RowImage::Existing => existing,
                RowImage::Inserted | RowImage::Updated => new,
            };
            match row {
                Some(row) => self.admits(su, &c.combined.expr, row),
                None => Ok(true),
            }
        };
        for pass in [OnFail::Hide, OnFail::Error] {
            for c in conditions.iter().filter(|c| c.on_fail == pass) {
                match admitted(c) {
                    Ok(true) => {}
                    Ok(false) if pass == OnFail::Hide => return Outcome::Affected(0),
                    Ok(false) => return Outcome::Denied,
                    Err(state) => return Outcome::Failed(state),
                }
            }
        }
        Outcome::Affected(1)
    }

    /// What an UPDATE of every row does: denied if any row it reaches fails
    /// a new-row condition, else the number of rows it reaches.
    pub fn expect_all(
        &self,
        su: &mut Client,
        conditions: &[Condition],
        rows: &[(Vec<Value>, Vec<Value>)],
    ) -> Outcome {
        let mut affected = 0;
        let mut denied = false;
        for (old, new) in rows {
            match self.expect_row(su, conditions, Some(old), Some(new)) {
                Outcome::Affected(n) => affected += n,
                Outcome::Denied => denied = true,
                failed @ Outcome::Failed(_) => return failed,
            }
        }
        if denied {
            Outcome::Denied
        } else {
            Outcome::Affected(affected)
        }
    }
}
