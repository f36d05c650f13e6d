//! The row layout that compiled predicates read: one fixed slot per declared
//! column (or context field), filled from `&[Value]` by safe code that checks
//! the shape, so compiled code never sees a buffer it was not built for.
//!
//! # ABI
//!
//! A buffer is a sequence of `u64` words, [`SLOT_WORDS`] per slot, slot `i`
//! starting at word `i * SLOT_WORDS` (byte offset `i * SLOT_BYTES`):
//!
//! | word | `int` / `timestamp` | `float` | `bool` | `text` | `set<…>` |
//! | --- | --- | --- | --- | --- | --- |
//! | 0 | the `i64` | the `f64` bits | 0 or 1 | pointer to UTF-8 bytes | pointer to the `BTreeSet` |
//! | 1 | 0 | 0 | 0 | length in bytes | 0 |
//! | 2 | null flag | null flag | null flag | null flag | null flag |
//!
//! The null flag is 1 for `null` (then words 0 and 1 are 0) and 0 otherwise.
//! Pointers borrow from the `Value`s the buffer was filled from; the buffer
//! carries their lifetime.

use std::marker::PhantomData;

use crate::lang::model::{Ty, Value};
use crate::policy::EvalError;

/// Words per slot.
pub const SLOT_WORDS: usize = 3;
/// Bytes per slot.
pub const SLOT_BYTES: usize = SLOT_WORDS * 8;
/// The word of a slot holding the value (or text / set pointer).
pub const PAYLOAD_WORD: usize = 0;
/// The word of a slot holding a text's length in bytes.
pub const LEN_WORD: usize = 1;
/// The word of a slot holding the null flag.
pub const NULL_WORD: usize = 2;

/// The slot types of one table's row (or of the context), built once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowLayout {
    slots: Vec<Ty>,
}

impl RowLayout {
    pub fn new(slots: Vec<Ty>) -> RowLayout {
        RowLayout { slots }
    }

    /// The number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The type of slot `i`.
    pub fn slot(&self, i: usize) -> Option<Ty> {
        self.slots.get(i).copied()
    }

    /// The byte offset of word `word` of slot `i`.
    pub fn offset(i: usize, word: usize) -> usize {
        i * SLOT_BYTES + word * 8
    }

    /// The number of words in one buffer of this layout.
    pub fn words(&self) -> usize {
        self.slots.len() * SLOT_WORDS
    }

    /// A buffer holding `values`, which must have one value per slot, each
    /// `null` or of the slot's type.
    pub fn fill<'v>(&self, values: &'v [Value]) -> Result<RowBuffer<'v>, EvalError> {
        let mut words = Vec::with_capacity(self.words());
        self.append(values, &mut words)?;
        Ok(RowBuffer {
            words,
            _values: PhantomData,
        })
    }

    /// Many rows of this layout in one buffer, one after the other.
    pub fn fill_batch<'v, R: AsRef<[Value]>>(
        &self,
        rows: &'v [R],
    ) -> Result<RowBatch<'v>, EvalError> {
        let mut words = Vec::with_capacity(self.words() * rows.len());
        for row in rows {
            self.append(row.as_ref(), &mut words)?;
        }
        Ok(RowBatch {
            words,
            stride: self.words(),
            rows: rows.len(),
            _values: PhantomData,
        })
    }

    fn append(&self, values: &[Value], words: &mut Vec<u64>) -> Result<(), EvalError> {
        if values.len() < self.slots.len() {
            return Err(EvalError::MissingValue {
                index: values.len(),
            });
        }
        if values.len() > self.slots.len() {
            return Err(EvalError::WrongShape {
                index: self.slots.len(),
                expected: "no more values",
            });
        }
        for (index, (ty, value)) in self.slots.iter().zip(values).enumerate() {
            words.extend_from_slice(&slot_words(*ty, value, index)?);
        }
        Ok(())
    }
}

/// An address as a word of the buffer.
pub(super) fn address<T: ?Sized>(p: *const T) -> u64 {
    p.cast::<u8>() as usize as u64
}

fn slot_words(ty: Ty, value: &Value, index: usize) -> Result<[u64; SLOT_WORDS], EvalError> {
    let bits = |w: u64| [w, 0, 0];
    Ok(match (ty, value) {
        (_, Value::Null) => [0, 0, 1],
        (Ty::Int, Value::Int(i)) | (Ty::Timestamp, Value::Timestamp(i)) => bits(*i as u64),
        (Ty::Float, Value::Float(x)) => bits(x.to_bits()),
        (Ty::Bool, Value::Bool(b)) => bits(u64::from(*b)),
        (Ty::Text, Value::Text(s)) => [address(s.as_ptr()), s.len() as u64, 0],
        (Ty::TextSet, Value::TextSet(s)) => bits(address(s)),
        (Ty::IntSet, Value::IntSet(s)) => bits(address(s)),
        _ => {
            return Err(EvalError::WrongShape {
                index,
                expected: ty.name(),
            })
        }
    })
}

/// One row (or context) laid out for compiled code; borrows its values.
#[derive(Debug)]
pub struct RowBuffer<'v> {
    words: Vec<u64>,
    _values: PhantomData<&'v [Value]>,
}

impl RowBuffer<'_> {
    /// The words of the buffer (see the module's ABI table).
    pub fn words(&self) -> &[u64] {
        &self.words
    }
}

/// Many rows laid out one after the other; borrows their values.
#[derive(Debug)]
pub struct RowBatch<'v> {
    words: Vec<u64>,
    stride: usize,
    rows: usize,
    _values: PhantomData<&'v [Value]>,
}

impl RowBatch<'_> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The words of all rows, one row after the other.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The words of each row, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[u64]> {
        (0..self.rows).filter_map(move |r| self.words.get(r * self.stride..(r + 1) * self.stride))
    }
}
