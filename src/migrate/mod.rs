//! Tenant migration: moving one tenant's rows from one database to another
//! while the source stays online, checking that both sides agree, cutting
//! over, or rolling back. PostgreSQL → PostgreSQL streams through a
//! publication (row filter = the tenant's predicate) and a subscription;
//! any other pair copies a snapshot and replays captured change events.

mod checksum;
mod error;
mod flow;
mod progress;
mod replication;
mod snapshot;
mod state;
mod tables;
mod values;

use std::time::Duration;

pub use checksum::{render as render_checks, Checksum, TableCheck};
pub use error::{redact, MigrateError, Side};
pub use snapshot::Capture;
pub use state::STATE_TABLE;

use crate::engine::{Context, Engine};
use crate::error::Error;
use crate::exec::{self, Backend};

use error::on;
use tables::TenantTable;

/// How the rows travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// PostgreSQL logical replication: a publication on the source whose
    /// row filter is the tenant's predicate, a subscription on the target
    /// that copies the rows and then streams every change.
    Replication,
    /// A snapshot of the tenant's rows copied in one transaction, then the
    /// change events captured meanwhile ([`Capture`]) replayed.
    Snapshot,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Replication => "replication",
            Method::Snapshot => "snapshot",
        }
    }
}

/// The steps of a migration, in order; each is recorded on the target when
/// done. [`Options::stop_after`] ends a run right after one, as a crash
/// would, so that every interruption can be tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The migration is recorded in the target's `rampart_migration`.
    Recorded,
    /// Replication: tables whose replica identity does not cover the row
    /// filter's columns are set to `REPLICA IDENTITY FULL`.
    ReplicaIdentity,
    /// Replication: the publication exists on the source.
    Published,
    /// Replication: the subscription exists on the target (copying).
    Subscribed,
    /// Replication: the initial copy is done; changes stream.
    Synced,
    /// Snapshot: the tenant's rows are copied.
    Copied,
    /// Cutover: the tenant's writes are stopped in the engine.
    WritesStopped,
    /// Cutover: the target has every change.
    CaughtUp,
    /// Cutover: the checksums are equal.
    Verified,
    /// Cutover: replication objects removed, the migration marked done.
    Switched,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::Recorded,
        Step::ReplicaIdentity,
        Step::Published,
        Step::Subscribed,
        Step::Synced,
        Step::Copied,
        Step::WritesStopped,
        Step::CaughtUp,
        Step::Verified,
        Step::Switched,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Recorded => "recorded",
            Step::ReplicaIdentity => "replica-identity",
            Step::Published => "published",
            Step::Subscribed => "subscribed",
            Step::Synced => "synced",
            Step::Copied => "copied",
            Step::WritesStopped => "writes-stopped",
            Step::CaughtUp => "caught-up",
            Step::Verified => "verified",
            Step::Switched => "switched",
        }
    }

    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What to migrate, from where to where.
#[derive(Clone, Debug)]
pub struct Options {
    /// The tenant's id (`tenant.id` of the context).
    pub tenant: String,
    /// The context the tenant's rows are selected as: the rows of each
    /// table that its SELECT policies admit. Give a context that sees all
    /// of the tenant's rows (typically an admin of the tenant). `None`:
    /// `{"tenant": {"id": <tenant>}}`, enough for a policy set whose context
    /// declares nothing else.
    pub context: Option<Context>,
    /// Source and target URLs, as [`exec::open`] takes them.
    pub from: String,
    pub to: String,
    /// Declared tables to move; empty: every declared table.
    pub tables: Vec<String>,
    /// `None`: replication when both sides are PostgreSQL, else snapshot.
    pub method: Option<Method>,
    /// Show a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// Test hook: end the run right after this step, as a crash would.
    pub stop_after: Option<Step>,
    /// How long to wait for the initial copy and for catching up.
    pub timeout: Duration,
}

impl Options {
    pub fn new(tenant: &str, from: &str, to: &str) -> Options {
        Options {
            tenant: tenant.to_string(),
            context: None,
            from: from.to_string(),
            to: to.to_string(),
            tables: Vec::new(),
            method: None,
            progress: false,
            stop_after: None,
            timeout: Duration::from_secs(120),
        }
    }
}

/// One tenant's migration between two databases. Every operation opens its
/// own connections and reads where the migration stands from the target,
/// so operations may run in different processes, and again after a crash.
pub struct Migration {
    engine: Engine,
    options: Options,
    method: Method,
    tables: Vec<TenantTable>,
}

impl Migration {
    /// Checks the options and plans the tables (nothing is connected yet).
    pub fn new(engine: &Engine, options: Options) -> Result<Migration, Error> {
        let usage = |m: String| Error::Migrate(MigrateError::Usage(m));
        if options.from == options.to {
            return Err(usage(
                "the source and the target are the same database".into(),
            ));
        }
        let postgres =
            |url: &str| url.starts_with("postgres://") || url.starts_with("postgresql://");
        let both_postgres = postgres(&options.from) && postgres(&options.to);
        let method = match options.method {
            Some(Method::Replication) if !both_postgres => return Err(usage(
                "the replication method needs PostgreSQL on both sides (use `--method snapshot`)"
                    .into(),
            )),
            Some(m) => m,
            None if both_postgres => Method::Replication,
            None => Method::Snapshot,
        };
        let ctx = migration_context(engine, &options)?;
        let tables = TenantTable::plan(engine, &ctx, &options.tables)?;
        Ok(Migration {
            engine: engine.clone(),
            options,
            method,
            tables,
        })
    }

    /// The method this migration uses.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Copies the tenant's rows to the target. Replication: sets up the
    /// publication and the subscription and returns once the initial copy
    /// is done, changes streaming on. Snapshot: copies the rows in one
    /// transaction, then replays what `capture` holds (subscribe the
    /// sessions that may write the tenant's rows to it *before* calling
    /// this). A run stopped part way is finished by calling this again.
    pub fn start(&self, capture: Option<&Capture>) -> Result<(), Error> {
        let mut sides = self.connect()?;
        let _lock = state::lock(
            sides.target.as_mut(),
            &self.options.to,
            &self.options.tenant,
        )
        .map_err(on(Side::Target, &self.options.to))?;
        flow::start(self, &mut sides, capture)
    }

    /// Replays the change events `capture` holds onto the target (snapshot
    /// method); returns how many were applied.
    pub fn catch_up(&self, capture: &Capture) -> Result<usize, Error> {
        if self.method != Method::Snapshot {
            return Err(Error::Migrate(MigrateError::Usage(
                "replication streams changes itself: captured events are for the snapshot method"
                    .into(),
            )));
        }
        let mut sides = self.connect()?;
        snapshot::replay(self, sides.target.as_mut(), capture)
    }

    /// Counts and checksums of the tenant's rows, per table, on both sides.
    pub fn verify(&self) -> Result<Vec<TableCheck>, Error> {
        let mut sides = self.connect()?;
        flow::compare(self, &mut sides)
    }

    /// Stops the tenant's writes in this engine's sessions, waits until the
    /// target has every change, checks that both sides agree, removes the
    /// replication objects and records the migration as done (starting it
    /// first if need be). The tenant's writes stay stopped in this engine:
    /// point the tenant at the target. Returns the final comparison.
    pub fn cutover(&self, capture: Option<&Capture>) -> Result<Vec<TableCheck>, Error> {
        let mut sides = self.connect()?;
        let _lock = state::lock(
            sides.target.as_mut(),
            &self.options.to,
            &self.options.tenant,
        )
        .map_err(on(Side::Target, &self.options.to))?;
        flow::cutover(self, &mut sides, capture)
    }

    /// Undoes a migration that is not done, from whatever step it stopped
    /// at: removes the subscription, the publication and its slot, puts
    /// back the source's replica identities, deletes the tenant's rows it
    /// copied to the target and its state row, and lets the tenant write
    /// again. The source's rows are never touched.
    pub fn rollback(&self) -> Result<Vec<String>, Error> {
        let mut sides = self.connect()?;
        let _lock = state::lock(
            sides.target.as_mut(),
            &self.options.to,
            &self.options.tenant,
        )
        .map_err(on(Side::Target, &self.options.to))?;
        flow::rollback(self, &mut sides)
    }

    /// The last step recorded on the target, if a migration is under way.
    pub fn status(&self) -> Result<Option<String>, Error> {
        let mut target = open_side(Side::Target, &self.options.to)?;
        Ok(state::load(target.as_mut(), &self.options.tenant)
            .map_err(on(Side::Target, &self.options.to))?
            .map(|s| s.step))
    }

    fn connect(&self) -> Result<Sides, Error> {
        Ok(Sides {
            source: open_side(Side::Source, &self.options.from)?,
            target: open_side(Side::Target, &self.options.to)?,
        })
    }

    /// Ends the run here if the test hook says so.
    fn reached(&self, step: Step) -> Result<(), Error> {
        match self.options.stop_after {
            Some(stop) if stop == step => Err(Error::Migrate(MigrateError::Stopped(step))),
            _ => Ok(()),
        }
    }
}

/// The two open databases of one operation.
struct Sides {
    source: Box<dyn Backend>,
    target: Box<dyn Backend>,
}

/// Opens one side; an SQLite file must exist already (opening would
/// create an empty one).
fn open_side(side: Side, url: &str) -> Result<Box<dyn Backend>, Error> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path != ":memory:" && !path.is_empty() && !std::path::Path::new(path).exists() {
            return Err(on(side, url)(Error::Url(format!(
                "`{path}`: no such SQLite database file"
            ))));
        }
        if path == ":memory:" {
            return Err(on(side, url)(Error::Url(
                "an in-memory database cannot take part in a migration".into(),
            )));
        }
    }
    exec::open(url).map_err(on(side, url))
}

/// The context of the migration: the one given (its `tenant.id` must be
/// the tenant), or `{"tenant": {"id": <tenant>}}`.
fn migration_context(engine: &Engine, options: &Options) -> Result<Context, Error> {
    let context_error = |m: String| Error::Migrate(MigrateError::Context(m));
    let ctx = match &options.context {
        Some(ctx) => ctx.clone(),
        None => {
            let json = serde_json::json!({"tenant": {"id": options.tenant}});
            Context::from_json(&json.to_string())?
        }
    };
    let values = engine.context_values(&ctx).map_err(|e| {
        context_error(if options.context.is_some() {
            e.to_string()
        } else {
            format!(
                "{e}: the policy set's context declares more than `tenant.id`; give the context \
                 the tenant's rows are read as (e.g. an admin of the tenant) with `--context`"
            )
        })
    })?;
    match crate::policy::quota::tenant_id(engine.policy_set(), &values) {
        Some(id) if id == options.tenant => Ok(ctx),
        Some(id) => Err(context_error(format!(
            "the context is tenant `{id}`, not `{}`",
            options.tenant
        ))),
        None => Err(context_error(
            "the policy set declares no `tenant.id` to tell tenants apart".into(),
        )),
    }
}
