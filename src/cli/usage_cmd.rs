//! `rampart usage`: each tenant's quota limits and stored bytes, read from
//! `rampart_usage` on a database; `--recompute` rebuilds usage by scanning
//! the counted tables first.

use clap::{Args, ValueEnum};
use rampart::exec::QuotaUsage;
use rampart::{QueryResult, SqlValue};
use serde_json::json;

use super::engine_args::{engine, report, PolicyArgs};
use super::{output, table, EXIT_OK};

/// `--format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table, one row per tenant
    #[default]
    Table,
    /// One JSON object per tenant: {"tenant", "tier", "limits", "storage_bytes", …}
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart usage -p policies/saas --db sqlite:app.db --recompute\n\nStorage is counted in the database (table rampart_usage) as rows are written\nthrough Rampart. Limits are those a tenant's last write ran under (`unknown`\nbefore its first write; `unlimited` where its tier sets none). Connections in\nuse and the rate limiter's state live in the running application's quota\nstore, so this command leaves them out (Engine::quota_usage reports them)."
)]
pub struct UsageArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// `sqlite:FILE` or `postgres://user@host:port/db`
    #[arg(long, value_name = "URL")]
    db: String,
    /// Only this tenant (its `tenant.id`)
    #[arg(long, value_name = "ID")]
    tenant: Option<String>,
    /// Rebuild every tenant's usage by scanning the counted tables first
    #[arg(long)]
    recompute: bool,
    /// How the usage is printed
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: &UsageArgs) -> u8 {
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let mut backend = match rampart::exec::open(&args.db) {
        Ok(b) => b,
        Err(e) => return report(e),
    };
    if args.recompute {
        if let Err(e) = engine.recompute_usage(backend.as_mut()) {
            return report(e);
        }
    }
    let usage = match &args.tenant {
        Some(tenant) => engine
            .quota_usage(tenant, backend.as_mut())
            .map(|u| vec![u]),
        None => engine.all_quota_usage(backend.as_mut()),
    };
    let usage = match usage {
        Ok(u) => u,
        Err(e) => return report(e),
    };
    match args.format {
        Format::Table => output::stdout(&table::render(&as_table(&usage))),
        Format::Json => {
            for u in &usage {
                output::stdout(&format!("{}\n", as_json(u)));
            }
        }
    }
    EXIT_OK
}

fn as_table(usage: &[QuotaUsage]) -> QueryResult {
    let limit = |known: bool, value: Option<u64>| match (known, value) {
        (false, _) => SqlValue::Text("unknown".into()),
        (true, None) => SqlValue::Text("unlimited".into()),
        (true, Some(v)) => SqlValue::Int(i64::try_from(v).unwrap_or(i64::MAX)),
    };
    let rows: Vec<Vec<SqlValue>> = usage
        .iter()
        .map(|u| {
            let limits = u.limits.unwrap_or_default();
            let known = u.limits.is_some();
            vec![
                SqlValue::Text(u.tenant.clone()),
                SqlValue::Text(u.tier.clone().unwrap_or_else(|| "-".into())),
                SqlValue::Int(i64::try_from(u.storage_bytes).unwrap_or(i64::MAX)),
                limit(known, limits.storage),
                limit(known, limits.connections),
                limit(known, limits.qps),
                limit(known, limits.max_rows),
            ]
        })
        .collect();
    QueryResult {
        columns: [
            "tenant",
            "tier",
            "storage_bytes",
            "storage_limit",
            "connections_limit",
            "qps_limit",
            "max_rows",
        ]
        .map(str::to_string)
        .into(),
        affected: u64::try_from(rows.len()).unwrap_or(u64::MAX),
        rows,
    }
}

fn as_json(u: &QuotaUsage) -> serde_json::Value {
    json!({
        "tenant": u.tenant,
        "tier": u.tier,
        "limits": u.limits.map(|l| json!({
            "connections": l.connections,
            "qps": l.qps,
            "storage": l.storage,
            "max_rows": l.max_rows,
        })),
        "storage_bytes": u.storage_bytes,
    })
}
