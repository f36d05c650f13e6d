//! Three-valued logic: `not`, `and` / `or` (without branches unless the right
//! side can fail, then short-circuit left to right), `in [...]` and `in set`.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value as Ir};

use super::{Jv, Translator};
use crate::jit::{code, JitError};
use crate::lang::model::{TExpr, TExprKind, Ty, Value};
use crate::lang::BinaryOp;
use crate::policy::simplify::can_fail;

impl Translator<'_, '_> {
    pub(super) fn translate_not(&mut self, x: &TExpr) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        let known = self.b.ins().bor(a.v, a.null);
        let v = self.b.ins().bxor_imm_u(known, 1);
        Ok(Jv {
            v,
            len: v,
            null: a.null,
        })
    }

    pub(super) fn translate_and(&mut self, l: &TExpr, r: &TExpr) -> Result<Jv, JitError> {
        self.translate_logic(l, r, false)
    }

    pub(super) fn translate_or(&mut self, l: &TExpr, r: &TExpr) -> Result<Jv, JitError> {
        self.translate_logic(l, r, true)
    }

    /// `and` (`or_` false) or `or`: a right side that cannot fail is computed
    /// anyway; one that can runs only when the left does not decide.
    fn translate_logic(&mut self, l: &TExpr, r: &TExpr, or_: bool) -> Result<Jv, JitError> {
        let a = self.translate(l)?;
        if !can_fail(r) {
            let b = self.translate(r)?;
            return Ok(self.combine(a, b, or_));
        }
        let done = self.b.create_block();
        let v = self.b.append_block_param(done, types::I8);
        let null = self.b.append_block_param(done, types::I8);
        let rhs = self.b.create_block();
        let decided = if or_ { a.v } else { self.is_false(&a) };
        let constant = self.b.ins().iconst(types::I8, i64::from(or_));
        let zero = self.b.ins().iconst(types::I8, 0);
        self.b
            .ins()
            .brif(decided, done, &[constant.into(), zero.into()], rhs, &[]);
        self.b.switch_to_block(rhs);
        let b = self.translate(r)?;
        let c = self.combine(a, b, or_);
        self.b.ins().jump(done, &[c.v.into(), c.null.into()]);
        self.b.switch_to_block(done);
        Ok(Jv { v, len: v, null })
    }

    fn is_false(&mut self, a: &Jv) -> Ir {
        let known = self.b.ins().bor(a.v, a.null);
        self.b.ins().bxor_imm_u(known, 1)
    }

    /// Both sides known: `and` is false if either is false, else null if
    /// either is null; `or` is true if either is true, else null if either is.
    /// (A null `bool` has `v` = 0, so `v` of `and` / `or` is the plain one.)
    fn combine(&mut self, a: Jv, b: Jv, or_: bool) -> Jv {
        if or_ {
            let v = self.b.ins().bor(a.v, b.v);
            let some_null = self.either_null(&a, &b);
            let null = self.b.ins().band_not(some_null, v);
            return Jv { v, len: v, null };
        }
        let v = self.b.ins().band(a.v, b.v);
        // Neither is false (each true or null), and not both true.
        let a_maybe = self.b.ins().bor(a.v, a.null);
        let b_maybe = self.b.ins().bor(b.v, b.null);
        let none_false = self.b.ins().band(a_maybe, b_maybe);
        let null = self.b.ins().band_not(none_false, v);
        Jv { v, len: v, null }
    }

    /// `x in [a, b, …]` as PostgreSQL runs `x = a OR x = b …`: items left to
    /// right, stopping at the first match; an empty list is `negated`.
    pub(super) fn translate_in_list(
        &mut self,
        x: &TExpr,
        items: &[TExpr],
        negated: bool,
    ) -> Result<Jv, JitError> {
        if items.is_empty() {
            let v = self.b.ins().iconst(types::I8, i64::from(negated));
            return Ok(self.not_null(v));
        }
        let xv = self.translate(x)?;
        if let Some((low, mask)) = small_int_set(x, items) {
            return Ok(self.translate_in_bits(xv, low, mask, negated));
        }
        let stop_early = items.iter().any(can_fail);
        let done = self.b.create_block();
        let done_v = self.b.append_block_param(done, types::I8);
        let done_null = self.b.append_block_param(done, types::I8);
        let mut saw_null = xv.null;
        let mut any = self.b.ins().iconst(types::I8, 0);
        let found = self.b.ins().iconst(types::I8, i64::from(!negated));
        let zero = self.b.ins().iconst(types::I8, 0);
        for item in items {
            let iv = self.translate(item)?;
            let null = self.either_null(&xv, &iv);
            let equal = self
                .compare_values(BinaryOp::Eq, x, item, &xv, &iv)
                .unwrap_or(zero);
            let matched = self.unless_null(equal, null);
            saw_null = self.b.ins().bor(saw_null, iv.null);
            if stop_early {
                let next = self.b.create_block();
                self.b
                    .ins()
                    .brif(matched, done, &[found.into(), zero.into()], next, &[]);
                self.b.switch_to_block(next);
            } else {
                any = self.b.ins().bor(any, matched);
            }
        }
        // No match (or, without branches, `any` says whether there was one).
        let not_found = self.b.ins().iconst(types::I8, i64::from(negated));
        let none_v = self.unless_null(not_found, saw_null);
        let v = self.b.ins().select(any, found, none_v);
        let none_null = self.unless_null(saw_null, any);
        self.b.ins().jump(done, &[v.into(), none_null.into()]);
        self.b.switch_to_block(done);
        Ok(Jv {
            v: done_v,
            len: done_v,
            null: done_null,
        })
    }

    /// `x in [...]` of int literals within 64 of each other: one bit test
    /// of `x - low` in `mask` (bit `i` set for the item `low + i`), as
    /// compilers lower such a `switch`. Null only when `x` is.
    fn translate_in_bits(&mut self, xv: Jv, low: i64, mask: u64, negated: bool) -> Jv {
        let offset = self.b.ins().iadd_imm_s(xv.v, low.wrapping_neg());
        let near = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, offset, 64);
        let bits = self.b.ins().iconst(types::I64, mask as i64);
        // `ushr` takes the shift amount modulo 64; `near` masks the rest.
        let shifted = self.b.ins().ushr(bits, offset);
        let bit = self.b.ins().band_imm_u(shifted, 1);
        let bit = self.b.ins().ireduce(types::I8, bit);
        let inside = self.b.ins().band(near, bit);
        let v = if negated {
            self.b.ins().bxor_imm_u(inside, 1)
        } else {
            inside
        };
        self.boolean(v, xv.null)
    }

    /// `x in set`, as `x = ANY(array)`: an empty set gives false, a null
    /// set or (otherwise) a null `x` gives null.
    pub(super) fn translate_in_set(
        &mut self,
        x: &TExpr,
        set: &TExpr,
        negated: bool,
    ) -> Result<Jv, JitError> {
        let xv = self.translate(x)?;
        let sv = self.translate(set)?;
        let x_null = self.b.ins().uextend(types::I64, xv.null);
        let zero = self.b.ins().iconst(types::I64, 0);
        let set_ptr = self.b.ins().select(sv.null, zero, sv.v);
        let answer = match set.ty {
            Ty::TextSet => {
                let f = code::text_set_contains as *const () as usize;
                self.call_back(f, &[set_ptr, xv.v, xv.len, x_null], true)
            }
            Ty::IntSet => {
                let f = code::int_set_contains as *const () as usize;
                self.call_back(f, &[set_ptr, xv.v, x_null], true)
            }
            other => {
                return Err(JitError::Unsupported(format!(
                    "`in` a value of type {other}"
                )))
            }
        }
        .ok_or_else(|| JitError::Codegen("a callback returned nothing".into()))?;
        let null = self.is_const(answer, 2);
        let inside = self.is_const(answer, 1);
        let v = if negated {
            self.b.ins().bxor_imm_u(inside, 1)
        } else {
            inside
        };
        Ok(self.boolean(v, null))
    }
}

/// The lowest item and the bit mask of an `int` list of at least three
/// literals spanning less than 64, where one bit test decides `in`.
fn small_int_set(x: &TExpr, items: &[TExpr]) -> Option<(i64, u64)> {
    if x.ty != Ty::Int || items.len() < 3 {
        return None;
    }
    let ints: Vec<i64> = items
        .iter()
        .map(|item| match item.kind {
            TExprKind::Literal(Value::Int(i)) => Some(i),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let low = *ints.iter().min()?;
    let mut mask = 0u64;
    for i in ints {
        let bit = u32::try_from(i.checked_sub(low)?)
            .ok()
            .filter(|b| *b < 64)?;
        mask |= 1 << bit;
    }
    Some((low, mask))
}
