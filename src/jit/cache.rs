//! The per-tenant cache of compiled predicates: keyed by the tenant's context
//! values, bounded (least recently used tenants are evicted and their code
//! freed), compiling each table × command × clause once, on first use.
//!
//! A lookup goes first to a small front per thread (`front.rs`): no lock, no
//! allocation. Only its misses take the LRU's mutex.

mod front;
mod key;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use foldhash::fast::RandomState;
use lru::LruCache;

use super::{compile_specialised, CompiledPredicate, JitError};
use crate::lang::model::{PolicySet, Value};
use crate::lang::{Command, ContextKind};
use crate::policy::combine::{combine, Clause};
pub use key::TenantKey;

/// Tenants kept by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

const COMMANDS: [Command; 4] = [
    Command::Select,
    Command::Insert,
    Command::Update,
    Command::Delete,
];

type Slot = OnceLock<Result<Arc<CompiledPredicate>, JitError>>;

/// One tenant's predicates, compiled on first use (once, however many
/// threads ask at the same time).
#[derive(Debug)]
pub struct TenantPredicates {
    key: TenantKey,
    known: Vec<Option<Value>>,
    slots: Vec<Slot>,
}

impl TenantPredicates {
    fn new(set: &PolicySet, context: &[Value], key: TenantKey) -> TenantPredicates {
        let known = set
            .context
            .iter()
            .zip(context.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(field, value)| match value {
                Some(v) if field.block == ContextKind::Tenant => Some(v.clone()),
                _ => None,
            })
            .collect();
        let slots = (0..set.tables.len() * COMMANDS.len() * 2)
            .map(|_| OnceLock::new())
            .collect();
        TenantPredicates { key, known, slots }
    }

    /// The context values folded into this tenant's code (its `tenant.*`
    /// fields; `None` for the fields read at run time).
    pub fn known(&self) -> &[Option<Value>] {
        &self.known
    }

    /// The compiled predicate of `table` × `command` × `clause`.
    pub fn predicate(
        &self,
        set: &PolicySet,
        table: usize,
        command: Command,
        clause: Clause,
    ) -> Result<Arc<CompiledPredicate>, JitError> {
        self.predicate_counted(set, table, command, clause, None)
            .map(Arc::clone)
    }

    /// As [`TenantPredicates::predicate`], borrowed, adding one to
    /// `compiles` when this call is the one that compiles.
    fn predicate_counted(
        &self,
        set: &PolicySet,
        table: usize,
        command: Command,
        clause: Clause,
        compiles: Option<&AtomicUsize>,
    ) -> Result<&Arc<CompiledPredicate>, JitError> {
        let c = COMMANDS.iter().position(|x| *x == command).unwrap_or(0);
        let index = (table * COMMANDS.len() + c) * 2 + usize::from(clause == Clause::Check);
        let slot = self.slots.get(index).ok_or(JitError::UnknownTable(table))?;
        slot.get_or_init(|| {
            if let Some(count) = compiles {
                count.fetch_add(1, Ordering::Relaxed);
            }
            let combined = combine(set, table, command, clause);
            compile_specialised(set, table, &combined.expr, &self.known).map(Arc::new)
        })
        .as_ref()
        .map_err(Clone::clone)
    }
}

/// Compiled predicates per tenant, for one policy set.
pub struct PredicateCache {
    set: Arc<PolicySet>,
    /// Tells this cache's entries from other caches' in the per-thread fronts.
    id: u64,
    hasher: RandomState,
    /// The positions of the `tenant.*` fields in a context.
    tenant_fields: Vec<usize>,
    tenants: Mutex<LruCache<TenantKey, Arc<TenantPredicates>, RandomState>>,
    /// Compilations run through [`PredicateCache::predicate`] (refusals too).
    compiles: AtomicUsize,
}

impl std::fmt::Debug for PredicateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredicateCache")
            .field("tenants", &self.len())
            .finish()
    }
}

impl PredicateCache {
    /// A cache keeping at most `capacity` tenants (at least one).
    pub fn new(set: Arc<PolicySet>, capacity: usize) -> PredicateCache {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        PredicateCache {
            tenant_fields: key::tenant_fields(&set),
            set,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            hasher: RandomState::default(),
            tenants: Mutex::new(LruCache::with_hasher(capacity, RandomState::default())),
            compiles: AtomicUsize::new(0),
        }
    }

    /// A cache of [`DEFAULT_CAPACITY`] tenants.
    pub fn with_default_capacity(set: Arc<PolicySet>) -> PredicateCache {
        PredicateCache::new(set, DEFAULT_CAPACITY)
    }

    /// The entry of the tenant whose values are in `context` (made, empty,
    /// if new; the least recently used tenant goes when the cache is full).
    pub fn tenant(&self, context: &[Value]) -> Arc<TenantPredicates> {
        self.find(context, Arc::clone)
    }

    /// Runs `f` on the entry of the tenant of `context`, as
    /// [`PredicateCache::tenant`] but borrowed: a hit takes no lock, makes
    /// no allocation and counts no reference.
    pub fn with_tenant<R>(&self, context: &[Value], f: impl Fn(&TenantPredicates) -> R) -> R {
        self.find(context, |tenant| f(tenant))
    }

    /// Runs `f` on the entry of the tenant of `context`: from this thread's
    /// front when it is there (no lock, no allocation), else from the LRU.
    fn find<R>(&self, context: &[Value], f: impl Fn(&Arc<TenantPredicates>) -> R) -> R {
        let same = |t: &TenantPredicates| key::same_tenant(&t.known, &self.tenant_fields, context);
        let answer = front::with(|front| {
            // The tenant of the last hit first: a caller keeps asking for one
            // tenant, and then no hash is needed.
            let hash = match front.recent(self.id, same) {
                Some(hit) => return self.hit(hit, &f),
                None => key::hash_tenant(&self.hasher, &self.tenant_fields, context),
            };
            if let Some(hit) = front.get(self.id, hash, same) {
                return self.hit(hit, &f);
            }
            let tenant = self.lookup(&TenantKey::new(&self.set, context).0, context);
            let answer = f(&tenant);
            front.put(self.id, hash, tenant);
            answer
        });
        answer.unwrap_or_else(|| {
            // No front on this thread now (it is ending, or this is a lookup
            // inside a lookup): the LRU alone.
            let key = TenantKey::new(&self.set, context);
            f(&self.lookup(&key.0, context))
        })
    }

    /// A front's hit: `f` on the tenant, after telling the LRU about it if
    /// `touch`.
    #[inline]
    fn hit<R>(
        &self,
        (tenant, touch): (&Arc<TenantPredicates>, bool),
        f: impl Fn(&Arc<TenantPredicates>) -> R,
    ) -> R {
        if touch {
            self.touch(tenant);
        }
        f(tenant)
    }

    /// The LRU's entry for `key` (made if new), which it marks most recent.
    fn lookup(&self, key: &[u8], context: &[Value]) -> Arc<TenantPredicates> {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tenant) = tenants.get(key) {
            return Arc::clone(tenant);
        }
        let key = TenantKey(key.to_vec());
        let tenant = Arc::new(TenantPredicates::new(&self.set, context, key.clone()));
        let evicted = tenants.push(key, Arc::clone(&tenant));
        drop(tenants);
        // An evicted tenant's code is freed here (unless a caller still holds
        // it), outside the lock.
        drop(evicted);
        tenant
    }

    /// Tells the LRU that a tenant found in a front is in use (now and then,
    /// and only if the lock is free): marks it most recent, or puts it back
    /// if it was evicted meanwhile.
    fn touch(&self, tenant: &Arc<TenantPredicates>) {
        let Ok(mut tenants) = self.tenants.try_lock() else {
            return;
        };
        if !tenants.promote(tenant.key.0.as_slice()) {
            let evicted = tenants.push(tenant.key.clone(), Arc::clone(tenant));
            drop(tenants);
            drop(evicted);
        }
    }

    /// The compiled predicate for the tenant of `context`.
    pub fn predicate(
        &self,
        context: &[Value],
        table: usize,
        command: Command,
        clause: Clause,
    ) -> Result<Arc<CompiledPredicate>, JitError> {
        self.find(context, |tenant| {
            self.predicate_in(tenant, table, command, clause)
                .map(Arc::clone)
        })
    }

    /// The compiled predicate of an entry got from [`PredicateCache::tenant`]
    /// (one lookup for several predicates).
    pub fn predicate_of(
        &self,
        tenant: &TenantPredicates,
        table: usize,
        command: Command,
        clause: Clause,
    ) -> Result<Arc<CompiledPredicate>, JitError> {
        self.predicate_in(tenant, table, command, clause)
            .map(Arc::clone)
    }

    /// As [`PredicateCache::predicate_of`], borrowed from the entry (for
    /// [`PredicateCache::with_tenant`]).
    pub fn predicate_in<'t>(
        &self,
        tenant: &'t TenantPredicates,
        table: usize,
        command: Command,
        clause: Clause,
    ) -> Result<&'t Arc<CompiledPredicate>, JitError> {
        tenant.predicate_counted(&self.set, table, command, clause, Some(&self.compiles))
    }

    /// How many predicates [`PredicateCache::predicate`] has compiled (or
    /// tried to: refusals count), since the cache was made.
    pub fn compiles(&self) -> usize {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Tenants held now.
    pub fn len(&self) -> usize {
        self.tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most tenants held.
    pub fn capacity(&self) -> usize {
        self.tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .cap()
            .get()
    }
}
