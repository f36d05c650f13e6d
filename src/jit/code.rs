//! The crate's only `unsafe` code: calling finished machine code, freeing it,
//! and the `extern "C"` callbacks it calls for text and sets. Every block
//! says why it is sound; everything around it is safe Rust. (`unsafe_code` is
//! allowed for this module alone, in `jit/mod.rs`.)

use std::collections::BTreeSet;
use std::sync::Arc;

use cranelift_jit::JITModule;
use cranelift_module::FuncId;

use super::layout::address;
use crate::policy::interp::like;

/// `fn(rows, count, context, arena, out) -> status`, the entry of every
/// predicate: decides `count` rows laid out one after the other from `rows`,
/// writing each outcome (0 false, 1 true, 2 null) to `out[i]`, and returns 0
/// when every row was decided, else the first error's code (the rows after
/// it are not decided).
type EntryFn = unsafe extern "C" fn(*const u64, u64, *const u64, *mut Arena, *mut u8) -> i64;

/// Texts made while deciding one row (`lower`, `upper`, `||`), freed after.
#[derive(Debug, Default)]
pub struct Arena {
    texts: Vec<String>,
}

impl Arena {
    pub fn clear(&mut self) {
        self.texts.clear();
    }

    /// Keeps `s` alive until [`Arena::clear`] and writes its address and
    /// length to `out`.
    fn keep(&mut self, s: String, out: &mut [u64; 2]) {
        *out = [address(s.as_ptr()), s.len() as u64];
        // Moving a `String` does not move its bytes.
        self.texts.push(s);
    }
}

/// A finalised `JITModule`: the machine code of one or more predicates,
/// freed when the last [`Code`] pointing into it is dropped.
pub(super) struct CodeModule {
    module: Option<JITModule>,
}

// SAFETY: after `finalize_definitions` the module is never changed again; its
// code is only called (it keeps no state between calls) and freed once, on
// drop, which needs the last owner, so sharing it between threads is sound.
unsafe impl Send for CodeModule {}
// SAFETY: as above: shared use is calling immutable machine code.
unsafe impl Sync for CodeModule {}

impl CodeModule {
    /// Takes over a module after its `finalize_definitions`.
    pub(super) fn new(module: JITModule) -> Arc<CodeModule> {
        Arc::new(CodeModule {
            module: Some(module),
        })
    }

    /// The function `id` of the module, defined by `generate` with the
    /// [`EntryFn`] signature, reading rows of `row_words` and contexts of
    /// `context_words` words.
    pub(super) fn code(
        self: &Arc<CodeModule>,
        id: FuncId,
        row_words: usize,
        context_words: usize,
    ) -> Option<Code> {
        let pointer = self.module.as_ref()?.get_finalized_function(id);
        // SAFETY: `id` names a finalised function defined with the signature
        // `(i64, i64, i64, i64, i64) -> i64` in the native calling convention,
        // which is what `EntryFn` is on the 64-bit targets Cranelift-native
        // supports.
        let entry = unsafe { std::mem::transmute::<*const u8, EntryFn>(pointer) };
        Some(Code {
            _module: Arc::clone(self),
            entry,
            row_words,
            context_words,
        })
    }
}

impl Drop for CodeModule {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the module is being dropped, so no `Code` (each holds
            // an `Arc` of it, and the entry pointers live only in them) can
            // call into it again.
            unsafe { module.free_memory() };
        }
    }
}

/// One finished predicate function and the module owning its memory.
pub(super) struct Code {
    // Keeps the machine code alive while `entry` may be called.
    _module: Arc<CodeModule>,
    entry: EntryFn,
    row_words: usize,
    context_words: usize,
}

impl Code {
    /// Decides the rows of `rows` (one after the other, `out.len()` of
    /// them), writing an outcome per row to `out`; returns the status (0, or
    /// the first error's code). `None` when a buffer is not of the layout
    /// the code was compiled for.
    pub(super) fn run(
        &self,
        rows: &[u64],
        context: &[u64],
        arena: &mut Arena,
        out: &mut [u8],
    ) -> Option<i64> {
        let fits = out.len().checked_mul(self.row_words) == Some(rows.len());
        if !fits || context.len() != self.context_words {
            return None;
        }
        let count = u64::try_from(out.len()).ok()?;
        // SAFETY: `rows` holds exactly `count` rows and `context` one context
        // of the layouts the code was compiled for (checked above), and the
        // code reads only inside them and writes only `out[0..count]`; their
        // text and set pointers were written by `RowLayout::fill*` from
        // values that the buffers borrow, so they are alive; `arena` is a
        // unique borrow for the duration of the call.
        Some(unsafe {
            (self.entry)(
                rows.as_ptr(),
                count,
                context.as_ptr(),
                arena,
                out.as_mut_ptr(),
            )
        })
    }
}

/// Frees the texts of the row just decided; the compiled loop calls it
/// after each row when its predicate makes texts.
pub(super) extern "C" fn arena_clear(arena: *mut Arena) {
    // SAFETY: the code passes the arena it was given by `Code::run` (a
    // unique borrow), after the row whose texts it frees is decided.
    unsafe { (*arena).clear() }
}

/// The bytes at `(ptr, len)`, as the compiled code passes text.
///
/// # Safety
/// `ptr` must point to `len` readable bytes that outlive `'a` when `len > 0`.
unsafe fn bytes<'a>(ptr: u64, len: u64) -> &'a [u8] {
    if ptr == 0 || len == 0 {
        return &[];
    }
    let (Ok(len), Ok(ptr)) = (usize::try_from(len), usize::try_from(ptr)) else {
        return &[];
    };
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
}

fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Text arguments come from row or context buffers (values they borrow),
/// the predicate's constants, or the arena; all outlive the call, and a null
/// text is `(0, 0)`. This holds for every callback below.
pub(super) extern "C" fn text_compare(ap: u64, al: u64, bp: u64, bl: u64) -> i64 {
    // SAFETY: see above.
    let (a, b) = unsafe { (bytes(ap, al), bytes(bp, bl)) };
    a.cmp(b) as i64
}

/// 1 match, 0 no match, 2 the pattern ends in an escape.
pub(super) extern "C" fn text_like(ap: u64, al: u64, bp: u64, bl: u64) -> i64 {
    // SAFETY: see `text_compare`.
    let (a, b) = unsafe { (bytes(ap, al), bytes(bp, bl)) };
    match like(&text(a), &text(b)) {
        Ok(m) => i64::from(m),
        Err(_) => 2,
    }
}

pub(super) extern "C" fn text_starts_with(ap: u64, al: u64, bp: u64, bl: u64) -> i64 {
    // SAFETY: see `text_compare`.
    let (a, b) = unsafe { (bytes(ap, al), bytes(bp, bl)) };
    i64::from(a.starts_with(b))
}

/// Characters, as `length`: bytes that do not continue a UTF-8 sequence.
pub(super) extern "C" fn text_length(ap: u64, al: u64) -> i64 {
    // SAFETY: see `text_compare`.
    let a = unsafe { bytes(ap, al) };
    let n = a.iter().filter(|b| (**b & 0xC0) != 0x80).count();
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs `make` on the text at `(ap, al)` and keeps the result in the arena.
///
/// # Safety
/// As for the callbacks; `arena` and `out` are the compiled function's arena
/// argument and a 16-byte stack slot of its frame.
unsafe fn make_text(arena: *mut Arena, out: *mut [u64; 2], made: String) {
    // SAFETY: the caller passes the arena it was given by `Code::run`
    // (a unique borrow) and a slot of its own frame.
    unsafe { (*arena).keep(made, &mut *out) }
}

pub(super) extern "C" fn text_lower(arena: *mut Arena, ap: u64, al: u64, out: *mut [u64; 2]) {
    // SAFETY: see `text_compare` and `make_text`.
    unsafe { make_text(arena, out, text(bytes(ap, al)).to_ascii_lowercase()) }
}

pub(super) extern "C" fn text_upper(arena: *mut Arena, ap: u64, al: u64, out: *mut [u64; 2]) {
    // SAFETY: see `text_compare` and `make_text`.
    unsafe { make_text(arena, out, text(bytes(ap, al)).to_ascii_uppercase()) }
}

pub(super) extern "C" fn text_concat(
    arena: *mut Arena,
    ap: u64,
    al: u64,
    bp: u64,
    bl: u64,
    out: *mut [u64; 2],
) {
    // SAFETY: see `text_compare` and `make_text`.
    unsafe {
        let joined = format!("{}{}", text(bytes(ap, al)), text(bytes(bp, bl)));
        make_text(arena, out, joined);
    }
}

/// `x in set` for text: 1 in, 0 not in, 2 null. `set` is 0 (null) or points
/// to a `BTreeSet<String>` of a context buffer or the predicate's constants.
pub(super) extern "C" fn text_set_contains(set: u64, xp: u64, xl: u64, x_null: i64) -> i64 {
    let Ok(set) = usize::try_from(set) else {
        return 2;
    };
    if set == 0 {
        return 2;
    }
    // SAFETY: the translator passes only pointers read from `set<text>`
    // slots, which `RowLayout::fill` writes from a borrowed `BTreeSet<String>`,
    // or the address of a boxed constant set the predicate owns.
    let set = unsafe { &*(set as *const BTreeSet<String>) };
    if set.is_empty() {
        return 0;
    }
    if x_null != 0 {
        return 2;
    }
    // SAFETY: see `text_compare`.
    let x = unsafe { bytes(xp, xl) };
    i64::from(set.contains(text(x).as_ref()))
}

/// `x in set` for int, as [`text_set_contains`].
pub(super) extern "C" fn int_set_contains(set: u64, x: i64, x_null: i64) -> i64 {
    let Ok(set) = usize::try_from(set) else {
        return 2;
    };
    if set == 0 {
        return 2;
    }
    // SAFETY: as in `text_set_contains`, for `set<int>` slots and constants.
    let set = unsafe { &*(set as *const BTreeSet<i64>) };
    if set.is_empty() {
        return 0;
    }
    if x_null != 0 {
        return 2;
    }
    i64::from(set.contains(&x))
}
