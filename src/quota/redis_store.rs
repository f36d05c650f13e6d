//! The Redis quota store: every process pointing at the same server and
//! prefix enforces one set of limits per tenant.
//!
//! Each operation is one Lua script (`redis_lua.rs`), atomic on the server:
//! the rate limiter is the same GCRA as `rate::Gcra`, to the nanosecond,
//! on the server's clock (`TIME`, so the processes' clocks need not agree).
//! A connection slot is a lease: an id in a sorted set scored by its expiry,
//! extended by a heartbeat thread; the slots of a process that dies without
//! giving them back expire after [`RedisOptions::slot_ttl`]. Every failure to
//! reach Redis is [`QuotaError::Unavailable`] (SQLSTATE 08000), refusing the
//! request: the store fails closed for every limit, and never panics.
//!
//! Keys, for prefix `P` and tenant `T`: `P{T}:q`, a hash of the limits and
//! counters, and `P{T}:s`, the sorted set of connection slots. The braces make
//! both keys one Redis Cluster hash slot; the suffixes keep tenants apart
//! whatever characters their ids hold.
//!
//! A store has one connection, behind a mutex (a request waits for the one
//! before it; a loopback round trip is tens of microseconds), opened again
//! after an I/O error or a timeout ([`RedisOptions::timeout`]). Storage usage
//! is exact up to `i64::MAX` bytes (`HINCRBY`), the rate to 10⁹ queries a
//! second like the in-process limiter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::clock::{nanos, Clock};
use super::rate::RateLimit;
use super::redis_lua;
use super::{QuotaError, QuotaState, QuotaStore};
use crate::lang::model::Limits;

static CHECK_QPS: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(redis_lua::CHECK_QPS));
static ACQUIRE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(redis_lua::ACQUIRE));
static HEARTBEAT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(redis_lua::HEARTBEAT));
static QPS_STATE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(redis_lua::QPS_STATE));
static IN_USE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(redis_lua::IN_USE));
static ADD_STORAGE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(redis_lua::ADD_STORAGE));

/// Stores made by this process, to tell their slot ids apart.
static STORES: AtomicU64 = AtomicU64::new(0);

/// How a [`RedisStore`] talks to Redis.
#[derive(Clone)]
pub struct RedisOptions {
    /// Starts every key; stores share limits exactly when they share it.
    pub prefix: String,
    /// The longest wait for connecting, sending or an answer; past it the
    /// request is refused as unavailable.
    pub timeout: Duration,
    /// How long a connection slot outlives the last heartbeat of its process.
    pub slot_ttl: Duration,
    /// How often a background thread extends this store's slots, well within
    /// `slot_ttl` (a third, say, so one lost beat costs nothing); `None`
    /// starts no thread ([`RedisStore::heartbeat`] is then the caller's job).
    pub heartbeat: Option<Duration>,
    /// The time for the rate limiter and slot expiry instead of the server's
    /// (tests). Every store sharing a prefix must then use the same clock.
    pub clock: Option<Arc<dyn Clock>>,
}

impl Default for RedisOptions {
    /// Prefix `rampart:quota:`, timeout 1 s, slots living 30 s, a heartbeat
    /// every 10 s, the server's clock.
    fn default() -> RedisOptions {
        RedisOptions {
            prefix: "rampart:quota:".into(),
            timeout: Duration::from_secs(1),
            slot_ttl: Duration::from_secs(30),
            heartbeat: Some(Duration::from_secs(10)),
            clock: None,
        }
    }
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("slot_ttl", &self.slot_ttl)
            .field("heartbeat", &self.heartbeat)
            .field("clock", &self.clock.as_ref().map(|_| "injected"))
            .finish()
    }
}

/// Quotas kept in Redis, shared with every store on the same server and
/// prefix. Dropping the store stops its heartbeat and gives back its slots.
#[derive(Debug)]
pub struct RedisStore {
    shared: Arc<Shared>,
    heartbeat: Option<JoinHandle<()>>,
}

/// What the store and its heartbeat thread share.
struct Shared {
    client: redis::Client,
    /// One connection, opened again after an I/O error or a timeout (whose
    /// late answer would otherwise be read as the next one's).
    connection: Mutex<Option<redis::Connection>>,
    options: RedisOptions,
    /// This store's part of every slot id: process id, start time, a number.
    instance: String,
    next_slot: AtomicU64,
    /// The ids of the slots this store holds, by tenant.
    held: Mutex<HashMap<String, Vec<String>>>,
    stop: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("options", &self.options)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: &redis::RedisError) -> QuotaError {
    QuotaError::Unavailable(format!("redis: {e}"))
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`) with the default options
    /// and `prefix`.
    pub fn connect(url: &str, prefix: &str) -> Result<RedisStore, QuotaError> {
        RedisStore::connect_with(
            url,
            RedisOptions {
                prefix: prefix.into(),
                ..RedisOptions::default()
            },
        )
    }

    /// Connects to `url`; fails (unavailable) if Redis cannot be reached now.
    pub fn connect_with(url: &str, options: RedisOptions) -> Result<RedisStore, QuotaError> {
        let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
        let number = STORES.fetch_add(1, Ordering::Relaxed);
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(nanos)
            .unwrap_or(0);
        let shared = Arc::new(Shared {
            client,
            connection: Mutex::new(None),
            instance: format!("{}:{started}:{number}", std::process::id()),
            options,
            next_slot: AtomicU64::new(0),
            held: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
        });
        shared.with_connection(|c| redis::cmd("PING").query::<()>(c))?;
        let heartbeat = shared.options.heartbeat.and_then(|every| {
            let beat = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("rampart-quota-heartbeat".into())
                .spawn(move || {
                    while !beat.stop.load(Ordering::Relaxed) {
                        std::thread::park_timeout(every.max(Duration::from_millis(1)));
                        if !beat.stop.load(Ordering::Relaxed) {
                            // A failed beat is retried at the next; the slots
                            // live `slot_ttl`, several beats.
                            let _ = beat.heartbeat();
                        }
                    }
                })
                .ok()
        });
        if shared.options.heartbeat.is_some() && heartbeat.is_none() {
            return Err(QuotaError::Unavailable(
                "could not start the quota heartbeat thread".into(),
            ));
        }
        Ok(RedisStore { shared, heartbeat })
    }

    /// Extends the lease of every slot this store holds by `slot_ttl`, and
    /// forgets those that had already expired. The heartbeat thread calls it;
    /// without one ([`RedisOptions::heartbeat`] `None`), call it well within
    /// `slot_ttl`.
    pub fn heartbeat(&self) -> Result<(), QuotaError> {
        self.shared.heartbeat()
    }

    /// The connection slots of `tenant` in use now, by every process.
    pub fn connections_in_use(&self, tenant: &str) -> Result<u64, QuotaError> {
        let shared = &self.shared;
        let mut call = IN_USE.prepare_invoke();
        call.key(shared.key(tenant, "s"));
        shared.now_args(&mut call);
        shared.with_connection(|c| call.invoke(c))
    }
}

impl Shared {
    /// The key of `tenant`'s hash (`kind` "q") or slots ("s").
    fn key(&self, tenant: &str, kind: &str) -> String {
        format!("{}{{{tenant}}}:{kind}", self.options.prefix)
    }

    /// `ARGV[1]` and `ARGV[2]`: the injected clock's time, or empty for the
    /// server's.
    fn now_args(&self, call: &mut redis::ScriptInvocation<'_>) {
        match &self.options.clock {
            Some(clock) => {
                let now = clock.now_nanos();
                call.arg(now / 1_000_000_000).arg(now % 1_000_000_000);
            }
            None => {
                call.arg("").arg("");
            }
        }
    }

    fn ttl_millis(&self) -> u64 {
        u64::try_from(self.options.slot_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Runs `f` on the connection, opening one if there is none. After an
    /// error that is not Redis's answer (I/O, timeout) the connection is
    /// dropped, to be opened again by the next request.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, QuotaError> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut connection = match slot.take() {
            Some(connection) => connection,
            None => self.open().map_err(|e| unavailable(&e))?,
        };
        let result = f(&mut connection);
        let keep = match &result {
            Ok(_) => true,
            Err(e) => {
                matches!(e.kind(), redis::ErrorKind::Server(_)) && !e.is_unrecoverable_error()
            }
        };
        if keep {
            *slot = Some(connection);
        }
        result.map_err(|e| unavailable(&e))
    }

    fn open(&self) -> redis::RedisResult<redis::Connection> {
        // A zero timeout is refused by the socket calls: take it as 1 ms.
        let wait = self.options.timeout.max(Duration::from_millis(1));
        let timeout = Some(wait);
        let connection = self.client.get_connection_with_timeout(wait)?;
        connection.set_read_timeout(timeout)?;
        connection.set_write_timeout(timeout)?;
        Ok(connection)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<String>>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn heartbeat(&self) -> Result<(), QuotaError> {
        let held: Vec<(String, Vec<String>)> = self
            .held()
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(tenant, ids)| (tenant.clone(), ids.clone()))
            .collect();
        let mut first_error = None;
        for (tenant, ids) in held {
            let mut call = HEARTBEAT.prepare_invoke();
            call.key(self.key(&tenant, "s"));
            self.now_args(&mut call);
            call.arg(self.ttl_millis()).arg(&ids);
            match self.with_connection(|c| call.invoke::<Vec<String>>(c)) {
                Ok(lost) if lost.is_empty() => {}
                Ok(lost) => {
                    if let Some(ids) = self.held().get_mut(&tenant) {
                        ids.retain(|id| !lost.contains(id));
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Gives back every slot this store holds (best effort: what cannot be
    /// given back expires).
    fn release_all(&self) {
        let held = std::mem::take(&mut *self.held());
        for (tenant, ids) in held {
            if ids.is_empty() {
                continue;
            }
            let key = self.key(&tenant, "s");
            let _ = self.with_connection(|c| redis::cmd("ZREM").arg(&key).arg(&ids).query::<()>(c));
        }
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.heartbeat.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        self.shared.release_all();
    }
}

fn unknown(tenant: &str) -> QuotaError {
    QuotaError::UnknownTenant(tenant.to_string())
}

impl QuotaStore for RedisStore {
    /// Writes the limits in one transaction; counters, slots and the rate
    /// history stay.
    fn set_limits(&self, tenant: &str, limits: &Limits) -> Result<(), QuotaError> {
        let key = self.shared.key(tenant, "q");
        let rate = RateLimit::from_qps(limits.qps);
        let mut pipe = redis::pipe();
        pipe.atomic().hset(&key, "registered", 1).ignore();
        for (field, value) in [
            ("connections", limits.connections),
            ("qps", rate.qps()),
            ("interval", rate.qps().map(|_| rate.interval())),
            ("storage", limits.storage),
            ("max_rows", limits.max_rows),
        ] {
            match value {
                Some(v) => pipe.hset(&key, field, v).ignore(),
                None => pipe.hdel(&key, field).ignore(),
            };
        }
        self.shared.with_connection(|c| pipe.query::<()>(c))
    }

    fn check_qps(&self, tenant: &str) -> Result<(), QuotaError> {
        let shared = &self.shared;
        let mut call = CHECK_QPS.prepare_invoke();
        call.key(shared.key(tenant, "q"));
        shared.now_args(&mut call);
        let (status, retry_ns, qps): (i64, u64, u64) =
            shared.with_connection(|c| call.invoke(c))?;
        let refused = |retry_after| QuotaError::Rate {
            tenant: tenant.to_string(),
            limit: qps,
            retry_after,
        };
        match status {
            0 => Ok(()),
            1 => Err(refused(Duration::from_nanos(retry_ns))),
            2 => Err(refused(Duration::MAX)),
            _ => Err(unknown(tenant)),
        }
    }

    fn acquire_connection(&self, tenant: &str) -> Result<(), QuotaError> {
        let shared = &self.shared;
        let id = format!(
            "{}:{}",
            shared.instance,
            shared.next_slot.fetch_add(1, Ordering::Relaxed)
        );
        let mut call = ACQUIRE.prepare_invoke();
        call.key(shared.key(tenant, "q"))
            .key(shared.key(tenant, "s"));
        shared.now_args(&mut call);
        call.arg(shared.ttl_millis()).arg(&id);
        let (status, limit): (i64, u64) = shared.with_connection(|c| call.invoke(c))?;
        match status {
            0 => {
                shared
                    .held()
                    .entry(tenant.to_string())
                    .or_default()
                    .push(id);
                Ok(())
            }
            1 => Err(QuotaError::Connections {
                tenant: tenant.to_string(),
                limit,
            }),
            _ => Err(unknown(tenant)),
        }
    }

    /// Gives back one of the slots this store took for `tenant`. If Redis
    /// cannot be reached the slot expires after `slot_ttl` instead.
    fn release_connection(&self, tenant: &str) {
        let shared = &self.shared;
        let Some(id) = shared.held().get_mut(tenant).and_then(Vec::pop) else {
            return;
        };
        let key = shared.key(tenant, "s");
        let _ = shared.with_connection(|c| redis::cmd("ZREM").arg(&key).arg(&id).query::<()>(c));
    }

    fn add_storage(&self, tenant: &str, bytes: i64) -> Result<u64, QuotaError> {
        let mut call = ADD_STORAGE.prepare_invoke();
        call.key(self.shared.key(tenant, "q")).arg(bytes);
        let (status, used, limit): (i64, u64, u64) =
            self.shared.with_connection(|c| call.invoke(c))?;
        match status {
            0 => Ok(used),
            1 => Err(QuotaError::StorageFull {
                tenant: tenant.to_string(),
                used,
                limit,
            }),
            _ => Err(unknown(tenant)),
        }
    }

    fn storage_used(&self, tenant: &str) -> Result<u64, QuotaError> {
        let key = self.shared.key(tenant, "q");
        let (exists, used): (bool, Option<u64>) = self
            .shared
            .with_connection(|c| redis::pipe().exists(&key).hget(&key, "used").query(c))?;
        if !exists {
            return Err(unknown(tenant));
        }
        Ok(used.unwrap_or(0))
    }

    fn state(&self, tenant: &str) -> Result<Option<QuotaState>, QuotaError> {
        let shared = &self.shared;
        let key = shared.key(tenant, "q");
        let mut call = QPS_STATE.prepare_invoke();
        call.key(&key);
        shared.now_args(&mut call);
        let (status, available): (i64, u64) = shared.with_connection(|c| call.invoke(c))?;
        let queries_available = match status {
            -1 => return Ok(None),
            1 => None,
            _ => Some(available),
        };
        type Fields = (Option<u64>, Option<u64>, Option<u64>, Option<u64>);
        let (connections, qps, storage, max_rows): Fields = shared.with_connection(|c| {
            redis::cmd("HMGET")
                .arg(&key)
                .arg(&["connections", "qps", "storage", "max_rows"])
                .query(c)
        })?;
        Ok(Some(QuotaState {
            limits: Limits {
                connections,
                qps,
                storage,
                max_rows,
            },
            connections: self.connections_in_use(tenant)?,
            queries_available,
        }))
    }
}
