//! The per-tenant cache of compiled predicates: keyed by the tenant's context
//! values, bounded (least recently used tenants are evicted and their code
//! freed), compiling each table × command × clause once, on first use.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use lru::LruCache;

use super::{compile_specialised, CompiledPredicate, JitError};
use crate::lang::model::{PolicySet, Value};
use crate::lang::{Command, ContextKind};
use crate::policy::combine::{combine, Clause};

/// Tenants kept by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

const COMMANDS: [Command; 4] = [
    Command::Select,
    Command::Insert,
    Command::Update,
    Command::Delete,
];

/// A tenant's context values, encoded so that equal values are equal keys
/// (floats by their bits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantKey(Vec<u8>);

impl TenantKey {
    /// The key of the `tenant.*` fields of `context` (a full context,
    /// indexed as [`PolicySet::context`]).
    pub fn new(set: &PolicySet, context: &[Value]) -> TenantKey {
        let mut bytes = Vec::new();
        for (field, value) in set.context.iter().zip(context) {
            if field.block == ContextKind::Tenant {
                encode(value, &mut bytes);
            }
        }
        TenantKey(bytes)
    }
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    let text = |tag: u8, s: &str, out: &mut Vec<u8>| {
        out.push(tag);
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    match value {
        Value::Null => out.push(0),
        Value::Int(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(x) => {
            out.push(2);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Bool(b) => out.extend_from_slice(&[3, u8::from(*b)]),
        Value::Text(s) => text(4, s, out),
        Value::Timestamp(t) => {
            out.push(5);
            out.extend_from_slice(&t.to_le_bytes());
        }
        Value::TextSet(s) => {
            out.push(6);
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            for item in s {
                text(4, item, out);
            }
        }
        Value::IntSet(s) => {
            out.push(7);
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            for item in s {
                out.extend_from_slice(&item.to_le_bytes());
            }
        }
    }
}

type Slot = OnceLock<Result<Arc<CompiledPredicate>, JitError>>;

/// One tenant's predicates, compiled on first use (once, however many
/// threads ask at the same time).
#[derive(Debug)]
pub struct TenantPredicates {
    known: Vec<Option<Value>>,
    slots: Vec<Slot>,
}

impl TenantPredicates {
    fn new(set: &PolicySet, context: &[Value]) -> TenantPredicates {
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
        TenantPredicates { known, slots }
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
    }

    /// As [`TenantPredicates::predicate`], adding one to `compiles` when
    /// this call is the one that compiles.
    fn predicate_counted(
        &self,
        set: &PolicySet,
        table: usize,
        command: Command,
        clause: Clause,
        compiles: Option<&AtomicUsize>,
    ) -> Result<Arc<CompiledPredicate>, JitError> {
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
        .clone()
    }
}

/// Compiled predicates per tenant, for one policy set.
pub struct PredicateCache {
    set: Arc<PolicySet>,
    tenants: Mutex<LruCache<TenantKey, Arc<TenantPredicates>>>,
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
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        PredicateCache {
            set,
            tenants: Mutex::new(LruCache::new(capacity)),
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
        let key = TenantKey::new(&self.set, context);
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants
            .get_or_insert(key, || Arc::new(TenantPredicates::new(&self.set, context)))
            .clone()
    }

    /// The compiled predicate for the tenant of `context`.
    pub fn predicate(
        &self,
        context: &[Value],
        table: usize,
        command: Command,
        clause: Clause,
    ) -> Result<Arc<CompiledPredicate>, JitError> {
        self.predicate_of(&self.tenant(context), table, command, clause)
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
