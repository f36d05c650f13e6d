//! Building machine code: the host's instruction set (made once per
//! process), and a [`Generator`] that defines one batch function per
//! predicate in a shared `JITModule` and finalises them together.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Signature};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Module};

use super::code::{self, Code, CodeModule};
use super::layout::RowLayout;
use super::translate::{Constants, Translator};
use super::JitError;
use crate::lang::model::{TExpr, Ty};

/// The host's instruction set, made once per process. Cranelift's IR
/// verifier runs in debug builds (and so in the tests) only.
fn isa() -> Result<OwnedTargetIsa, JitError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let verify = if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        };
        let mut flags = settings::builder();
        for (name, value) in [
            ("opt_level", "speed"),
            ("is_pic", "false"),
            ("enable_verifier", verify),
        ] {
            flags.set(name, value).map_err(|e| e.to_string())?;
        }
        cranelift_native::builder()
            .map_err(str::to_string)?
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(JitError::Codegen)
}

fn codegen<E: std::fmt::Display>(e: E) -> JitError {
    JitError::Codegen(e.to_string())
}

/// Cranelift's working memory for building functions, kept per thread so
/// that a compilation reuses the allocations of the one before.
struct Workspace {
    ctx: cranelift_codegen::Context,
    fctx: FunctionBuilderContext,
}

thread_local! {
    static WORKSPACE: Cell<Option<Box<Workspace>>> = const { Cell::new(None) };
}

/// Functions being defined in one module; [`Generator::finish`] makes their
/// code callable. A generator dropped unfinished frees what it allocated.
pub(super) struct Generator {
    module: Option<JITModule>,
    work: Option<Box<Workspace>>,
}

impl Generator {
    pub fn new() -> Result<Generator, JitError> {
        let builder = JITBuilder::with_isa(isa()?, cranelift_module::default_libcall_names());
        let module = JITModule::new(builder);
        let work = WORKSPACE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                Box::new(Workspace {
                    ctx: cranelift_codegen::Context::new(),
                    fctx: FunctionBuilderContext::new(),
                })
            });
        Ok(Generator {
            module: Some(module),
            work: Some(work),
        })
    }

    /// Defines the batch function of `expr`, a `bool` expression over rows
    /// of `row_layout` and a context of `context_layout`:
    /// `(rows, count, context, arena, out) -> status`, as `code::EntryFn`.
    pub fn define(
        &mut self,
        expr: &TExpr,
        row_layout: &RowLayout,
        context_layout: &RowLayout,
        constants: &mut Constants,
    ) -> Result<FuncId, JitError> {
        if expr.ty != Ty::Bool && expr.ty != Ty::Null {
            return Err(JitError::Unsupported(format!(
                "a predicate of type {}",
                expr.ty
            )));
        }
        let (Some(module), Some(work)) = (self.module.as_mut(), self.work.as_mut()) else {
            return Err(JitError::Codegen("the module was finished".into()));
        };
        module.clear_context(&mut work.ctx);
        let config = module.target_config();
        let ptr = config.pointer_type();
        let signature = &mut work.ctx.func.signature;
        signature
            .params
            .extend([ptr, types::I64, ptr, ptr, ptr].map(AbiParam::new));
        signature.returns.push(AbiParam::new(types::I64));
        let mut b = FunctionBuilder::new(&mut work.ctx.func, &mut work.fctx);
        if let Err(e) = build_loop(&mut b, expr, row_layout, context_layout, constants) {
            // The builder's state is half made: start the next one afresh.
            work.fctx = FunctionBuilderContext::new();
            return Err(e);
        }
        b.finalize(config);
        let id = module
            .declare_anonymous_function(&work.ctx.func.signature)
            .map_err(codegen)?;
        module.define_function(id, &mut work.ctx).map_err(codegen)?;
        Ok(id)
    }

    /// Finalises the module: the functions defined become [`Code`] (by
    /// [`Finished::code`]).
    pub fn finish(mut self) -> Result<Finished, JitError> {
        let mut module = self
            .module
            .take()
            .ok_or_else(|| JitError::Codegen("the module was finished".into()))?;
        let finalized = module.finalize_definitions().map_err(codegen);
        // Owned (and freed on drop) whether finalising worked or not.
        let owner = CodeModule::new(module);
        finalized?;
        Ok(Finished { owner })
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        // Nothing of an unfinished module was handed out: free it.
        drop(self.module.take().map(CodeModule::new));
        if let Some(mut work) = self.work.take() {
            work.ctx.clear();
            // On a thread that is ending there is nowhere to keep it.
            let _ = WORKSPACE.try_with(|slot| slot.set(Some(work)));
        }
    }
}

/// A finalised module.
pub(super) struct Finished {
    owner: Arc<CodeModule>,
}

impl Finished {
    /// The code of function `id` (from [`Generator::define`] of this module).
    pub fn code(
        &self,
        id: FuncId,
        row_layout: &RowLayout,
        context_layout: &RowLayout,
    ) -> Result<Code, JitError> {
        self.owner
            .code(id, row_layout.words(), context_layout.words())
            .ok_or_else(|| JitError::Codegen("the module was freed".into()))
    }
}

/// The body: a loop over the rows, the predicate on each, its outcome
/// written to `out[i]`; an error leaves the loop with its code.
fn build_loop(
    b: &mut FunctionBuilder<'_>,
    expr: &TExpr,
    row_layout: &RowLayout,
    context_layout: &RowLayout,
    constants: &mut Constants,
) -> Result<(), JitError> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    let header = b.create_block();
    let i = b.append_block_param(header, types::I64);
    let body = b.create_block();
    let done = b.create_block();
    let fail = b.create_block();
    let code = b.append_block_param(fail, types::I64);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let [rows, count, context, arena, out] = params.as_slice() else {
        return Err(JitError::Codegen(
            "entry block without five parameters".into(),
        ));
    };
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().jump(header, &[zero.into()]);

    b.switch_to_block(header);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, i, *count);
    b.ins().brif(more, body, &[], done, &[]);

    b.switch_to_block(body);
    let stride = i64::try_from(row_layout.words() * 8).map_err(|_| JitError::TooLarge)?;
    let offset = b.ins().imul_imm_u(i, stride);
    let row = b.ins().iadd(*rows, offset);
    let mut t = Translator {
        b: &mut *b,
        row,
        context: *context,
        arena: *arena,
        fail,
        row_layout,
        context_layout,
        constants,
        makes_text: false,
    };
    let result = t.translate(expr)?;
    let byte = t.outcome(result);
    let makes_text = t.makes_text;
    let at = b.ins().iadd(*out, i);
    b.ins().store(MemFlagsData::trusted(), byte, at, 0);
    if makes_text {
        let mut sig = Signature::new(b.func.signature.call_conv);
        sig.params.push(AbiParam::new(types::I64));
        let sig = b.import_signature(sig);
        let f = code::arena_clear as *const () as usize;
        let callee = b.ins().iconst(types::I64, f as u64 as i64);
        b.ins().call_indirect(sig, callee, &[*arena]);
    }
    let next = b.ins().iadd_imm_u(i, 1);
    b.ins().jump(header, &[next.into()]);

    b.switch_to_block(done);
    let status = b.ins().iconst(types::I64, 0);
    b.ins().return_(&[status]);
    b.switch_to_block(fail);
    b.ins().return_(&[code]);
    b.seal_all_blocks();
    Ok(())
}
