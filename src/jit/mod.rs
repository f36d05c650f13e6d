//! Compiled predicates: a checked, specialised `bool` expression over one
//! table's row and the run-time context, compiled to native code with
//! Cranelift. Cranelift types do not leave this module.
//!
//! Expressions past [`MAX_NODES`] nodes or [`MAX_DEPTH`] levels are refused
//! with [`JitError::TooLarge`] / [`JitError::TooDeep`], and `exists` with
//! [`JitError::NeedsDatabase`]: callers then use `policy::interp` (or SQL).

pub mod cache;
#[allow(unsafe_code)]
mod code;
pub mod layout;
mod translate;

use std::sync::OnceLock;

use cranelift_codegen::ir::{types, AbiParam, InstBuilder};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};

pub use cache::PredicateCache;
pub use code::Arena;
pub use layout::{RowBatch, RowBuffer, RowLayout};

use crate::lang::model::{PolicySet, TExpr, TExprKind, Ty, Value};
use crate::policy::{specialise, EvalError};
use code::Code;
use translate::{Constants, Translator};

/// The most nodes a compiled expression may have.
pub const MAX_NODES: usize = 10_000;
/// The deepest a compiled expression may nest.
pub const MAX_DEPTH: usize = 1_024;

/// Why an expression was not compiled; the caller falls back to the interpreter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    #[error("the expression uses `exists`, which needs the database")]
    NeedsDatabase,
    #[error("the expression has more than {MAX_NODES} nodes; use the interpreter")]
    TooLarge,
    #[error("the expression nests deeper than {MAX_DEPTH} levels; use the interpreter")]
    TooDeep,
    #[error("no table with index {0}")]
    UnknownTable(usize),
    #[error("input {index} is not declared")]
    UnknownInput { index: usize },
    #[error("cannot compile {0}")]
    Unsupported(String),
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// What compiled code returns.
mod outcome {
    pub const NULL: i64 = 2;
    pub const INT_OVERFLOW: i64 = 3;
    pub const FLOAT_OVERFLOW: i64 = 4;
    pub const FLOAT_UNDERFLOW: i64 = 5;
    pub const DIVISION_BY_ZERO: i64 = 6;
    pub const LIKE_ESCAPE: i64 = 7;
}

fn decode(code: i64) -> Result<Option<bool>, EvalError> {
    match code {
        0 => Ok(Some(false)),
        1 => Ok(Some(true)),
        outcome::NULL => Ok(None),
        outcome::INT_OVERFLOW => Err(EvalError::IntOverflow),
        outcome::FLOAT_OVERFLOW => Err(EvalError::FloatOverflow),
        outcome::FLOAT_UNDERFLOW => Err(EvalError::FloatUnderflow),
        outcome::DIVISION_BY_ZERO => Err(EvalError::DivisionByZero),
        _ => Err(EvalError::LikeEscape),
    }
}

/// A predicate ready to decide rows: machine code, or a constant answer when
/// the expression folded to one.
pub struct CompiledPredicate {
    body: Body,
    row_layout: RowLayout,
    context_layout: RowLayout,
    /// Whether the code reads each column (after folding).
    reads: Vec<bool>,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one per predicate, never in bulk"
)]
enum Body {
    Constant(Result<Option<bool>, EvalError>),
    Code {
        code: Code,
        // Read by the code through raw addresses; dropped after `code`.
        _constants: Constants,
    },
}

impl std::fmt::Debug for CompiledPredicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = match &self.body {
            Body::Constant(c) => format!("constant {c:?}"),
            Body::Code { .. } => "native code".into(),
        };
        f.debug_struct("CompiledPredicate")
            .field("body", &body)
            .finish()
    }
}

impl CompiledPredicate {
    /// Whether the predicate admits, rejects (`Some`) or is null on `row`.
    pub fn decide(&self, row: &[Value], context: &[Value]) -> Result<Option<bool>, EvalError> {
        let row = self.row_layout.fill(row)?;
        let context = self.context_layout.fill(context)?;
        match &self.body {
            Body::Constant(c) => c.clone(),
            Body::Code { code, .. } => {
                let mut arena = Arena::default();
                decode(code.call(&row, &context, &mut arena).ok_or(shape())?)
            }
        }
    }

    /// Decides every row of `rows` in one call; the first error ends it.
    pub fn decide_batch<R: AsRef<[Value]>>(
        &self,
        rows: &[R],
        context: &[Value],
    ) -> Result<Vec<Option<bool>>, EvalError> {
        let batch = self.row_layout.fill_batch(rows)?;
        self.decide_filled(&batch, context)
    }

    /// As [`CompiledPredicate::decide_batch`], on rows already laid out.
    pub fn decide_filled(
        &self,
        batch: &RowBatch<'_>,
        context: &[Value],
    ) -> Result<Vec<Option<bool>>, EvalError> {
        let context = self.context_layout.fill(context)?;
        let mut out = Vec::with_capacity(batch.len());
        let mut arena = Arena::default();
        for row in batch.rows() {
            out.push(match &self.body {
                Body::Constant(c) => c.clone()?,
                Body::Code { code, .. } => {
                    let answer = code.call_words(row, context.words(), &mut arena);
                    arena.clear();
                    decode(answer.ok_or(shape())?)?
                }
            });
        }
        Ok(out)
    }

    /// The layout of the rows this predicate reads.
    pub fn row_layout(&self) -> &RowLayout {
        &self.row_layout
    }

    /// Whether the answer can depend on column `i` (false for a column
    /// folded away, and for every column of a constant predicate).
    pub fn reads_column(&self, i: usize) -> bool {
        self.reads.get(i).copied().unwrap_or(false)
    }

    /// Whether the predicate was compiled to machine code (not a constant).
    pub fn is_native(&self) -> bool {
        matches!(self.body, Body::Code { .. })
    }
}

fn shape() -> EvalError {
    EvalError::WrongShape {
        index: 0,
        expected: "the compiled layout",
    }
}

/// Compiles `expr`, a `bool` expression over `table`'s row and the context,
/// after folding its constants as the interpreter does.
pub fn compile(set: &PolicySet, table: usize, expr: &TExpr) -> Result<CompiledPredicate, JitError> {
    compile_specialised(set, table, expr, &[])
}

/// Compiles `expr` with the `known` context values folded in (a tenant's);
/// the others are read at run time.
pub fn compile_specialised(
    set: &PolicySet,
    table: usize,
    expr: &TExpr,
    known: &[Option<Value>],
) -> Result<CompiledPredicate, JitError> {
    let t = set.tables.get(table).ok_or(JitError::UnknownTable(table))?;
    let row_layout = RowLayout::new(t.columns.iter().map(|c| c.ty.ty).collect());
    let context_layout = RowLayout::new(set.context.iter().map(|f| f.ty.ty).collect());
    check_size(expr)?;
    let mut reads = vec![false; t.columns.len()];
    let body = match specialise(expr, known) {
        Err(e) => Body::Constant(Err(e)),
        Ok(TExpr {
            kind: TExprKind::Literal(v),
            ..
        }) => Body::Constant(Ok(match v {
            Value::Bool(b) => Some(b),
            _ => None,
        })),
        Ok(e) => {
            mark_columns(&e, &mut reads);
            let mut constants = Constants::default();
            let code = generate(&e, &row_layout, &context_layout, &mut constants)?;
            Body::Code {
                code,
                _constants: constants,
            }
        }
    };
    Ok(CompiledPredicate {
        body,
        row_layout,
        context_layout,
        reads,
    })
}

/// Sets `reads[i]` for every column `expr` reads (no recursion: the tree
/// may be as deep as [`MAX_DEPTH`]).
fn mark_columns(expr: &TExpr, reads: &mut [bool]) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let TExprKind::Column(i) = e.kind {
            if let Some(r) = reads.get_mut(i) {
                *r = true;
            }
        }
        stack.extend(e.kind.children());
    }
}

fn check_size(expr: &TExpr) -> Result<(), JitError> {
    let mut stack = vec![(expr, 1usize)];
    let mut nodes = 0;
    while let Some((e, depth)) = stack.pop() {
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(JitError::TooLarge);
        }
        if depth > MAX_DEPTH {
            return Err(JitError::TooDeep);
        }
        stack.extend(e.kind.children().into_iter().map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// The host's instruction set, made once.
fn isa() -> Result<OwnedTargetIsa, JitError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        for (name, value) in [("opt_level", "speed"), ("is_pic", "false")] {
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

/// Builds, defines and finalises the function `(row, context, arena) -> i64`.
fn generate(
    expr: &TExpr,
    row_layout: &RowLayout,
    context_layout: &RowLayout,
    constants: &mut Constants,
) -> Result<Code, JitError> {
    if expr.ty != Ty::Bool && expr.ty != Ty::Null {
        return Err(JitError::Unsupported(format!(
            "a predicate of type {}",
            expr.ty
        )));
    }
    let builder = JITBuilder::with_isa(isa()?, cranelift_module::default_libcall_names());
    let mut module = JITModule::new(builder);
    let mut ctx = module.make_context();
    let ptr = module.target_config().pointer_type();
    for _ in 0..3 {
        ctx.func.signature.params.push(AbiParam::new(ptr));
    }
    ctx.func.signature.returns.push(AbiParam::new(types::I64));
    let frontend = module.target_config();
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        let fail = b.create_block();
        let code = b.append_block_param(fail, types::I64);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let [row, context, arena] = params.as_slice() else {
            return Err(JitError::Codegen(
                "entry block without three parameters".into(),
            ));
        };
        let mut t = Translator {
            b: &mut b,
            row: *row,
            context: *context,
            arena: *arena,
            fail,
            row_layout,
            context_layout,
            constants,
        };
        let result = t.translate(expr)?;
        let answer = t.outcome(result);
        b.ins().return_(&[answer]);
        b.switch_to_block(fail);
        b.ins().return_(&[code]);
        b.seal_all_blocks();
        b.finalize(frontend);
    }
    let id = module
        .declare_function("predicate", Linkage::Local, &ctx.func.signature)
        .map_err(codegen)?;
    module.define_function(id, &mut ctx).map_err(codegen)?;
    module.clear_context(&mut ctx);
    module.finalize_definitions().map_err(codegen)?;
    Ok(Code::new(
        module,
        id,
        row_layout.words(),
        context_layout.words(),
    ))
}
