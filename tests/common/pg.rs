//! A throwaway PostgreSQL database per test, on the server named by
//! `RAMPART_PG_URL`: skipped when unset, a failure under `CI=true`; values of
//! the language as query parameters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use postgres::types::ToSql;
use postgres::{Client, Config, NoTls};
use rampart::lang::model::{Ty, Value};
use rampart::lang::print::format_timestamp;

/// The superuser URL of the test server, or `None` (with a note) to skip.
/// Under `CI=true` a missing server is a failure, not a skip.
pub fn server_url() -> Option<String> {
    server_url_in("RAMPART_PG_URL")
}

/// [`server_url`] for the server named by the environment variable `var`
/// (`RAMPART_PG_URL_2`: the second cluster).
pub fn server_url_in(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} not set under CI=true: the PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

/// A fresh database (and a login role without privileges) of its own, so
/// tests run in parallel; both are dropped when this is.
pub struct TestDb {
    server: Config,
    /// The server's URL as given.
    server_url: String,
    pub name: String,
    /// A `NOSUPERUSER NOBYPASSRLS` login role, granted nothing yet.
    pub role: String,
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDb {
    /// `None` when the tests are skipped (see [`server_url`]).
    pub fn create() -> Option<TestDb> {
        TestDb::create_in("RAMPART_PG_URL")
    }

    /// A fresh database on the server named by the environment variable `var`.
    pub fn create_in(var: &str) -> Option<TestDb> {
        let url = server_url_in(var)?;
        let server: Config = url.parse().expect("not a PostgreSQL URL");
        let suffix = unique_suffix();
        let db = TestDb {
            server,
            server_url: url,
            name: format!("rampart_t_{suffix}"),
            role: format!("rampart_u_{suffix}"),
        };
        let mut admin = db
            .server
            .connect(NoTls)
            .expect("cannot connect to RAMPART_PG_URL");
        // One statement per call: CREATE DATABASE refuses a transaction block.
        for sql in [
            format!("CREATE DATABASE {}", db.name),
            format!("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS", db.role),
        ] {
            admin
                .batch_execute(&sql)
                .expect("cannot create the test database");
        }
        Some(db)
    }

    /// The superuser's URL of the test database (the server's URL with its
    /// database name replaced).
    pub fn url(&self) -> String {
        let base = self.server_url.split('?').next().unwrap_or_default();
        let (server, _) = base.rsplit_once('/').expect("the URL names a database");
        format!("{server}/{}", self.name)
    }

    /// A connection to the test database as the superuser.
    pub fn superuser(&self) -> Client {
        self.server
            .clone()
            .dbname(&self.name)
            .connect(NoTls)
            .expect("cannot connect to the test database")
    }

    /// A connection to the test database as [`TestDb::role`].
    pub fn unprivileged(&self) -> Client {
        self.server
            .clone()
            .dbname(&self.name)
            .user(&self.role)
            .connect(NoTls)
            .expect("cannot connect as the test role")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = self.server.connect(NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.role));
        }
    }
}

/// `"name"`, quoted for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL type a parameter of type `ty` is cast to (`$1::bigint`); a
/// timestamp travels as RFC 3339 text.
pub fn param_cast(ty: Ty) -> &'static str {
    match ty {
        Ty::Int => "::bigint",
        Ty::Float => "::float8",
        Ty::Bool => "::boolean",
        Ty::Timestamp => "::text::timestamptz",
        _ => "::text",
    }
}

/// A value as a query parameter for a column of type `ty` (see [`param_cast`]).
pub fn param(value: &Value, ty: Ty) -> Box<dyn ToSql + Sync> {
    match (value, ty) {
        (Value::Int(i), _) => Box::new(*i),
        (Value::Float(x), _) => Box::new(*x),
        (Value::Bool(b), _) => Box::new(*b),
        (Value::Text(s), _) => Box::new(s.clone()),
        (Value::Timestamp(t), _) => Box::new(format_timestamp(*t)),
        (_, Ty::Int) => Box::new(None::<i64>),
        (_, Ty::Float) => Box::new(None::<f64>),
        (_, Ty::Bool) => Box::new(None::<bool>),
        _ => Box::new(None::<String>),
    }
}

/// Borrows boxed parameters as the slice `Client::query` takes.
pub fn refs(params: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// The SQLSTATE of a failed statement (`XX000` when the server sent none).
pub fn sqlstate(error: &postgres::Error) -> String {
    error
        .code()
        .map_or_else(|| format!("XX000 ({error})"), |c| c.code().to_string())
}

/// `SQLSTATE: message`, for reports.
pub fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => format!("XX000: {error}"),
    }
}
