//! The PostgreSQL backend: the `postgres` client, prepared statements
//! cached by text, and result values decoded from PostgreSQL's binary
//! formats into `SqlValue`s.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use lru::LruCache;
use postgres::types::{FromSql, Kind, Type};
use postgres::{Client, NoTls, Statement};

use crate::error::DatabaseError;
use crate::sql::Dialect;

use super::pg_numeric::numeric_to_string;
use super::{Backend, RawResult, SqlValue};

/// How many prepared statements a connection keeps.
const STATEMENT_CACHE: NonZeroUsize = NonZeroUsize::MIN.saturating_add(127);
/// How long connecting may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix microseconds.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A connection to a PostgreSQL server.
pub struct PostgresBackend {
    client: Client,
    /// Prepared statements by text, with their column names.
    statements: LruCache<String, (Statement, Arc<[String]>)>,
}

impl PostgresBackend {
    /// Connects to `url` (`postgres://user:password@host:port/db`).
    pub fn connect(url: &str) -> Result<PostgresBackend, DatabaseError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| DatabaseError::new("08001", format!("database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let client = config.connect(NoTls).map_err(|e| {
            DatabaseError::new("08001", format!("cannot connect to PostgreSQL: {e}"))
        })?;
        Ok(PostgresBackend::from_client(client))
    }

    /// Uses an open client (its settings and role are the caller's).
    pub fn from_client(client: Client) -> PostgresBackend {
        PostgresBackend {
            client,
            statements: LruCache::new(STATEMENT_CACHE),
        }
    }

    /// The prepared statement for `sql` and its column names. PostgreSQL
    /// fails a prepared statement whose result columns a schema change
    /// altered rather than returning others, so the names stay right.
    fn prepare(&mut self, sql: &str) -> Result<(Statement, Arc<[String]>), DatabaseError> {
        if let Some((statement, names)) = self.statements.get(sql) {
            return Ok((statement.clone(), Arc::clone(names)));
        }
        let statement = self.client.prepare(sql).map_err(|e| from_postgres(&e))?;
        let names: Arc<[String]> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        self.statements
            .put(sql.to_string(), (statement.clone(), Arc::clone(&names)));
        Ok((statement, names))
    }
}

impl Backend for PostgresBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn run(&mut self, sql: &str, returns_rows: bool) -> Result<RawResult, DatabaseError> {
        let (statement, columns) = self.prepare(sql)?;
        if !returns_rows {
            let affected = self
                .client
                .execute(&statement, &[])
                .map_err(|e| from_postgres(&e))?;
            return Ok(RawResult {
                affected,
                ..RawResult::default()
            });
        }
        let rows = self
            .client
            .query(&statement, &[])
            .map_err(|e| from_postgres(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(columns.len());
            for (i, column) in statement.columns().iter().enumerate() {
                let raw: Option<Raw<'_>> = row.try_get(i).map_err(|e| from_postgres(&e))?;
                values.push(decode(column.type_(), raw.map(|r| r.0)).map_err(|found| {
                    DatabaseError::new(
                        "0A000",
                        format!(
                            "column `{}` has type {found}, which Rampart does not read; \
                             cast it (e.g. `::text`)",
                            column.name()
                        ),
                    )
                })?);
            }
            out.push(values);
        }
        Ok(RawResult {
            columns,
            affected: u64::try_from(out.len()).unwrap_or(u64::MAX),
            rows: out,
        })
    }

    fn batch(&mut self, sql: &str) -> Result<(), DatabaseError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| from_postgres(&e))
    }
}

/// A value's bytes in PostgreSQL's binary format, whatever its type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Raw<'a>, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Decodes one value; `Err` names a type that is not read.
fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<SqlValue, String> {
    let Some(raw) = raw else {
        return Ok(SqlValue::Null);
    };
    let bad = || format!("{} (malformed value)", ty.name());
    let fixed =
        |n: usize| -> Result<&[u8], String> { (raw.len() == n).then_some(raw).ok_or_else(bad) };
    let be8 = || -> Result<[u8; 8], String> { fixed(8)?.try_into().map_err(|_| bad()) };
    let be4 = || -> Result<[u8; 4], String> { fixed(4)?.try_into().map_err(|_| bad()) };
    let text = || String::from_utf8(raw.to_vec()).map_err(|_| bad());
    Ok(match *ty {
        Type::BOOL => SqlValue::Bool(fixed(1)?.first().is_some_and(|b| *b != 0)),
        Type::INT2 => SqlValue::Int(i64::from(i16::from_be_bytes(
            fixed(2)?.try_into().map_err(|_| bad())?,
        ))),
        Type::INT4 => SqlValue::Int(i64::from(i32::from_be_bytes(be4()?))),
        Type::OID => SqlValue::Int(i64::from(u32::from_be_bytes(be4()?))),
        Type::INT8 => SqlValue::Int(i64::from_be_bytes(be8()?)),
        Type::FLOAT4 => SqlValue::Float(f64::from(f32::from_be_bytes(be4()?))),
        Type::FLOAT8 => SqlValue::Float(f64::from_be_bytes(be8()?)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            SqlValue::Text(text()?)
        }
        Type::JSONB => SqlValue::Text(
            String::from_utf8(raw.get(1..).unwrap_or_default().to_vec()).map_err(|_| bad())?,
        ),
        Type::BYTEA => SqlValue::Bytes(raw.to_vec()),
        Type::NUMERIC => SqlValue::Text(numeric_to_string(raw).ok_or_else(bad)?),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => match i64::from_be_bytes(be8()?) {
            i64::MAX => SqlValue::Text("infinity".into()),
            i64::MIN => SqlValue::Text("-infinity".into()),
            micros => SqlValue::Timestamp(micros.checked_add(PG_EPOCH_MICROS).ok_or_else(bad)?),
        },
        Type::DATE => {
            let days = i32::from_be_bytes(be4()?);
            let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).ok_or_else(bad)?;
            match epoch.checked_add_signed(chrono::TimeDelta::days(i64::from(days))) {
                Some(date) => SqlValue::Text(date.to_string()),
                None => SqlValue::Text(if days > 0 { "infinity" } else { "-infinity" }.into()),
            }
        }
        Type::UUID => {
            let hex: String = fixed(16)?.iter().map(|b| format!("{b:02x}")).collect();
            SqlValue::Text(format!(
                "{}-{}-{}-{}-{}",
                hex.get(0..8).unwrap_or_default(),
                hex.get(8..12).unwrap_or_default(),
                hex.get(12..16).unwrap_or_default(),
                hex.get(16..20).unwrap_or_default(),
                hex.get(20..32).unwrap_or_default()
            ))
        }
        _ => match ty.kind() {
            Kind::Array(member) => {
                let items: Vec<Option<Raw<'_>>> = FromSql::from_sql(ty, raw).map_err(|_| bad())?;
                SqlValue::Array(
                    items
                        .into_iter()
                        .map(|item| decode(member, item.map(|r| r.0)))
                        .collect::<Result<_, _>>()?,
                )
            }
            _ => return Err(ty.name().to_string()),
        },
    })
}

/// A client error with its SQLSTATE (`08006` when the connection is gone).
fn from_postgres(error: &postgres::Error) -> DatabaseError {
    if let Some(db) = error.as_db_error() {
        let mut message = db.message().to_string();
        if let Some(detail) = db.detail() {
            message.push_str(&format!(" ({detail})"));
        }
        return DatabaseError::new(db.code().code(), message);
    }
    // A socket error: the connection is as good as closed (the server
    // went away mid-conversation), and later calls will say "closed".
    let io =
        std::error::Error::source(error).and_then(|source| source.downcast_ref::<std::io::Error>());
    if let (None, Some(io)) = (error.code(), io) {
        return DatabaseError::new(
            "08006",
            format!("connection closed: error communicating with the server: {io}"),
        );
    }
    let sqlstate = match error.code() {
        Some(code) => code.code(),
        None if error.is_closed() => "08006",
        None => "XX000",
    };
    DatabaseError::new(sqlstate, error.to_string())
}
