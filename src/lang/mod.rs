//! The policy language: syntax tree, parser, printer, checker, formatter and
//! diagnostics. Nothing here knows about SQL.

pub mod ast;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod load;
pub mod model;
pub mod parse;
pub mod print;
mod render;

pub use ast::*;
pub use check::{check, Checked};
pub use diag::{Diagnostic, Severity, SourceMap};
mod scan;
mod syntax_error;
pub mod visit;

pub use parse::{parse_expr, parse_file};
pub use scan::MAX_NESTING;
