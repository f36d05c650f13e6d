//! In-memory SQLite databases holding a policy set's tables, with Rampart's
//! SQL functions registered, for the targets that run emitted or rewritten SQL.

use rampart::exec::sqlite_functions::{eval_error_from_message, register, ERROR_PREFIX};
use rampart::lang::model::{PolicySet, Value};
use rampart::policy::EvalError;
use rampart::sql::schema::create_table;
use rampart::Dialect;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

/// A value as it is stored in SQLite (booleans 0/1, timestamps as integers).
pub fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null | Value::TextSet(_) | Value::IntSet(_) => SqlValue::Null,
        Value::Int(i) | Value::Timestamp(i) => SqlValue::Integer(*i),
        Value::Float(x) => SqlValue::Real(*x),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Text(s) => SqlValue::Text(s.clone()),
    }
}

pub struct Db {
    pub conn: Connection,
    names: Vec<String>,
}

impl Db {
    /// A database with every table of `set` (schemas attached as in-memory
    /// databases); `None` if SQLite refuses one.
    pub fn new(set: &PolicySet) -> Option<Db> {
        let conn = Connection::open_in_memory().ok()?;
        register(&conn).ok()?;
        let mut schemas: Vec<&str> = set
            .tables
            .iter()
            .filter_map(|t| t.name.schema.as_deref())
            .collect();
        schemas.sort_unstable();
        schemas.dedup();
        for schema in schemas {
            let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
            conn.execute_batch(&format!("ATTACH DATABASE ':memory:' AS {quoted}"))
                .ok()?;
        }
        let mut names = Vec::new();
        for table in &set.tables {
            conn.execute_batch(&create_table(table, Dialect::Sqlite))
                .ok()?;
            let name = create_table(table, Dialect::Sqlite);
            // `CREATE TABLE <name> (…`: the quoted name as SQLite reads it.
            let name = name
                .strip_prefix("CREATE TABLE ")
                .and_then(|rest| rest.split_once(" ("))
                .map(|(n, _)| n.to_string())?;
            names.push(name);
        }
        Some(Db { conn, names })
    }

    /// The table's name as SQL (quoted, schema-qualified).
    pub fn name(&self, table: usize) -> &str {
        &self.names[table]
    }

    pub fn insert(&self, table: usize, row: &[Value]) {
        let marks = vec!["?"; row.len()].join(", ");
        let params: Vec<SqlValue> = row.iter().map(to_sql).collect();
        let sql = format!("INSERT INTO {} VALUES ({marks})", self.name(table));
        if let Err(e) = self.conn.execute(&sql, rusqlite::params_from_iter(params)) {
            panic!("{sql}: {e} for {row:?}");
        }
    }

    pub fn clear(&self, table: usize) {
        let sql = format!("DELETE FROM {}", self.name(table));
        if let Err(e) = self.conn.execute(&sql, []) {
            panic!("{sql}: {e}");
        }
    }

    /// Every row `sql` returns, each printed, sorted; or SQLite's message.
    pub fn rows(&self, sql: &str) -> Result<Vec<String>, String> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| e.to_string())?;
        let width = stmt.column_count();
        let mut out: Vec<String> = stmt
            .query_map([], |r| {
                (0..width)
                    .map(|i| r.get::<_, SqlValue>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| format!("{v:?}"))
            })
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        out.sort();
        Ok(out)
    }

    /// The one value `SELECT <expr> FROM <table>` gives on a one-row table.
    pub fn value(&self, table: usize, expr: &str) -> Result<SqlValue, String> {
        let sql = format!("SELECT {expr} FROM {}", self.name(table));
        self.conn
            .query_row(&sql, [], |r| r.get::<_, SqlValue>(0))
            .map_err(|e| e.to_string())
    }
}

/// The evaluation error an SQLite error message reports, if it is one of
/// Rampart's functions' errors.
pub fn eval_error(message: &str) -> Option<EvalError> {
    let (_, rest) = message.split_once(ERROR_PREFIX)?;
    eval_error_from_message(&format!("{ERROR_PREFIX}{rest}"))
}
