//! The order of a migration's steps for either method: checks before the
//! first write, resuming from the step the target recorded, cutover and
//! rollback.

use std::time::Instant;

use crate::error::Error;

use super::checksum::{checksum, render, TableCheck};
use super::error::on;
use super::snapshot::{self, Capture};
use super::state::{self, State};
use super::{redact, replication, Method, MigrateError, Migration, Side, Sides, Step};

/// Steps after which the rows are on the target and kept current.
fn copied(step: &str) -> bool {
    step == Step::Synced.name() || step == Step::Copied.name()
}

impl Migration {
    fn tenant(&self) -> &str {
        &self.options.tenant
    }

    fn table_names(&self) -> String {
        let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        names.join(",")
    }

    pub(super) fn source_err(&self) -> impl Fn(Error) -> Error + '_ {
        on(Side::Source, &self.options.from)
    }

    pub(super) fn target_err(&self) -> impl Fn(Error) -> Error + '_ {
        on(Side::Target, &self.options.to)
    }

    fn load_state(&self, sides: &mut Sides) -> Result<Option<State>, Error> {
        state::load(sides.target.as_mut(), self.tenant()).map_err(self.target_err())
    }

    pub(super) fn set_step(&self, sides: &mut Sides, step: Step) -> Result<(), Error> {
        state::set_step(sides.target.as_mut(), self.tenant(), step.name())
            .map_err(self.target_err())?;
        self.reached(step)
    }

    /// Refuses to go on with a recorded migration that is not this one.
    fn same_migration(&self, state: &State) -> Result<(), Error> {
        let running = |detail: String| {
            Error::Migrate(MigrateError::AlreadyRunning {
                tenant: self.tenant().to_string(),
                detail,
            })
        };
        if state.source != redact(&self.options.from) {
            return Err(running(format!("it copies from `{}`", state.source)));
        }
        if state.method != self.method.name() {
            return Err(running(format!("it uses the {} method", state.method)));
        }
        if state.tables != self.table_names() {
            return Err(running(format!(
                "it moves the tables `{}`; give the same `--tables`",
                state.tables
            )));
        }
        if state.step == Step::Switched.name() {
            return Err(Error::Migrate(MigrateError::AlreadyDone {
                tenant: self.tenant().to_string(),
                detail: "the tenant's database is the target now".into(),
            }));
        }
        Ok(())
    }

    /// Refuses a declared column whose type differs between two databases
    /// of one kind (across kinds, types are converted by declared type).
    fn same_column_types(&self, sides: &mut Sides) -> Result<(), Error> {
        for table in &self.tables {
            let source = table
                .column_types(sides.source.as_mut())
                .map_err(self.source_err())?;
            let target = table
                .column_types(sides.target.as_mut())
                .map_err(self.target_err())?;
            for (column, source_type) in &source {
                if let Some((_, target_type)) = target.iter().find(|(c, _)| c == column) {
                    if target_type != source_type {
                        return Err(Error::Migrate(MigrateError::SchemaDiffers {
                            table: table.name.clone(),
                            column: column.clone(),
                            source_type: source_type.clone(),
                            target_type: target_type.clone(),
                        }));
                    }
                }
            }
        }
        Ok(())
    }

    /// The checks before anything is written, then the state row.
    fn begin(&self, sides: &mut Sides) -> Result<(), Error> {
        let names: Vec<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        self.engine
            .verify_tables(sides.source.as_mut(), &names)
            .map_err(self.source_err())?;
        self.engine
            .verify_tables(sides.target.as_mut(), &names)
            .map_err(self.target_err())?;
        if sides.source.dialect() == sides.target.dialect() {
            self.same_column_types(sides)?;
        }
        let mut source_rows = 0;
        for table in &self.tables {
            let on_target = table
                .count(sides.target.as_mut())
                .map_err(self.target_err())?;
            if on_target > 0 {
                return Err(Error::Migrate(MigrateError::TargetHasRows {
                    tenant: self.tenant().to_string(),
                    table: table.name.clone(),
                    count: on_target,
                }));
            }
            source_rows += table
                .count(sides.source.as_mut())
                .map_err(self.source_err())?;
        }
        if source_rows == 0 {
            return Err(Error::Migrate(MigrateError::NoRows {
                tenant: self.tenant().to_string(),
                tables: format!("`{}`", self.table_names()),
            }));
        }
        if self.method == Method::Replication {
            replication::check_free(self, sides)?;
        }
        let state = State {
            source: redact(&self.options.from),
            method: self.method.name().to_string(),
            step: Step::Recorded.name().to_string(),
            tables: self.table_names(),
            source_changes: String::new(),
        };
        state::insert(sides.target.as_mut(), self.tenant(), &state).map_err(self.target_err())?;
        self.reached(Step::Recorded)
    }
}

/// `Migration::start` with the run lock held.
pub(super) fn start(
    m: &Migration,
    sides: &mut Sides,
    capture: Option<&Capture>,
) -> Result<(), Error> {
    if m.method == Method::Snapshot && capture.is_some() {
        snapshot::check_keys(m, sides)?;
    }
    let state = match m.load_state(sides)? {
        None => {
            m.begin(sides)?;
            m.load_state(sides)?
                .ok_or_else(|| MigrateError::NotStarted {
                    tenant: m.tenant().to_string(),
                })?
        }
        Some(state) => {
            m.same_migration(&state)?;
            if copied(&state.step) || state.step == Step::Verified.name() {
                return Err(Error::Migrate(MigrateError::AlreadyRunning {
                    tenant: m.tenant().to_string(),
                    detail: format!(
                        "its rows are on the target (step `{}`): use `--verify`, `--cutover` or `--rollback`",
                        state.step
                    ),
                }));
            }
            state
        }
    };
    let step = Step::from_name(&state.step).unwrap_or(Step::Recorded);
    match m.method {
        Method::Replication => replication::start(m, sides, step, &state),
        Method::Snapshot => snapshot::start(m, sides, capture),
    }
}

/// Counts and checksums on both sides.
pub(super) fn compare(m: &Migration, sides: &mut Sides) -> Result<Vec<TableCheck>, Error> {
    let mut checks = Vec::with_capacity(m.tables.len());
    for table in &m.tables {
        checks.push(TableCheck {
            table: table.name.clone(),
            source: checksum(sides.source.as_mut(), table).map_err(m.source_err())?,
            target: checksum(sides.target.as_mut(), table).map_err(m.target_err())?,
        });
    }
    Ok(checks)
}

fn differing(checks: &[TableCheck]) -> Option<String> {
    let names: Vec<&str> = checks
        .iter()
        .filter(|c| !c.matches())
        .map(|c| c.table.as_str())
        .collect();
    (!names.is_empty()).then(|| format!("`{}`", names.join("`, `")))
}

/// `Migration::cutover` with the run lock held.
pub(super) fn cutover(
    m: &Migration,
    sides: &mut Sides,
    capture: Option<&Capture>,
) -> Result<Vec<TableCheck>, Error> {
    let ready = |s: &Option<State>| {
        s.as_ref()
            .is_some_and(|s| copied(&s.step) || s.step == Step::Verified.name())
    };
    let mut state = m.load_state(sides)?;
    if let Some(s) = &state {
        m.same_migration(s)?;
    }
    if !ready(&state) {
        start(m, sides, capture)?;
        state = m.load_state(sides)?;
    }
    let state = state.ok_or_else(|| MigrateError::NotStarted {
        tenant: m.tenant().to_string(),
    })?;
    m.engine.stop_writes(m.tenant());
    m.reached(Step::WritesStopped)?;
    let caught_up = match m.method {
        Method::Replication => wait_until_equal(m, sides),
        Method::Snapshot => match capture {
            Some(capture) => snapshot::replay(m, sides.target.as_mut(), capture).map(|_| ()),
            None => Ok(()),
        },
    };
    if let Err(e) = caught_up {
        m.engine.resume_writes(m.tenant());
        return Err(e);
    }
    m.reached(Step::CaughtUp)?;
    let checks = compare(m, sides).inspect_err(|_| m.engine.resume_writes(m.tenant()))?;
    if let Some(tables) = differing(&checks) {
        // The source is still the tenant's database: let it write again.
        m.engine.resume_writes(m.tenant());
        return Err(Error::Migrate(MigrateError::Differs { tables }));
    }
    m.set_step(sides, Step::Verified)?;
    if m.method == Method::Replication {
        replication::remove_objects(m, sides, Some(&state))?;
    }
    m.set_step(sides, Step::Switched)?;
    Ok(checks)
}

/// Waits (writes stopped) until the target's rows equal the source's.
fn wait_until_equal(m: &Migration, sides: &mut Sides) -> Result<(), Error> {
    let started = Instant::now();
    loop {
        let checks = compare(m, sides)?;
        let Some(tables) = differing(&checks) else {
            return Ok(());
        };
        if started.elapsed() > m.options.timeout {
            return Err(Error::Migrate(MigrateError::Timeout(format!(
                "the target did not catch up with the source within {} s ({tables} differ):\n{}",
                m.options.timeout.as_secs(),
                render(&checks)
            ))));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `Migration::rollback` with the run lock held: returns what it undid.
pub(super) fn rollback(m: &Migration, sides: &mut Sides) -> Result<Vec<String>, Error> {
    let state = m.load_state(sides)?;
    if let Some(s) = &state {
        if s.step == Step::Switched.name() {
            return Err(Error::Migrate(MigrateError::AlreadyDone {
                tenant: m.tenant().to_string(),
                detail: "rollback refused: the tenant's database is the target now".into(),
            }));
        }
        if s.source != redact(&m.options.from) || s.tables != m.table_names() {
            return Err(Error::Migrate(MigrateError::Usage(format!(
                "the migration of tenant `{}` copies the tables `{}` from `{}`: roll back with that `--from` and `--tables`",
                m.tenant(),
                s.tables,
                s.source
            ))));
        }
    }
    let mut undone = Vec::new();
    if replication::both_postgres(sides) {
        undone.extend(replication::remove_objects(m, sides, state.as_ref())?);
    }
    if state.is_some() {
        let target = sides.target.as_mut();
        let err = m.target_err();
        target.batch("BEGIN").map_err(|e| err(e.into()))?;
        let mut deleted = Vec::new();
        let mut work = || -> Result<(), Error> {
            for table in &m.tables {
                let raw = target.run(&table.delete_sql(target.dialect()), false)?;
                deleted.push(format!(
                    "deleted {} row(s) of table `{}` from the target",
                    raw.affected, table.name
                ));
            }
            state::remove(target, m.tenant())?;
            Ok(target.batch("COMMIT")?)
        };
        if let Err(e) = work() {
            let _ = target.batch("ROLLBACK");
            return Err(err(e));
        }
        undone.extend(deleted);
        undone.push(format!(
            "removed the migration's row from `{}`",
            state::STATE_TABLE
        ));
    }
    m.engine.resume_writes(m.tenant());
    Ok(undone)
}
