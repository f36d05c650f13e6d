//! `MigrateError`: why a tenant migration stopped, each saying what and
//! where (the source or the target database, the table).

use std::fmt;

use super::Step;

/// Which database of a migration an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// A migration refused or failed. Nothing is lost either way: the source
/// is only ever read (and, for replication, given a publication and a
/// replica identity that rollback and cutover take back), and what was
/// written to the target is recorded so that `rollback` can remove it.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// An error from one of the two databases (or reaching it).
    #[error("{side} database `{url}`: {error}")]
    On {
        side: Side,
        /// The URL with any password hidden.
        url: String,
        error: Box<crate::Error>,
    },
    #[error("migration context: {0}")]
    Context(String),
    #[error("migration: {0}")]
    Usage(String),
    #[error("the target already holds {count} row(s) of tenant `{tenant}` in table `{table}`; a migration copies into tables without the tenant's rows (remove them, or `--rollback` a migration that left them)")]
    TargetHasRows {
        tenant: String,
        table: String,
        count: u64,
    },
    #[error("table `{table}`, column `{column}`: the source has type `{source_type}`, the target `{target_type}`; the target's tables must have the source's schema")]
    SchemaDiffers {
        table: String,
        column: String,
        source_type: String,
        target_type: String,
    },
    #[error("tenant `{tenant}` has no rows on the source in {tables}: nothing to migrate (check `--tenant` and `--context`)")]
    NoRows { tenant: String, tables: String },
    #[error("a migration of tenant `{tenant}` is already under way: {detail}")]
    AlreadyRunning { tenant: String, detail: String },
    #[error("the migration of tenant `{tenant}` to this target is finished (cut over); {detail}")]
    AlreadyDone { tenant: String, detail: String },
    #[error("no migration of tenant `{tenant}` was started on this target")]
    NotStarted { tenant: String },
    #[error("table `{table}`: the tenant's rows cannot be selected by a PostgreSQL publication row filter ({reason}); the predicate is `{predicate}`. Use the snapshot method (`--method snapshot`), which selects rows with the rewriter")]
    RowFilter {
        table: String,
        predicate: String,
        reason: String,
    },
    #[error("table `{table}` on the target has no primary key: change events captured during the copy cannot be applied to it")]
    NoPrimaryKey { table: String },
    #[error("table `{table}`, column `{column}`: {message}")]
    Value {
        table: String,
        column: String,
        message: String,
    },
    #[error("the tenant's rows differ between source and target in {tables}")]
    Differs { tables: String },
    #[error("{0}")]
    Timeout(String),
    /// The test hook (`stop_after`, `RAMPART_MIGRATE_STOP_AFTER`) ended the
    /// run after this step, as a crash would.
    #[error("stopped after step `{}` (test hook)", .0.name())]
    Stopped(Step),
}

impl MigrateError {
    /// The SQLSTATE that fits best.
    pub fn sqlstate(&self) -> &str {
        match self {
            MigrateError::On { error, .. } => error.sqlstate(),
            MigrateError::Context(_) | MigrateError::Usage(_) => "22023",
            MigrateError::TargetHasRows { .. } => "23505",
            MigrateError::SchemaDiffers { .. } => "42804",
            MigrateError::NoRows { .. } => "02000",
            MigrateError::AlreadyRunning { .. } | MigrateError::AlreadyDone { .. } => "55006",
            MigrateError::NotStarted { .. } => "55000",
            MigrateError::RowFilter { .. } => "0A000",
            MigrateError::NoPrimaryKey { .. } => "42P10",
            MigrateError::Value { .. } => "22000",
            MigrateError::Differs { .. } => "XX001",
            MigrateError::Timeout(_) => "57014",
            MigrateError::Stopped(_) => "57P01",
        }
    }
}

/// `url` with the password of its user info replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Wraps an error from one side's database, naming it.
pub fn on(side: Side, url: &str) -> impl Fn(crate::Error) -> crate::Error + '_ {
    move |error| {
        crate::Error::Migrate(MigrateError::On {
            side,
            url: redact(url),
            error: Box::new(error),
        })
    }
}
