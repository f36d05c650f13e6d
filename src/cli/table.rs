//! Results as text: psql-style aligned tables, and JSON objects.

use rampart::{QueryResult, SqlValue};
use serde_json::json;

/// An aligned table with a header, `(N rows)` under it; a write without
/// RETURNING prints its count only.
pub fn render(result: &QueryResult) -> String {
    if result.columns.is_empty() {
        return format!(
            "({} {} affected)\n",
            result.affected,
            rows_word(result.affected)
        );
    }
    let cells: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    let mut widths: Vec<usize> = result.columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, items: &[String], numeric: &[bool]| {
        let parts: Vec<String> = items
            .iter()
            .zip(&widths)
            .zip(numeric)
            .map(|((text, width), right)| {
                if *right {
                    format!(" {text:>width$} ")
                } else {
                    format!(" {text:<width$} ")
                }
            })
            .collect();
        out.push_str(parts.join("|").trim_end());
        out.push('\n');
    };
    let header_align = vec![false; widths.len()];
    line(&mut out, &result.columns, &header_align);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    out.push_str(&rule.join("+"));
    out.push('\n');
    for (row, values) in cells.iter().zip(&result.rows) {
        let numeric: Vec<bool> = values
            .iter()
            .map(|v| matches!(v, SqlValue::Int(_) | SqlValue::Float(_)))
            .collect();
        line(&mut out, row, &numeric);
    }
    let n = u64::try_from(result.rows.len()).unwrap_or(u64::MAX);
    out.push_str(&format!("({n} {})\n", rows_word(n)));
    out
}

fn rows_word(n: u64) -> &'static str {
    if n == 1 {
        "row"
    } else {
        "rows"
    }
}

/// A cell's text: nulls print as `NULL`.
fn cell(value: &SqlValue) -> String {
    value.to_string()
}

/// `{"columns": [...], "rows": [[...]], "affected": N}` on one line.
pub fn json(result: &QueryResult) -> String {
    let rows: Vec<Vec<serde_json::Value>> = result
        .rows
        .iter()
        .map(|row| row.iter().map(SqlValue::to_json).collect())
        .collect();
    json!({"columns": &*result.columns, "rows": rows, "affected": result.affected}).to_string()
}
