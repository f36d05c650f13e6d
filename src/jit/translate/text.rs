//! Text: `||`, `like`, `lower` / `upper`, `length` and `starts_with`, each a
//! call to a safe `extern "C"` callback in `jit::code`; null operands give
//! null and never an error.

use cranelift_codegen::ir::{types, InstBuilder};

use super::{Jv, Translator};
use crate::jit::{code, outcome, JitError};
use crate::lang::model::{Func, TExpr};

fn missing() -> JitError {
    JitError::Codegen("a callback returned nothing".into())
}

impl Translator<'_, '_> {
    pub(super) fn translate_concat(&mut self, l: &TExpr, r: &TExpr) -> Result<Jv, JitError> {
        let a = self.translate(l)?;
        let b = self.translate(r)?;
        let null = self.either_null(&a, &b);
        let f = code::text_concat as *const () as usize;
        let (v, len) = self.call_for_text(f, &[a.v, a.len, b.v, b.len]);
        Ok(Jv { v, len, null })
    }

    pub(super) fn translate_like(
        &mut self,
        x: &TExpr,
        pattern: &TExpr,
        negated: bool,
    ) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        let p = self.translate(pattern)?;
        let null = self.either_null(&a, &p);
        let f = code::text_like as *const () as usize;
        let answer = self
            .call_back(f, &[a.v, a.len, p.v, p.len], true)
            .ok_or_else(missing)?;
        let bad = self.is_const(answer, 2);
        let bad = self.unless_null(bad, null);
        self.fail_if(bad, outcome::LIKE_ESCAPE);
        let matched = self.is_const(answer, 1);
        let v = if negated {
            self.b.ins().bxor_imm_u(matched, 1)
        } else {
            matched
        };
        Ok(self.boolean(v, null))
    }

    pub(super) fn translate_change_case(&mut self, func: Func, x: &TExpr) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        let f = if func == Func::Lower {
            code::text_lower as *const () as usize
        } else {
            code::text_upper as *const () as usize
        };
        let (v, len) = self.call_for_text(f, &[a.v, a.len]);
        Ok(Jv {
            v,
            len,
            null: a.null,
        })
    }

    pub(super) fn translate_length(&mut self, x: &TExpr) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        let f = code::text_length as *const () as usize;
        let v = self.call_back(f, &[a.v, a.len], true).ok_or_else(missing)?;
        Ok(Jv {
            v,
            len: v,
            null: a.null,
        })
    }

    pub(super) fn translate_starts_with(
        &mut self,
        x: &TExpr,
        prefix: &TExpr,
    ) -> Result<Jv, JitError> {
        let a = self.translate(x)?;
        let p = self.translate(prefix)?;
        let null = self.either_null(&a, &p);
        let f = code::text_starts_with as *const () as usize;
        let answer = self
            .call_back(f, &[a.v, a.len, p.v, p.len], true)
            .ok_or_else(missing)?;
        let v = self.b.ins().ireduce(types::I8, answer);
        Ok(self.boolean(v, null))
    }
}
