//! Functions refused anywhere in a statement: those that read files, open
//! other connections, run SQL text of their own, or read or change the
//! settings native row-level security reads (`rampart.*`).

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Value, ValueWithSpan,
};

use super::error::RewriteError;
use super::scope::idents;

/// Refuses a call of a function that bypasses row-level security.
pub fn check_function(call: &Function) -> Result<(), RewriteError> {
    let Some(parts) = idents(&call.name) else {
        return Err(RewriteError::Unsupported {
            construct: format!("computed function name `{}`", call.name),
        });
    };
    let Some(last) = parts.last() else {
        return Ok(());
    };
    // Lower case whatever the quoting: refusing too much is the safe side.
    let name = last.value.to_ascii_lowercase();
    let refuse = |why: &'static str| {
        Err(RewriteError::ForbiddenFunction {
            name: call.name.to_string(),
            why,
        })
    };
    if name == "current_setting" || name == "set_config" {
        return match first_text_argument(call) {
            Some(setting) if !setting.to_ascii_lowercase().starts_with("rampart.") => Ok(()),
            _ => refuse("only a literal setting name outside `rampart.` is allowed"),
        };
    }
    if name.starts_with("dblink") {
        return refuse("it opens a connection row-level security does not reach");
    }
    if name.starts_with("lo_") || name == "loread" || name == "lowrite" {
        return refuse("large objects are outside row-level security");
    }
    if name.contains("_to_xml") || name.starts_with("query_to_") || name.starts_with("cursor_to_") {
        return refuse("it runs SQL or reads whole tables outside the rewrite");
    }
    if name.starts_with("pg_") && name != "pg_typeof" {
        return refuse("`pg_*` server functions read files, settings or other sessions");
    }
    if matches!(
        name.as_str(),
        "load_extension" | "readfile" | "writefile" | "edit" | "fts3_tokenizer"
    ) {
        return refuse("it reads or writes files or loads code");
    }
    Ok(())
}

/// The first argument, when it is a single-quoted string literal.
fn first_text_argument(call: &Function) -> Option<&str> {
    let FunctionArguments::List(list) = &call.args else {
        return None;
    };
    match list.args.first()? {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }))) => Some(s),
        _ => None,
    }
}
