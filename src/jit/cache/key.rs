//! The tenant's part of a context as a key: its `tenant.*` values encoded
//! as bytes (the LRU's key), and hashed and compared as values, without
//! encoding (the per-thread front's lookup).

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hasher};

use crate::lang::model::{PolicySet, Value};
use crate::lang::ContextKind;

/// A tenant's context values, encoded so that equal values are equal keys
/// (floats by their bits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantKey(pub(super) Vec<u8>);

impl TenantKey {
    /// The key of the `tenant.*` fields of `context` (a full context,
    /// indexed as [`PolicySet::context`]).
    pub fn new(set: &PolicySet, context: &[Value]) -> TenantKey {
        let mut bytes = Vec::new();
        encode_key(set, context, &mut bytes);
        TenantKey(bytes)
    }
}

/// The key's bytes: a lookup by a key encoded into a reused buffer.
impl Borrow<[u8]> for TenantKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// Appends the bytes of [`TenantKey::new`] to `out`.
fn encode_key(set: &PolicySet, context: &[Value], out: &mut Vec<u8>) {
    for (field, value) in set.context.iter().zip(context) {
        if field.block == ContextKind::Tenant {
            encode(value, out);
        }
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

/// The positions of the `tenant.*` fields in a context of `set`.
pub(super) fn tenant_fields(set: &PolicySet) -> Vec<usize> {
    set.context
        .iter()
        .enumerate()
        .filter(|(_, field)| field.block == ContextKind::Tenant)
        .map(|(i, _)| i)
        .collect()
}

/// A hash of the values at `fields` of `context`, equal for contexts that
/// [`same_tenant`] finds equal.
#[inline]
pub(super) fn hash_tenant(hasher: &impl BuildHasher, fields: &[usize], context: &[Value]) -> u64 {
    let mut h = hasher.build_hasher();
    for &i in fields {
        match context.get(i) {
            Some(value) => hash_value(value, &mut h),
            None => h.write_u8(0xff),
        }
    }
    h.finish()
}

fn hash_value(value: &Value, h: &mut impl Hasher) {
    match value {
        Value::Null => h.write_u8(0),
        Value::Int(i) => {
            h.write_u8(1);
            h.write_i64(*i);
        }
        Value::Float(x) => {
            h.write_u8(2);
            h.write_u64(x.to_bits());
        }
        Value::Bool(b) => {
            h.write_u8(3);
            h.write_u8(u8::from(*b));
        }
        Value::Text(s) => {
            h.write_u8(4);
            h.write_usize(s.len());
            h.write(s.as_bytes());
        }
        Value::Timestamp(t) => {
            h.write_u8(5);
            h.write_i64(*t);
        }
        Value::TextSet(s) => {
            h.write_u8(6);
            h.write_usize(s.len());
            for item in s {
                h.write_usize(item.len());
                h.write(item.as_bytes());
            }
        }
        Value::IntSet(s) => {
            h.write_u8(7);
            h.write_usize(s.len());
            for item in s {
                h.write_i64(*item);
            }
        }
    }
}

/// Whether `context` has the tenant values `known` (indexed as the context,
/// `None` where a field was missing) at `fields`: the equality of
/// [`TenantKey`], floats by their bits.
#[inline]
pub(super) fn same_tenant(known: &[Option<Value>], fields: &[usize], context: &[Value]) -> bool {
    fields.iter().all(
        |&i| match (known.get(i).and_then(Option::as_ref), context.get(i)) {
            (None, None) => true,
            (Some(Value::Float(a)), Some(Value::Float(b))) => a.to_bits() == b.to_bits(),
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    )
}
