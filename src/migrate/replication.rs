//! PostgreSQL → PostgreSQL on PostgreSQL's own machinery: a publication on
//! the source whose row filter per table is the tenant's predicate, a slot
//! made by Rampart, and a subscription on the target that copies the rows
//! and then streams changes. Objects are named after the source database
//! and the tenant, so a rerun or a rollback finds them.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::exec::{Backend, SqlValue};
use crate::sql::Dialect;

use super::progress::Progress;
use super::state::{State, STATE_TABLE};
use super::values::quote_text;
use super::{MigrateError, Migration, Sides, Step};

/// Whether both sides are PostgreSQL.
pub fn both_postgres(sides: &Sides) -> bool {
    sides.source.dialect() == Dialect::Postgres && sides.target.dialect() == Dialect::Postgres
}

fn quoted(text: &str) -> Result<String, Error> {
    quote_text(text).map_err(|m| Error::Migrate(MigrateError::Usage(m)))
}

/// The first value of the first row.
fn scalar(backend: &mut dyn Backend, sql: &str) -> Result<SqlValue, Error> {
    let raw = backend.run(sql, true)?;
    Ok(raw
        .rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or(SqlValue::Null))
}

fn exists(backend: &mut dyn Backend, sql: &str) -> Result<bool, Error> {
    Ok(scalar(backend, &format!("SELECT EXISTS ({sql})"))?.is_true())
}

/// `rampart_mig_<hash>`: the publication, slot and subscription of the
/// tenant's migration out of the source's database.
fn object_name(m: &Migration, source: &mut dyn Backend) -> Result<String, Error> {
    let database = match scalar(source, "SELECT current_database()::text")? {
        SqlValue::Text(name) => name,
        _ => String::new(),
    };
    let digest = Sha256::digest(format!("{database}\u{0}{}", m.options.tenant).as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    Ok(format!("rampart_mig_{hex}"))
}

/// Refuses when the source already publishes this tenant (to a target
/// other than this one, which has no record of it).
pub fn check_free(m: &Migration, sides: &mut Sides) -> Result<(), Error> {
    let source = sides.source.as_mut();
    let name = object_name(m, source).map_err(m.source_err())?;
    let taken = exists(
        source,
        &format!(
            "SELECT 1 FROM pg_publication WHERE pubname = {n} \
             UNION ALL SELECT 1 FROM pg_replication_slots WHERE slot_name = {n}",
            n = quoted(&name)?
        ),
    )
    .map_err(m.source_err())?;
    if taken {
        return Err(Error::Migrate(MigrateError::AlreadyRunning {
            tenant: m.options.tenant.clone(),
            detail: format!(
                "the source already has its publication or slot `{name}` (a migration to another \
                 target; roll that back or finish it first)"
            ),
        }));
    }
    // Every row filter is tried before anything is changed.
    publish(m, source, &name, Publish::DryRun)
}

/// Whether `publish` keeps what it made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Publish {
    Commit,
    DryRun,
}

/// Runs the replication steps after `done`, then waits for the copy.
pub fn start(m: &Migration, sides: &mut Sides, done: Step, state: &State) -> Result<(), Error> {
    let name = object_name(m, sides.source.as_mut()).map_err(m.source_err())?;
    if done < Step::ReplicaIdentity {
        let changes = if state.source_changes.is_empty() {
            let changes = identity_changes(m, sides.source.as_mut()).map_err(m.source_err())?;
            let json = serde_json::to_string(&changes).unwrap_or_else(|_| "[]".into());
            let sql = format!(
                "UPDATE {STATE_TABLE} SET source_changes = {} WHERE tenant = {}",
                quoted(&json)?,
                quoted(&m.options.tenant)?
            );
            sides
                .target
                .batch(&sql)
                .map_err(|e| m.target_err()(e.into()))?;
            changes
        } else {
            recorded_changes(state)
        };
        for [table, _, _] in &changes {
            sides
                .source
                .batch(&format!("ALTER TABLE {table} REPLICA IDENTITY FULL"))
                .map_err(|e| m.source_err()(e.into()))?;
        }
        m.set_step(sides, Step::ReplicaIdentity)?;
    }
    if done < Step::Published {
        publish(m, sides.source.as_mut(), &name, Publish::Commit)?;
        m.set_step(sides, Step::Published)?;
    }
    if done < Step::Subscribed {
        subscribe(m, sides, &name)?;
        m.set_step(sides, Step::Subscribed)?;
    }
    wait_synced(m, sides, &name)?;
    m.set_step(sides, Step::Synced)
}

/// `[table, identity, index]` for each table whose replica identity must
/// become FULL: it does not cover the columns the row filter reads (or
/// is none at all), so the source could not publish its updates.
fn identity_changes(m: &Migration, source: &mut dyn Backend) -> Result<Vec<[String; 3]>, Error> {
    let mut changes = Vec::new();
    for table in &m.tables {
        let sql = format!(
            "SELECT c.relreplident::text, \
               coalesce((SELECT quote_ident(ic.relname) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
                         WHERE i.indrelid = c.oid AND i.indisreplident), ''), \
               coalesce((SELECT array_agg(a.attname::text) FROM pg_index i \
                         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
                         WHERE i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) \
                               OR (c.relreplident = 'i' AND i.indisreplident))), '{{}}') \
             FROM pg_class c WHERE c.oid = {}::regclass",
            quoted(&table.sql_name)?
        );
        let raw = source.run(&sql, true)?;
        let row = raw.rows.into_iter().next().unwrap_or_default();
        let text = |i: usize| match row.get(i) {
            Some(SqlValue::Text(s)) => s.clone(),
            _ => String::new(),
        };
        let identity = text(0);
        if identity == "f" {
            continue;
        }
        let key: Vec<String> = match row.get(2) {
            Some(SqlValue::Array(items)) => items.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        };
        let read = table
            .columns
            .iter()
            .filter(|(c, _)| table.row_filter.contains(&super::values::quote_ident(c)));
        let covered = !key.is_empty() && read.clone().all(|(c, _)| key.contains(c));
        if !covered {
            changes.push([table.sql_name.clone(), identity, text(1)]);
        }
    }
    Ok(changes)
}

fn recorded_changes(state: &State) -> Vec<[String; 3]> {
    serde_json::from_str(&state.source_changes).unwrap_or_default()
}

/// The publication with each table's row filter, in one transaction
/// (rolled back for a dry run, which only tries the row filters).
fn publish(m: &Migration, source: &mut dyn Backend, name: &str, how: Publish) -> Result<(), Error> {
    let on_source = m.source_err();
    let present = exists(
        source,
        &format!(
            "SELECT 1 FROM pg_publication WHERE pubname = {}",
            quoted(name)?
        ),
    )
    .map_err(&on_source)?;
    if present && how == Publish::Commit {
        return Ok(());
    }
    source.batch("BEGIN").map_err(|e| on_source(e.into()))?;
    let mut result = source
        .batch(&format!(
            "CREATE PUBLICATION {name} WITH (publish = 'insert, update, delete')"
        ))
        .map_err(|e| on_source(e.into()));
    for table in &m.tables {
        if result.is_err() {
            break;
        }
        let filter = match table.row_filter.as_str() {
            "true" => String::new(),
            predicate => format!(" WHERE ({predicate})"),
        };
        let sql = format!(
            "ALTER PUBLICATION {name} ADD TABLE {}{filter}",
            table.sql_name
        );
        result = source.batch(&sql).map_err(|e| {
            if matches!(e.sqlstate.as_str(), "0A000" | "42P17" | "42804" | "42883") {
                Error::Migrate(MigrateError::RowFilter {
                    table: table.name.clone(),
                    predicate: table.row_filter.clone(),
                    reason: e.message,
                })
            } else {
                on_source(e.into())
            }
        });
    }
    match result {
        Ok(()) if how == Publish::DryRun => {
            source.batch("ROLLBACK").map_err(|e| on_source(e.into()))
        }
        Ok(()) => source.batch("COMMIT").map_err(|e| on_source(e.into())),
        Err(e) => {
            let _ = source.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The slot on the source (made here, so that source and target may be
/// databases of one cluster) and the subscription on the target.
fn subscribe(m: &Migration, sides: &mut Sides, name: &str) -> Result<(), Error> {
    let on_source = m.source_err();
    let on_target = m.target_err();
    let present = exists(
        sides.target.as_mut(),
        &format!(
            "SELECT 1 FROM pg_subscription WHERE subname = {} \
             AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            quoted(name)?
        ),
    )
    .map_err(&on_target)?;
    if present {
        return Ok(());
    }
    let slot = exists(
        sides.source.as_mut(),
        &format!(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = {}",
            quoted(name)?
        ),
    )
    .map_err(&on_source)?;
    if !slot {
        scalar(
            sides.source.as_mut(),
            &format!(
                "SELECT pg_create_logical_replication_slot({}, 'pgoutput')::text",
                quoted(name)?
            ),
        )
        .map_err(&on_source)?;
    }
    let sql = format!(
        "CREATE SUBSCRIPTION {name} CONNECTION {} PUBLICATION {name} \
         WITH (create_slot = false, slot_name = {}, copy_data = true)",
        quoted(&m.options.from)?,
        quoted(name)?
    );
    sides.target.batch(&sql).map_err(|e| on_target(e.into()))
}

/// Waits until every table of the subscription is copied, showing rows.
fn wait_synced(m: &Migration, sides: &mut Sides, name: &str) -> Result<(), Error> {
    let mut total = 0;
    for table in &m.tables {
        total += table.count(sides.source.as_mut()).map_err(m.source_err())?;
    }
    let progress = Progress::new(m.options.progress, total);
    let started = Instant::now();
    let sql = format!(
        "SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid \
         WHERE s.subname = {} AND r.srsubstate NOT IN ('r', 's')",
        quoted(name)?
    );
    loop {
        let mut copied = 0;
        for (i, table) in m.tables.iter().enumerate() {
            progress.table(&table.name, i + 1, m.tables.len());
            copied += table.count(sides.target.as_mut()).map_err(m.target_err())?;
        }
        progress.set_rows(copied);
        let waiting = scalar(sides.target.as_mut(), &sql).map_err(m.target_err())?;
        if waiting == SqlValue::Int(0) {
            progress.finish();
            return Ok(());
        }
        if started.elapsed() > m.options.timeout {
            progress.finish();
            return Err(Error::Migrate(MigrateError::Timeout(format!(
                "the initial copy of tenant `{}` did not finish within {} s ({copied} of {total} rows \
                 copied); the target server's log says why (for example a column whose type differs \
                 from the source's)",
                m.options.tenant,
                m.options.timeout.as_secs()
            ))));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes the subscription, the publication, the slots and the replica
/// identity changes, whichever exist; returns what it removed.
pub fn remove_objects(
    m: &Migration,
    sides: &mut Sides,
    state: Option<&State>,
) -> Result<Vec<String>, Error> {
    let on_source = m.source_err();
    let on_target = m.target_err();
    let name = object_name(m, sides.source.as_mut()).map_err(&on_source)?;
    let mut undone = Vec::new();
    let subscription = scalar(
        sides.target.as_mut(),
        &format!(
            "SELECT oid::bigint FROM pg_subscription WHERE subname = {} \
             AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            quoted(name.as_str())?
        ),
    )
    .map_err(&on_target)?;
    let mut slots = vec![quoted(&name)?];
    if let SqlValue::Int(oid) = subscription {
        // Detached from its slot first, which Rampart drops itself: DROP
        // SUBSCRIPTION would otherwise wait on a slot of its own cluster.
        sides
            .target
            .batch(&format!(
                "ALTER SUBSCRIPTION {name} DISABLE; ALTER SUBSCRIPTION {name} SET (slot_name = NONE); \
                 DROP SUBSCRIPTION {name}"
            ))
            .map_err(|e| on_target(e.into()))?;
        undone.push(format!("dropped subscription `{name}` on the target"));
        slots.push(format!("'pg\\_{oid}\\_sync\\_%'"));
    }
    let dropped = exists(
        sides.source.as_mut(),
        &format!(
            "SELECT 1 FROM pg_publication WHERE pubname = {}",
            quoted(&name)?
        ),
    )
    .map_err(&on_source)?;
    if dropped {
        sides
            .source
            .batch(&format!("DROP PUBLICATION {name}"))
            .map_err(|e| on_source(e.into()))?;
        undone.push(format!("dropped publication `{name}` on the source"));
    }
    let slot_filter = format!(
        "slot_name = {} OR slot_name LIKE {}",
        slots.first().cloned().unwrap_or_default(),
        slots.get(1).cloned().unwrap_or_else(|| "''".into())
    );
    let started = Instant::now();
    loop {
        // A slot stays active until its walsender notices the subscription
        // is gone; wait for that rather than fail.
        let raw = sides
            .source
            .run(
                &format!(
                    "SELECT slot_name::text, active FROM pg_replication_slots WHERE {slot_filter}"
                ),
                true,
            )
            .map_err(|e| on_source(e.into()))?;
        if raw.rows.is_empty() {
            break;
        }
        let mut busy = false;
        for row in &raw.rows {
            match (row.first(), row.get(1)) {
                (Some(SqlValue::Text(slot)), Some(active)) if !active.is_true() => {
                    scalar(
                        sides.source.as_mut(),
                        &format!("SELECT pg_drop_replication_slot({})::text", quoted(slot)?),
                    )
                    .map_err(&on_source)?;
                    undone.push(format!("dropped replication slot `{slot}` on the source"));
                }
                _ => busy = true,
            }
        }
        if busy && started.elapsed() > Duration::from_secs(1) {
            // The subscription is gone: end the walsender still holding
            // its slot rather than wait for it to time out.
            sides
                .source
                .run(
                    &format!(
                        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                         WHERE ({slot_filter}) AND active"
                    ),
                    true,
                )
                .map_err(|e| on_source(e.into()))?;
        }
        if busy && started.elapsed() > m.options.timeout {
            return Err(on_source(Error::Migrate(MigrateError::Timeout(format!(
                "a replication slot of `{name}` is still in use after {} s",
                m.options.timeout.as_secs()
            )))));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(state) = state {
        for [table, identity, index] in recorded_changes(state) {
            let setting = match identity.as_str() {
                "n" => "NOTHING".to_string(),
                "i" => format!("USING INDEX {index}"),
                _ => "DEFAULT".to_string(),
            };
            sides
                .source
                .batch(&format!("ALTER TABLE {table} REPLICA IDENTITY {setting}"))
                .map_err(|e| on_source(e.into()))?;
            undone.push(format!(
                "put back the replica identity of {table} on the source"
            ));
        }
    }
    Ok(undone)
}
