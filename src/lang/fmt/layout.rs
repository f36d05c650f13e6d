//! Lines of formatted output: rows with end-of-line comments aligned within a
//! block, and long `and` / `or` chains broken over several lines.

use crate::lang::ast::{BinaryOp, Comment, Expr, ExprKind};

/// Lines longer than this (in characters) have their `using`, `check` and
/// `when` expressions broken before the top-level `and` / `or`.
pub const MAX_WIDTH: usize = 90;

/// Continuation lines of a broken expression are indented this much more.
const CONTINUATION: &str = "    ";

/// One line of a block's body, before indentation and comment alignment.
#[derive(Debug)]
pub(super) enum Row {
    Blank,
    /// A comment on a line of its own.
    Comment(String),
    /// Code, with the comment at the end of its line if any.
    Code(String, Option<String>),
}

/// `#text` as written, without trailing blanks.
pub(super) fn comment_text(comment: &Comment) -> String {
    format!("#{}", comment.text.trim_end())
}

pub(super) fn width(text: &str) -> usize {
    text.chars().count()
}

/// Indents `rows` and aligns their end-of-line comments two spaces after the
/// longest line that carries one.
pub(super) fn finish(rows: Vec<Row>, indent: &str) -> Vec<String> {
    let column = rows
        .iter()
        .filter_map(|row| match row {
            Row::Code(text, Some(_)) => Some(width(text)),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .map(|row| match row {
            Row::Blank => String::new(),
            Row::Comment(text) => format!("{indent}{text}"),
            Row::Code(text, None) => format!("{indent}{text}"),
            Row::Code(text, Some(comment)) => {
                let pad = " ".repeat(column - width(&text) + 2);
                format!("{indent}{text}{pad}{comment}")
            }
        })
        .collect()
}

/// Appends an end-of-line comment two spaces after `line`.
pub(super) fn with_comment(line: String, comment: Option<&Comment>) -> String {
    match comment {
        Some(c) => format!("{line}  {}", comment_text(c)),
        None => line,
    }
}

/// `head` followed by `expr`, broken before its top-level `and` / `or` when
/// the line starting at `column` would pass [`MAX_WIDTH`]. Continuation lines
/// are indented relative to the first line's start.
pub(super) fn wrap_expr(head: &str, expr: &Expr, column: usize, wrap: bool) -> Vec<String> {
    let flat = format!("{head}{expr}");
    let op = match &expr.kind {
        ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), _, _) => *op,
        _ => return vec![flat],
    };
    if !wrap || column + width(&flat) <= MAX_WIDTH {
        return vec![flat];
    }
    let operands = chain(expr, op);
    let mut lines = Vec::new();
    for (i, operand) in operands.into_iter().enumerate() {
        // The printer's rule: the left operand may bind as loosely as `op`,
        // the others must bind tighter.
        let min = if i == 0 {
            op.precedence()
        } else {
            op.precedence() + 1
        };
        let parens = operand.kind.precedence() < min;
        if i == 0 {
            let text = if parens {
                format!("{head}({operand})")
            } else {
                format!("{head}{operand}")
            };
            lines.push(text);
        } else if parens {
            lines.push(format!("{CONTINUATION}{} ({operand})", op.symbol()));
        } else {
            // An `and` chain under an `or` breaks again, one step deeper.
            let inner_head = format!("{} ", op.symbol());
            let inner = wrap_expr(&inner_head, operand, column + CONTINUATION.len(), wrap);
            lines.extend(inner.into_iter().map(|l| format!("{CONTINUATION}{l}")));
        }
    }
    lines
}

/// The operands of a left-nested chain of one operator: `a and b and c`.
fn chain(expr: &Expr, op: BinaryOp) -> Vec<&Expr> {
    let mut rights = Vec::new();
    let mut left = expr;
    while let ExprKind::Binary(this, l, r) = &left.kind {
        if *this != op {
            break;
        }
        rights.push(r.as_ref());
        left = l;
    }
    rights.push(left);
    rights.reverse();
    rights
}
