//! Storage accounting as SQL text per dialect: the `rampart_usage` table, the
//! row-size expression, the triggers that keep usage in step with every
//! change to a counted table, and the scan that recomputes it.
//!
//! **A row's size** is 24 bytes (a row header, about PostgreSQL's) plus, for
//! each *declared* column whose value is not null: 8 bytes for `int`,
//! `float` and `timestamp`, 1 for `bool`, and the UTF-8 length in bytes for
//! `text`. It is a logical size: the same rows weigh the same on SQLite and
//! on PostgreSQL, whatever TOAST, compression or page layout do, so a
//! recompute always finds exactly what the triggers counted.
//!
//! **Counted tables** are the declared tables with a *tenant column*, one
//! whose preset is `tenant.id`; a row belongs to the tenant its tenant column
//! names (rows where it is null belong to nobody). Other tables (shared
//! lookup tables, say) are not counted.

use crate::lang::model::{Column, PolicySet, TExprKind, Table, Ty};
use crate::lang::ContextKind;

use super::Dialect;

/// The table usage is kept in.
pub const USAGE_TABLE: &str = "rampart_usage";

/// Bytes every row counts besides its values.
pub const ROW_HEADER_BYTES: u64 = 24;

/// `CREATE TABLE IF NOT EXISTS rampart_usage`: one row per tenant, its bytes
/// and (`limits`, JSON text) the limits its last write ran under.
pub fn create_usage_table(dialect: Dialect) -> String {
    let bytes = match dialect {
        Dialect::Postgres => "bigint",
        Dialect::Sqlite => "INTEGER",
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {USAGE_TABLE} (tenant text PRIMARY KEY, \
         bytes {bytes} NOT NULL DEFAULT 0, limits text)"
    )
}

/// The index of `table`'s tenant column: the first whose preset is the
/// context field `tenant.id`. `None`: the table is not counted.
pub fn tenant_column(set: &PolicySet, table: &Table) -> Option<usize> {
    let (id, _) = set.context_field(ContextKind::Tenant, "id")?;
    table.columns.iter().position(|c| {
        c.preset
            .as_ref()
            .is_some_and(|p| p.kind == TExprKind::Context(id))
    })
}

/// `"name"`, quoted, inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, quoted, inner quotes doubled (callers refuse NUL).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The declared table's name as SQL: `"audit"."events"`.
pub fn table_name(table: &Table) -> String {
    match &table.name.schema {
        Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&table.name.name)),
        None => quote_ident(&table.name.name),
    }
}

/// The size of the row `row` (an alias, `NEW`, `OLD`) of `table`, as an
/// integer SQL expression (see the module comment).
///
/// ```
/// let engine = rampart::Engine::from_source("t.policy",
///     "table t { n: int, s: text?, b: bool }")?;
/// let table = &engine.policy_set().tables[0];
/// assert_eq!(
///     rampart::sql::usage::row_size(table, "r", rampart::Dialect::Postgres),
///     "24 + CASE WHEN r.\"n\" IS NULL THEN 0 ELSE 8 END + coalesce(octet_length(r.\"s\"), 0) \
///      + CASE WHEN r.\"b\" IS NULL THEN 0 ELSE 1 END"
/// );
/// # Ok::<(), rampart::Error>(())
/// ```
pub fn row_size(table: &Table, row: &str, dialect: Dialect) -> String {
    let mut terms = vec![ROW_HEADER_BYTES.to_string()];
    terms.extend(column_sizes(table, row, dialect));
    terms.join(" + ")
}

/// Each declared column's part of [`row_size`], in order.
fn column_sizes<'a>(
    table: &'a Table,
    row: &'a str,
    dialect: Dialect,
) -> impl Iterator<Item = String> + 'a {
    table.columns.iter().map(move |column| {
        let value = format!("{row}.{}", quote_ident(&column.name));
        match column.ty.ty {
            Ty::Text | Ty::Null | Ty::TextSet | Ty::IntSet => match dialect {
                Dialect::Postgres => format!("coalesce(octet_length({value}), 0)"),
                Dialect::Sqlite => format!("coalesce(length(CAST({value} AS BLOB)), 0)"),
            },
            Ty::Bool => format!("CASE WHEN {value} IS NULL THEN 0 ELSE 1 END"),
            Ty::Int | Ty::Float | Ty::Timestamp => {
                format!("CASE WHEN {value} IS NULL THEN 0 ELSE 8 END")
            }
        }
    })
}

/// The tenant of the row `row`, as text.
fn row_tenant(table: &Table, tenant: usize, row: &str) -> String {
    let name = table.columns.get(tenant).map_or("", |c| c.name.as_str());
    format!("CAST({row}.{} AS text)", quote_ident(name))
}

/// The PostgreSQL trigger function counting `table`'s changes into
/// `rampart_usage` of `schema` (the current schema where it is installed):
/// its name and its body (compared with `pg_proc.prosrc` to tell whether it
/// is current).
pub fn pg_function(table: &Table, tenant: usize, schema: &str) -> (String, String) {
    let name = format!("rampart_usage_{}", table.name);
    let usage = format!("{}.{USAGE_TABLE}", quote_ident(schema));
    let add = |rows: &str| {
        format!(
            "    INSERT INTO {usage} AS u (tenant, bytes)\n    \
             SELECT tenant, sum(bytes) FROM ({rows}) AS d\n    \
             WHERE tenant IS NOT NULL GROUP BY tenant ORDER BY tenant\n    \
             ON CONFLICT (tenant) DO UPDATE SET bytes = u.bytes + excluded.bytes;\n"
        )
    };
    let added = |alias: &str, sign: &str| {
        format!(
            "SELECT {} AS tenant, {sign}({}) AS bytes FROM {alias} AS {alias}",
            row_tenant(table, tenant, alias),
            row_size(table, alias, Dialect::Postgres)
        )
    };
    let body = format!(
        "\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n{}  ELSIF TG_OP = 'UPDATE' THEN\n{}  ELSE\n{}  END IF;\n  RETURN NULL;\nEND\n",
        add(&added("rampart_new", "")),
        add(&format!(
            "{} UNION ALL {}",
            added("rampart_new", ""),
            added("rampart_old", "-")
        )),
        add(&added("rampart_old", "-")),
    );
    (name, body)
}

/// The advisory lock key installing the accounting takes (`rampartu`).
const INSTALL_LOCK: i64 = 0x7261_6d70_6172_7475;

/// Installs (or replaces) the PostgreSQL trigger function and the three
/// statement triggers counting `table`'s changes. The function runs as its
/// owner (`SECURITY DEFINER`), so that roles writing the table need no
/// rights on `rampart_usage`; it names `rampart_usage` with its schema and
/// runs with the search path `pg_catalog, pg_temp`, so that no one can put
/// another table or function in its way.
pub fn pg_install(table: &Table, tenant: usize, schema: &str) -> String {
    let (function, body) = pg_function(table, tenant, schema);
    let function = quote_ident(&function);
    let target = table_name(table);
    // Sessions making sure of the triggers at once would race in the
    // catalogs (`CREATE … IF NOT EXISTS` is not safe against a concurrent
    // create): a transaction-level advisory lock makes them take turns.
    let mut sql = format!(
        "SELECT pg_advisory_xact_lock({INSTALL_LOCK});\n{};\nCREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql \
         SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $rampart${body}$rampart$;\n",
        create_usage_table(Dialect::Postgres)
    );
    for (event, referencing) in [
        ("INSERT", "NEW TABLE AS rampart_new"),
        (
            "UPDATE",
            "OLD TABLE AS rampart_old NEW TABLE AS rampart_new",
        ),
        ("DELETE", "OLD TABLE AS rampart_old"),
    ] {
        sql.push_str(&format!(
            "CREATE OR REPLACE TRIGGER rampart_usage_{} AFTER {event} ON {target} \
             REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n",
            event.to_lowercase()
        ));
    }
    sql
}

/// One row `(prosrc, triggers)`: the installed body of `table`'s trigger
/// function in the current schema (no row if none) and how many of its three
/// triggers are on `table`; plus whether `rampart_usage` exists.
pub fn pg_installed(table: &Table, tenant: usize) -> String {
    let (function, _) = pg_function(table, tenant, "");
    format!(
        "SELECT p.prosrc, (SELECT count(*) FROM pg_trigger g WHERE g.tgfoid = p.oid \
         AND g.tgrelid = to_regclass({relation}) AND g.tgname LIKE 'rampart\\_usage\\_%'), \
         to_regclass({usage}) IS NOT NULL \
         FROM pg_proc p WHERE p.proname = {name} AND p.pronamespace = current_schema()::regnamespace",
        relation = quote_literal(&table_name(table)),
        usage = quote_literal(USAGE_TABLE),
        name = quote_literal(&function),
    )
}

/// SQLite: the usage table and `TEMP` row triggers on `table` for this
/// connection (`IF NOT EXISTS`: cheap when they are there). The UPDATE
/// trigger runs only when the row's tenant column or some column's part of
/// its size changed (`WHEN`): otherwise it would take the row's size from
/// its tenant and give the same back. A fixed-size column (`int`, `float`,
/// `timestamp`, `bool`) that the database holds `NOT NULL` (`not_null`, by
/// name) always weighs the same, so the trigger is `UPDATE OF` the other
/// columns: an UPDATE that sets none of them does not set up the trigger.
pub fn sqlite_install(table: &Table, tenant: usize, not_null: &[String]) -> String {
    let target = table_name(table);
    let add = |row: &str, sign: &str| {
        format!(
            "INSERT INTO {USAGE_TABLE} (tenant, bytes) SELECT {}, {sign}({}) WHERE {} IS NOT NULL \
             ON CONFLICT (tenant) DO UPDATE SET bytes = bytes + excluded.bytes;",
            row_tenant(table, tenant, row),
            row_size(table, row, Dialect::Sqlite),
            row_tenant(table, tenant, row),
        )
    };
    // `kind` names the trigger; `event` may add `OF columns` to it.
    let trigger = |kind: &str, event: &str, when: String, body: String| {
        format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS {} AFTER {event} ON {target}{when} BEGIN {body} END;\n",
            quote_ident(&format!("rampart_usage_{}_{kind}", table.name))
        )
    };
    let tenant_name = table.columns.get(tenant).map_or("", |c| c.name.as_str());
    let fixed_size = |c: &Column| {
        matches!(c.ty.ty, Ty::Int | Ty::Float | Ty::Timestamp | Ty::Bool)
            && c.name != tenant_name
            && not_null.contains(&c.name)
    };
    let mut changed: Vec<String> = Vec::new();
    let mut sizes_may_change = Vec::new();
    for ((column, new), old) in table
        .columns
        .iter()
        .zip(column_sizes(table, "NEW", Dialect::Sqlite))
        .zip(column_sizes(table, "OLD", Dialect::Sqlite))
    {
        if !fixed_size(column) {
            changed.push(format!("{new} IS NOT {old}"));
            sizes_may_change.push(quote_ident(&column.name));
        }
    }
    changed.push(format!(
        "NEW.{name} IS NOT OLD.{name}",
        name = quote_ident(tenant_name)
    ));
    let event = if sizes_may_change.len() == table.columns.len() {
        "UPDATE".to_string()
    } else {
        format!("UPDATE OF {}", sizes_may_change.join(", "))
    };
    let mut sql = format!("{};\n", create_usage_table(Dialect::Sqlite));
    sql.push_str(&trigger("insert", "INSERT", String::new(), add("NEW", "")));
    sql.push_str(&trigger(
        "update",
        &event,
        format!(" WHEN {}", changed.join(" OR ")),
        format!("{} {}", add("OLD", "-"), add("NEW", "")),
    ));
    sql.push_str(&trigger("delete", "DELETE", String::new(), add("OLD", "-")));
    sql
}

/// Rows `(tenant, bytes)`: every tenant's usage, scanned from the counted
/// tables; `None` when no table is counted.
pub fn scan_usage(set: &PolicySet, dialect: Dialect) -> Option<String> {
    let parts: Vec<String> = set
        .tables
        .iter()
        .filter_map(|table| {
            let tenant = tenant_column(set, table)?;
            Some(format!(
                "SELECT {} AS tenant, {} AS bytes FROM {} AS t",
                row_tenant(table, tenant, "t"),
                row_size(table, "t", dialect),
                table_name(table)
            ))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "SELECT tenant, sum(bytes) AS bytes FROM ({}) AS d WHERE tenant IS NOT NULL \
         GROUP BY tenant ORDER BY tenant",
        parts.join(" UNION ALL ")
    ))
}

/// Replaces every tenant's bytes with a scan's (run in one transaction,
/// after [`lock_usage_table`]); tenants with no rows get 0.
pub fn recompute(set: &PolicySet, dialect: Dialect) -> String {
    let mut sql = format!("UPDATE {USAGE_TABLE} SET bytes = 0;\n");
    if let Some(scan) = scan_usage(set, dialect) {
        sql.push_str(&format!(
            "INSERT INTO {USAGE_TABLE} (tenant, bytes) SELECT tenant, bytes FROM ({scan}) AS s \
             WHERE true ON CONFLICT (tenant) DO UPDATE SET bytes = excluded.bytes;\n"
        ));
    }
    sql
}

/// Keeps writers out while usage is recomputed: on PostgreSQL an `EXCLUSIVE`
/// lock on `rampart_usage` (a writer's trigger waits, and its rows, not yet
/// committed, are not in the scan: its count lands after); SQLite's
/// `BEGIN IMMEDIATE` already holds the only write lock.
pub fn lock_usage_table(dialect: Dialect) -> Option<String> {
    match dialect {
        Dialect::Postgres => Some(format!("LOCK TABLE {USAGE_TABLE} IN EXCLUSIVE MODE")),
        Dialect::Sqlite => None,
    }
}

/// Takes `tenant`'s usage row for the rest of the transaction (creating it
/// at 0 bytes), records the limits it writes under, and returns its bytes.
pub fn lock_tenant(tenant: &str, limits_json: &str) -> String {
    format!(
        "INSERT INTO {USAGE_TABLE} (tenant, bytes, limits) VALUES ({}, 0, {}) \
         ON CONFLICT (tenant) DO UPDATE SET limits = excluded.limits RETURNING bytes",
        quote_literal(tenant),
        quote_literal(limits_json)
    )
}

/// `tenant`'s bytes and recorded limits (no row: none counted yet).
pub fn tenant_usage(tenant: &str) -> String {
    format!(
        "SELECT bytes, limits FROM {USAGE_TABLE} WHERE tenant = {}",
        quote_literal(tenant)
    )
}

/// `tenant`'s bytes (no row: none counted yet).
pub fn tenant_bytes(tenant: &str) -> String {
    format!(
        "SELECT bytes FROM {USAGE_TABLE} WHERE tenant = {}",
        quote_literal(tenant)
    )
}

/// One row when `rampart_usage` exists, none otherwise.
pub fn usage_table_exists(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => format!("SELECT 1 WHERE to_regclass('{USAGE_TABLE}') IS NOT NULL"),
        Dialect::Sqlite => {
            format!("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{USAGE_TABLE}'")
        }
    }
}

/// Every usage row: `(tenant, bytes, limits)`, by tenant.
pub fn all_usage() -> String {
    format!("SELECT tenant, bytes, limits FROM {USAGE_TABLE} ORDER BY tenant")
}
