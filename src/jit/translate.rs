//! Typed expressions → Cranelift IR: one `translate_*` function per construct.
//! Every value is a (value, null flag) pair; an error jumps to one exit block
//! that returns its code, so the first error in evaluation order wins.

mod arith;
mod logic;
mod text;

use std::collections::BTreeSet;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    Type, Value as Ir,
};
use cranelift_frontend::FunctionBuilder;

use super::layout::{address, RowLayout, LEN_WORD, NULL_WORD, PAYLOAD_WORD};
use super::{outcome, JitError};
use crate::lang::model::{Func, TExpr, TExprKind, Ty, Value};
use crate::lang::BinaryOp;

/// Values the compiled code points to; owned by the predicate, never moved.
#[derive(Debug, Default)]
#[expect(
    clippy::vec_box,
    reason = "the code holds their addresses: they must not move when the Vec grows"
)]
pub(super) struct Constants {
    texts: Vec<Box<str>>,
    text_sets: Vec<Box<BTreeSet<String>>>,
    int_sets: Vec<Box<BTreeSet<i64>>>,
}

/// A translated value: `v` (or a text's pointer), `len` for text, and the
/// null flag (`i8`, 1 for null). A null `bool` has `v` = 0.
#[derive(Clone, Copy, Debug)]
pub(super) struct Jv {
    pub v: Ir,
    pub len: Ir,
    pub null: Ir,
}

/// The state of translating one predicate function.
pub(super) struct Translator<'a, 'f> {
    pub b: &'a mut FunctionBuilder<'f>,
    pub row: Ir,
    pub context: Ir,
    pub arena: Ir,
    /// The exit taking an error code.
    pub fail: Block,
    pub row_layout: &'a RowLayout,
    pub context_layout: &'a RowLayout,
    pub constants: &'a mut Constants,
    /// Whether the code makes texts (kept in the arena until the row is done).
    pub makes_text: bool,
}

const PTR: Type = types::I64;

impl Translator<'_, '_> {
    /// The dispatch: one arm per construct.
    pub fn translate(&mut self, e: &TExpr) -> Result<Jv, JitError> {
        match &e.kind {
            TExprKind::Literal(v) => self.translate_literal(v, e.ty),
            TExprKind::Column(i) => self.translate_slot(self.row, self.row_layout, *i),
            TExprKind::Context(i) => self.translate_slot(self.context, self.context_layout, *i),
            TExprKind::ExistsColumn { .. } | TExprKind::Exists { .. } => {
                Err(JitError::NeedsDatabase)
            }
            TExprKind::Not(x) => self.translate_not(x),
            TExprKind::Neg(x) => self.translate_neg(x),
            TExprKind::IntToFloat(x) => self.translate_int_to_float(x),
            TExprKind::Binary(BinaryOp::And, l, r) => self.translate_and(l, r),
            TExprKind::Binary(BinaryOp::Or, l, r) => self.translate_or(l, r),
            TExprKind::Binary(BinaryOp::Concat, l, r) => self.translate_concat(l, r),
            TExprKind::Binary(op, l, r) if is_comparison(*op) => self.translate_compare(*op, l, r),
            TExprKind::Binary(op, l, r) => self.translate_arith(*op, l, r),
            TExprKind::InList {
                expr,
                items,
                negated,
            } => self.translate_in_list(expr, items, *negated),
            TExprKind::InSet { expr, set, negated } => self.translate_in_set(expr, set, *negated),
            TExprKind::IsNull { expr, negated } => self.translate_is_null(expr, *negated),
            TExprKind::Like {
                expr,
                pattern,
                negated,
            } => self.translate_like(expr, pattern, *negated),
            TExprKind::Call(func, args) => self.translate_call(*func, args),
        }
    }

    fn translate_literal(&mut self, v: &Value, ty: Ty) -> Result<Jv, JitError> {
        let (word, len) = match v {
            Value::Null => {
                let zero = self.b.ins().iconst(PTR, 0);
                let v = if ty == Ty::Float {
                    self.b.ins().f64const(0.0)
                } else if ty == Ty::Bool {
                    self.b.ins().iconst(types::I8, 0)
                } else {
                    zero
                };
                let null = self.b.ins().iconst(types::I8, 1);
                return Ok(Jv { v, len: zero, null });
            }
            Value::Int(i) | Value::Timestamp(i) => (*i, 0),
            Value::Float(x) => {
                let v = self.b.ins().f64const(*x);
                return Ok(self.not_null(v));
            }
            Value::Bool(b) => {
                let v = self.b.ins().iconst(types::I8, i64::from(*b));
                return Ok(self.not_null(v));
            }
            Value::Text(s) => {
                let owned: Box<str> = s.as_str().into();
                let at = (address(owned.as_ptr()) as i64, s.len() as i64);
                self.constants.texts.push(owned);
                at
            }
            Value::TextSet(s) => {
                let owned = Box::new(s.clone());
                let at = address(&*owned) as i64;
                self.constants.text_sets.push(owned);
                (at, 0)
            }
            Value::IntSet(s) => {
                let owned = Box::new(s.clone());
                let at = address(&*owned) as i64;
                self.constants.int_sets.push(owned);
                (at, 0)
            }
        };
        let v = self.b.ins().iconst(PTR, word);
        let len = self.b.ins().iconst(PTR, len);
        let null = self.b.ins().iconst(types::I8, 0);
        Ok(Jv { v, len, null })
    }

    /// A column or context field: reads slot `i` of `base`.
    fn translate_slot(&mut self, base: Ir, layout: &RowLayout, i: usize) -> Result<Jv, JitError> {
        let ty = layout.slot(i).ok_or(JitError::UnknownInput { index: i })?;
        let at = |word| i32::try_from(RowLayout::offset(i, word)).map_err(|_| JitError::TooLarge);
        // The buffers are valid and unchanged for the whole call: loads may
        // be merged, dropped when unused, and hoisted out of the row loop.
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        let null = self.b.ins().load(types::I8, flags, base, at(NULL_WORD)?);
        let len = self.b.ins().load(PTR, flags, base, at(LEN_WORD)?);
        let v = match ty {
            Ty::Float => self
                .b
                .ins()
                .load(types::F64, flags, base, at(PAYLOAD_WORD)?),
            Ty::Bool => self.b.ins().load(types::I8, flags, base, at(PAYLOAD_WORD)?),
            _ => self.b.ins().load(PTR, flags, base, at(PAYLOAD_WORD)?),
        };
        Ok(Jv { v, len, null })
    }

    fn translate_is_null(&mut self, x: &TExpr, negated: bool) -> Result<Jv, JitError> {
        let x = self.translate(x)?;
        let v = if negated {
            self.b.ins().bxor_imm_u(x.null, 1)
        } else {
            x.null
        };
        Ok(self.not_null(v))
    }

    fn translate_call(&mut self, func: Func, args: &[TExpr]) -> Result<Jv, JitError> {
        match (func, args) {
            (Func::Lower | Func::Upper, [x]) => self.translate_change_case(func, x),
            (Func::Length, [x]) => self.translate_length(x),
            (Func::StartsWith, [x, prefix]) => self.translate_starts_with(x, prefix),
            _ => Err(JitError::Unsupported(format!(
                "`{}` with {} arguments",
                func.name(),
                args.len()
            ))),
        }
    }

    // ---- small building blocks shared by the construct files ----

    /// A value that is never null.
    pub fn not_null(&mut self, v: Ir) -> Jv {
        let null = self.b.ins().iconst(types::I8, 0);
        Jv { v, len: v, null }
    }

    /// A `bool` result `v` (i8) that is null where `null` is set.
    pub fn boolean(&mut self, v: Ir, null: Ir) -> Jv {
        let v = self.b.ins().band_not(v, null);
        Jv { v, len: v, null }
    }

    /// Jumps to the error exit with `code` when `cond` (i8) is set.
    pub fn fail_if(&mut self, cond: Ir, code: i64) {
        let next = self.b.create_block();
        let code = self.b.ins().iconst(types::I64, code);
        self.b
            .ins()
            .brif(cond, self.fail, &[code.into()], next, &[]);
        self.b.switch_to_block(next);
    }

    /// `cond` and not `null`.
    pub fn unless_null(&mut self, cond: Ir, null: Ir) -> Ir {
        self.b.ins().band_not(cond, null)
    }

    pub fn either_null(&mut self, a: &Jv, b: &Jv) -> Ir {
        self.b.ins().bor(a.null, b.null)
    }

    pub fn is_const(&mut self, v: Ir, c: i64) -> Ir {
        self.b.ins().icmp_imm_s(IntCC::Equal, v, c)
    }

    /// Calls an `extern "C"` callback at `f` taking `params` pointer-sized
    /// arguments, returning its `i64` result when `returns`.
    pub fn call_back(&mut self, f: usize, args: &[Ir], returns: bool) -> Option<Ir> {
        let mut sig = Signature::new(self.b.func.signature.call_conv);
        sig.params
            .extend(std::iter::repeat_n(AbiParam::new(PTR), args.len()));
        if returns {
            sig.returns.push(AbiParam::new(types::I64));
        }
        let sig = self.b.import_signature(sig);
        let callee = self.b.ins().iconst(PTR, f as u64 as i64);
        let call = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(call).first().copied()
    }

    /// A callback writing a text `(pointer, length)` to a slot of the frame.
    pub fn call_for_text(&mut self, f: usize, args: &[Ir]) -> (Ir, Ir) {
        let slot =
            self.b
                .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 16, 3));
        let out = self.b.ins().stack_addr(PTR, slot, 0);
        self.makes_text = true;
        let mut all = vec![self.arena];
        all.extend_from_slice(args);
        all.push(out);
        self.call_back(f, &all, false);
        let ptr = self.b.ins().stack_load(PTR, PTR, slot, 0);
        let len = self.b.ins().stack_load(PTR, PTR, slot, 8);
        (ptr, len)
    }

    /// The outcome byte of a translated `bool`: 0 false, 1 true, 2 null.
    pub fn outcome(&mut self, r: Jv) -> Ir {
        let null = self.b.ins().iconst(types::I8, outcome::NULL);
        self.b.ins().select(r.null, null, r.v)
    }
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
    )
}
