//! Arithmetic and comparison: checked `int` operations (overflow and division
//! by zero are errors), `float` with PostgreSQL's overflow and underflow
//! errors, and comparisons with NaN ordered above everything.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value as Ir};

use super::{Jv, Translator, PTR};
use crate::jit::{code, outcome, JitError};
use crate::lang::model::{TExpr, TExprKind, Ty, Value};
use crate::lang::BinaryOp;

impl Translator<'_, '_> {
    pub(super) fn translate_neg(&mut self, x: &TExpr) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        if x.ty == Ty::Float {
            let v = self.b.ins().fneg(a.v);
            return Ok(Jv { v, ..a });
        }
        let min = self.is_const(a.v, i64::MIN);
        let overflow = self.unless_null(min, a.null);
        self.fail_if(overflow, outcome::INT_OVERFLOW);
        let v = self.b.ins().ineg(a.v);
        Ok(Jv { v, ..a })
    }

    pub(super) fn translate_int_to_float(&mut self, x: &TExpr) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        let v = self.b.ins().fcvt_from_sint(types::F64, a.v);
        Ok(Jv { v, ..a })
    }

    /// `+ - * / %`: both operands first, then the operation unless one is null.
    pub(super) fn translate_arith(
        &mut self,
        op: BinaryOp,
        l: &TExpr,
        r: &TExpr,
    ) -> Result<Jv, JitError> {
        let a = self.translate(l)?;
        let b = self.translate(r)?;
        let null = self.either_null(&a, &b);
        let v = match (l.ty, r.ty) {
            (Ty::Int, Ty::Int) => self.int_arith(op, a.v, b.v, null)?,
            (Ty::Float, Ty::Float) => self.float_arith(op, a.v, b.v, null)?,
            (x, y) => {
                return Err(JitError::Unsupported(format!(
                    "`{}` on {x} and {y}",
                    op.symbol()
                )))
            }
        };
        Ok(Jv { v, len: v, null })
    }

    fn int_arith(&mut self, op: BinaryOp, x: Ir, y: Ir, null: Ir) -> Result<Ir, JitError> {
        let one = self.b.ins().iconst(PTR, 1);
        Ok(match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
                let (v, overflow) = match op {
                    BinaryOp::Add => self.b.ins().sadd_overflow(x, y),
                    BinaryOp::Sub => self.b.ins().ssub_overflow(x, y),
                    _ => self.b.ins().smul_overflow(x, y),
                };
                let overflow = self.unless_null(overflow, null);
                self.fail_if(overflow, outcome::INT_OVERFLOW);
                v
            }
            BinaryOp::Div => {
                self.fail_on_zero_divisor(y, null);
                let min = self.is_const(x, i64::MIN);
                let minus_one = self.is_const(y, -1);
                let overflow = self.b.ins().band(min, minus_one);
                let overflow = self.unless_null(overflow, null);
                self.fail_if(overflow, outcome::INT_OVERFLOW);
                // A null operand may hold anything: divide by 1 instead.
                let y = self.b.ins().select(null, one, y);
                self.b.ins().sdiv(x, y)
            }
            BinaryOp::Mod => {
                self.fail_on_zero_divisor(y, null);
                // Anything modulo -1 is 0 (i64::MIN included), as modulo 1.
                let minus_one = self.is_const(y, -1);
                let avoid = self.b.ins().bor(minus_one, null);
                let y = self.b.ins().select(avoid, one, y);
                self.b.ins().srem(x, y)
            }
            _ => return Err(JitError::Unsupported(format!("int `{}`", op.symbol()))),
        })
    }

    fn fail_on_zero_divisor(&mut self, y: Ir, null: Ir) {
        let zero = self.is_const(y, 0);
        let zero = self.unless_null(zero, null);
        self.fail_if(zero, outcome::DIVISION_BY_ZERO);
    }

    /// float8 arithmetic as `policy::interp::float_arith`.
    fn float_arith(&mut self, op: BinaryOp, x: Ir, y: Ir, null: Ir) -> Result<Ir, JitError> {
        let zero = self.b.ins().f64const(0.0);
        let x_inf = self.is_infinite(x);
        let y_inf = self.is_infinite(y);
        let inf_in = self.b.ins().bor(x_inf, y_inf);
        let v = match op {
            BinaryOp::Add => self.b.ins().fadd(x, y),
            BinaryOp::Sub => self.b.ins().fsub(x, y),
            BinaryOp::Mul => {
                let v = self.b.ins().fmul(x, y);
                let v_zero = self.b.ins().fcmp(FloatCC::Equal, v, zero);
                let x_nonzero = self.b.ins().fcmp(FloatCC::NotEqual, x, zero);
                let y_nonzero = self.b.ins().fcmp(FloatCC::NotEqual, y, zero);
                let under = self.b.ins().band(v_zero, x_nonzero);
                let under = self.b.ins().band(under, y_nonzero);
                let under = self.unless_null(under, null);
                self.fail_if(under, outcome::FLOAT_UNDERFLOW);
                v
            }
            BinaryOp::Div => {
                let y_zero = self.b.ins().fcmp(FloatCC::Equal, y, zero);
                let y_zero = self.unless_null(y_zero, null);
                self.fail_if(y_zero, outcome::DIVISION_BY_ZERO);
                let v = self.b.ins().fdiv(x, y);
                let v_zero = self.b.ins().fcmp(FloatCC::Equal, v, zero);
                let x_nonzero = self.b.ins().fcmp(FloatCC::NotEqual, x, zero);
                let y_finite = self.b.ins().bxor_imm_u(y_inf, 1);
                let under = self.b.ins().band(v_zero, x_nonzero);
                let under = self.b.ins().band(under, y_finite);
                let under = self.unless_null(under, null);
                self.fail_if(under, outcome::FLOAT_UNDERFLOW);
                v
            }
            _ => return Err(JitError::Unsupported(format!("float `{}`", op.symbol()))),
        };
        let v_inf = self.is_infinite(v);
        let finite_in = self.b.ins().bxor_imm_u(inf_in, 1);
        let over = self.b.ins().band(v_inf, finite_in);
        let over = self.unless_null(over, null);
        self.fail_if(over, outcome::FLOAT_OVERFLOW);
        Ok(v)
    }

    fn is_infinite(&mut self, x: Ir) -> Ir {
        let abs = self.b.ins().fabs(x);
        let inf = self.b.ins().f64const(f64::INFINITY);
        self.b.ins().fcmp(FloatCC::Equal, abs, inf)
    }

    /// `== != < <= > >=`: both operands first; null if either is null.
    pub(super) fn translate_compare(
        &mut self,
        op: BinaryOp,
        l: &TExpr,
        r: &TExpr,
    ) -> Result<Jv, JitError> {
        let a = self.translate(l)?;
        let b = self.translate(r)?;
        let null = self.either_null(&a, &b);
        let Some(v) = self.compare_values(op, l, r, &a, &b) else {
            let one = self.b.ins().iconst(types::I8, 1);
            return Ok(self.boolean(one, one));
        };
        Ok(self.boolean(v, null))
    }

    /// The flag `a op b` (a comparison) for two non-null values of one type,
    /// those of `l` and `r`; `None` when the type cannot be compared (a bare
    /// `null`).
    pub(super) fn compare_values(
        &mut self,
        op: BinaryOp,
        l: &TExpr,
        r: &TExpr,
        a: &Jv,
        b: &Jv,
    ) -> Option<Ir> {
        let ty = if l.ty == Ty::Null { r.ty } else { l.ty };
        match ty {
            Ty::Int | Ty::Timestamp => Some(self.b.ins().icmp(int_cc(op, true), a.v, b.v)),
            Ty::Bool => Some(self.b.ins().icmp(int_cc(op, false), a.v, b.v)),
            Ty::Float => Some(self.float_compare(op, l, r, a.v, b.v)),
            Ty::Text => {
                let f = code::text_compare as *const () as usize;
                let ord = self.call_back(f, &[a.v, a.len, b.v, b.len], true)?;
                Some(self.b.ins().icmp_imm_s(int_cc(op, true), ord, 0))
            }
            Ty::Null | Ty::TextSet | Ty::IntSet => None,
        }
    }

    /// PostgreSQL's float order: NaN equals NaN and is above everything.
    /// Against a number written in the policy one `fcmp` says it; otherwise
    /// the NaN cases are added to IEEE's answer.
    fn float_compare(&mut self, op: BinaryOp, l: &TExpr, r: &TExpr, x: Ir, y: Ir) -> Ir {
        let number =
            |e: &TExpr| matches!(&e.kind, TExprKind::Literal(Value::Float(f)) if !f.is_nan());
        if number(r) || number(l) {
            // The other side, if NaN, is above: with the number on the
            // right `x op y` is true for `>`, `>=`, `!=`; on the left for
            // `<`, `<=`, `!=`.
            let cc = match (op, number(r)) {
                (BinaryOp::Eq, _) => FloatCC::Equal,
                (BinaryOp::Ne, _) => FloatCC::NotEqual,
                (BinaryOp::Lt, true) => FloatCC::LessThan,
                (BinaryOp::Le, true) => FloatCC::LessThanOrEqual,
                (BinaryOp::Gt, true) => FloatCC::UnorderedOrGreaterThan,
                (BinaryOp::Ge, true) => FloatCC::UnorderedOrGreaterThanOrEqual,
                (BinaryOp::Lt, false) => FloatCC::UnorderedOrLessThan,
                (BinaryOp::Le, false) => FloatCC::UnorderedOrLessThanOrEqual,
                (BinaryOp::Gt, false) => FloatCC::GreaterThan,
                (_, false) => FloatCC::GreaterThanOrEqual,
                (_, true) => FloatCC::UnorderedOrGreaterThanOrEqual,
            };
            return self.b.ins().fcmp(cc, x, y);
        }
        let x_nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        let y_nan = self.b.ins().fcmp(FloatCC::Unordered, y, y);
        let x_num = self.b.ins().bxor_imm_u(x_nan, 1);
        let y_num = self.b.ins().bxor_imm_u(y_nan, 1);
        let (ieee, extra, negate) = match op {
            BinaryOp::Eq | BinaryOp::Ne => (FloatCC::Equal, (x_nan, y_nan), op == BinaryOp::Ne),
            BinaryOp::Lt | BinaryOp::Ge => (FloatCC::LessThan, (x_num, y_nan), op == BinaryOp::Ge),
            _ => (FloatCC::GreaterThan, (x_nan, y_num), op == BinaryOp::Le),
        };
        let plain = self.b.ins().fcmp(ieee, x, y);
        let nan_case = self.b.ins().band(extra.0, extra.1);
        let v = self.b.ins().bor(plain, nan_case);
        if negate {
            self.b.ins().bxor_imm_u(v, 1)
        } else {
            v
        }
    }
}

/// The integer condition of a comparison, `signed` or not.
fn int_cc(op: BinaryOp, signed: bool) -> IntCC {
    match (op, signed) {
        (BinaryOp::Eq, _) => IntCC::Equal,
        (BinaryOp::Ne, _) => IntCC::NotEqual,
        (BinaryOp::Lt, true) => IntCC::SignedLessThan,
        (BinaryOp::Le, true) => IntCC::SignedLessThanOrEqual,
        (BinaryOp::Gt, true) => IntCC::SignedGreaterThan,
        (_, true) => IntCC::SignedGreaterThanOrEqual,
        (BinaryOp::Lt, false) => IntCC::UnsignedLessThan,
        (BinaryOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (BinaryOp::Gt, false) => IntCC::UnsignedGreaterThan,
        (_, false) => IntCC::UnsignedGreaterThanOrEqual,
    }
}
