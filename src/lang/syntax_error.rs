//! Turning pest's syntax errors into diagnostics that say, in the language's
//! own words, what was expected and what was found.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::ast::{FileId, Span};
use super::diag::Diagnostic;
use super::parse::Rule;

pub fn describe(file: FileId, source: &str, error: &Error<Rule>) -> Diagnostic {
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let found = found_at(source, start);
    let end = if end > start {
        end
    } else {
        start + found.len()
    };
    let span = Span::new(file, start, end.min(source.len()));
    let message = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&'static str> =
                positives.iter().filter_map(|r| name(*r)).collect();
            expected.sort_unstable();
            expected.dedup();
            let found = if found.is_empty() {
                "the end of the file".to_string()
            } else {
                format!("`{found}`")
            };
            match expected.as_slice() {
                [] => format!("unexpected {found}"),
                [one] => format!("expected {one}, found {found}"),
                [init @ .., last] => {
                    format!("expected {} or {last}, found {found}", init.join(", "))
                }
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::error(span, message)
}

/// The token at `pos`: a word, or one character.
fn found_at(source: &str, pos: usize) -> String {
    let rest = source.get(pos..).unwrap_or("");
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    if !word.is_empty() {
        return word;
    }
    rest.chars()
        .next()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .unwrap_or_default()
}

/// How a grammar rule is named to users; `None` hides it from "expected" lists.
fn name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        // pest names the whole file when the very first declaration fails.
        Rule::file => "a declaration (`context`, `table`, `policy`, `tier` or `quota`)",
        Rule::context_block | Rule::kw_context => "`context`",
        Rule::table_decl | Rule::kw_table | Rule::open_flag | Rule::kw_open => "`table`",
        Rule::policy_decl | Rule::kw_policy => "`policy`",
        Rule::tier_decl | Rule::kw_tier => "`tier`",
        Rule::quota_rules | Rule::tenant_quota | Rule::kw_quota => "`quota`",
        Rule::context_kind | Rule::kw_tenant => "`tenant`",
        Rule::kw_request => "`request`",
        Rule::field_decl
        | Rule::column_decl
        | Rule::ident
        | Rule::bare_ident
        | Rule::quoted_ident => "a name",
        Rule::table_name | Rule::table_name_ref => "a table name",
        Rule::type_expr | Rule::scalar_type | Rule::set_type | Rule::kw_set => {
            "a type (`int`, `float`, `bool`, `text`, `timestamp`, `set<…>`)"
        }
        Rule::nullable => "`?`",
        Rule::kw_on => "`on`",
        Rule::as_clause | Rule::kw_as => "`as`",
        Rule::for_clause | Rule::kw_for => "`for`",
        Rule::to_clause | Rule::kw_to => "`to`",
        Rule::using_clause | Rule::kw_using => "`using`",
        Rule::check_clause | Rule::kw_check => "`check`",
        Rule::policy_mode => "`permissive` or `restrictive`",
        Rule::command => "a command (`all`, `select`, `insert`, `update`, `delete`)",
        Rule::limit => "a limit (`connections`, `qps`, `storage`, `max_rows`)",
        Rule::limit_value => "a number",
        Rule::size_unit => "a size unit (`KB`, `MB`, `GB`, `TB`)",
        Rule::quota_rule => "`tier`",
        Rule::kw_when => "`when`",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::neg_expr
        | Rule::paren
        | Rule::reference
        | Rule::column_ref
        | Rule::qualified_ref
        | Rule::context_ref
        | Rule::call
        | Rule::exists_expr
        | Rule::kw_exists
        | Rule::kw_not
        | Rule::minus
        | Rule::timestamp_lit
        | Rule::kw_timestamp
        | Rule::kw_null
        | Rule::kw_true
        | Rule::kw_false => "an expression",
        Rule::number => "a number",
        Rule::string => "a string",
        Rule::list => "a list `[…]`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::cmp_op | Rule::compare => "a comparison",
        Rule::is_test | Rule::kw_is => "`is`",
        Rule::in_test | Rule::kw_in => "`in`",
        Rule::like_test | Rule::kw_like => "`like`",
        Rule::negation => "`not`",
        Rule::add_op => "an operator",
        Rule::mul_op => "an operator",
        Rule::kw_where => "`where`",
        Rule::alias => "an alias",
        _ => return None,
    })
}
