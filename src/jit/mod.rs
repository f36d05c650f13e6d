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
mod generate;
pub mod layout;
mod translate;

pub use cache::PredicateCache;
pub use code::Arena;
pub use layout::{RowBatch, RowBuffer, RowLayout};

use crate::lang::model::{PolicySet, TExpr, TExprKind, Value};
use crate::policy::{specialise, EvalError};
use code::Code;
use generate::Generator;
use translate::Constants;

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

/// What compiled code writes per row (0 false, 1 true, [`outcome::NULL`])
/// and returns for a batch (0 done, or an error's code).
mod outcome {
    pub const NULL: i64 = 2;
    pub const INT_OVERFLOW: i64 = 3;
    pub const FLOAT_OVERFLOW: i64 = 4;
    pub const FLOAT_UNDERFLOW: i64 = 5;
    pub const DIVISION_BY_ZERO: i64 = 6;
    pub const LIKE_ESCAPE: i64 = 7;
}

/// A row's outcome byte.
fn verdict(byte: u8) -> Option<bool> {
    match byte {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// A batch's status: every row decided, or the first error.
fn status(code: i64) -> Result<(), EvalError> {
    match code {
        0 => Ok(()),
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
                let mut out = [0u8];
                run(code, row.words(), context.words(), &mut out)?;
                Ok(verdict(out[0]))
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

    /// As [`CompiledPredicate::decide_batch`], on rows already laid out:
    /// one call of the compiled loop over all of them.
    pub fn decide_filled(
        &self,
        batch: &RowBatch<'_>,
        context: &[Value],
    ) -> Result<Vec<Option<bool>>, EvalError> {
        let context = self.context_layout.fill(context)?;
        match &self.body {
            Body::Constant(_) if batch.is_empty() => Ok(Vec::new()),
            Body::Constant(c) => Ok(vec![c.clone()?; batch.len()]),
            Body::Code { code, .. } => {
                let mut out = vec![0u8; batch.len()];
                run(code, batch.words(), context.words(), &mut out)?;
                Ok(out.into_iter().map(verdict).collect())
            }
        }
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

/// Runs `code` on rows and a context laid out by this predicate's layouts.
fn run(code: &Code, rows: &[u64], context: &[u64], out: &mut [u8]) -> Result<(), EvalError> {
    let mut arena = Arena::default();
    let shape = EvalError::WrongShape {
        index: 0,
        expected: "the compiled layout",
    };
    status(code.run(rows, context, &mut arena, out).ok_or(shape)?)
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
            let mut generator = Generator::new()?;
            let id = generator.define(&e, &row_layout, &context_layout, &mut constants)?;
            let code = generator.finish()?.code(id, &row_layout, &context_layout)?;
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
