//! The SQL rewriter: parses statements with `sqlparser`, replaces every
//! reference to a declared table with a subquery applying its policies, and
//! prints the result: queries (`SELECT`, set operations, `VALUES`),
//! `DELETE`, `UPDATE` and `INSERT` (with `ON CONFLICT`); writes whose new rows
//! must be verified get RETURNING check columns and a `StatementPlan` saying
//! which.
//!
//! `INSERT` (`insert.rs`) fills in omitted preset columns and checks rows
//! known when rewriting with a `RowCheck` (`row_check.rs`: the interpreter,
//! or the engine's compiled predicates), refusing a bad one with 42501;
//! other rows are checked through RETURNING. What RETURNING cannot see —
//! proposed rows that `ON CONFLICT` skips (`proposed.rs`), the conflicting
//! and the updated row of `DO UPDATE` (`upsert.rs`) — is checked by guards in
//! the statement that raise an error marked `VIOLATION_MARKER`, which the
//! executor reports as 42501. `REPLACE` / `INSERT OR …` are refused.
//!
//! Each reference `FROM orders o` becomes
//! `FROM (SELECT * FROM "orders" WHERE <policy> OFFSET 0) AS o` (SQLite:
//! `LIMIT -1 OFFSET 0`, as its `OFFSET` needs a `LIMIT`). The `OFFSET 0` is
//! the optimisation fence: neither PostgreSQL nor SQLite flattens a subquery
//! with an offset into the outer query or pushes the outer `WHERE` into it,
//! so a user condition that could fail or leak through a function (division
//! by zero, a `raise`-ing function) only ever runs on admitted rows, as with
//! PostgreSQL's security-barrier quals. A `MATERIALIZED` CTE would fence too
//! but must be hoisted to the top of the statement and is always
//! materialised; `OFFSET 0` stays where the reference was, keeps indexes
//! usable for the policy itself, and has the same shape in both dialects.
//!
//! The fence is paid for only where a user condition could leak. As in
//! PostgreSQL, where only leakproof quals may run below a security barrier,
//! a condition on an allow-list (`pushdown.rs`: a column of type int, text,
//! bool or timestamp compared by `=`, `<>`, `<`, `<=`, `>`, `>=` with a
//! literal or parameter, `IS [NOT] NULL`, `[NOT] IN (literals)`, `[NOT]
//! BETWEEN` literals, a bare bool column, and `AND` / `OR` / `NOT` of these)
//! cannot fail, call a function or tell a row it sees to anyone, so it may
//! run on hidden rows. Such a `WHERE` conjunct that reads one fenced table
//! only, where that table is not on the nullable side of an outer join, is
//! moved inside its fence (`WHERE <policy> AND <condition>`), where the
//! table's indexes serve it; everything else stays outside. A write's
//! leakproof `WHERE` is AND-ed with the policy instead of guarded by `CASE`.
//! And when every condition of a top-level SELECT that could be evaluated
//! beside a policy is leakproof — its `WHERE`, `ON` and `HAVING`, with `IN`
//! / `EXISTS` subqueries in them judged the same way, and every FROM item a
//! policy subquery or an open table — its fences are dropped (`unfence.rs`):
//! the planner flattens the policy subqueries and plans as for hand-written
//! filters. Select-list expressions, `GROUP BY` and `ORDER BY` run above the
//! scans, after every filter, so they do not count. Where such a SELECT's
//! FROM items are all tables joined by inner joins, the subqueries are not
//! made at all: the tables stay in place and their policies are AND-ed into
//! its `WHERE` (`flat.rs`), which is what the planner would have made of the
//! unfenced subqueries.
//!
//! A clause made only of column references, literals, parameters and
//! built-in operators gives the walk nothing to rewrite or refuse beyond
//! its column references; it is checked without being walked (`plain.rs`),
//! and so is a flat query made only of such clauses.
//!
//! `max_rows` of the tenant's quota tier (`limit.rs`) caps every top-level
//! query with a `LIMIT`, keeping a smaller one the user wrote.
//!
//! Everything not understood is refused with an error naming it (fail
//! closed); see `RewriteError`.

mod copied;
mod delete;
mod deny;
mod error;
mod fence;
mod flat;
mod insert;
mod lend;
mod limit;
mod plain;
mod plan;
mod presets;
mod printed;
mod proposed;
mod pushdown;
mod qualified;
mod query;
mod row_check;
mod scope;
mod stable;
mod table;
mod target;
mod tenant;
mod unfence;
mod update;
mod upsert;
mod with_write;

use std::ops::{ControlFlow, Range};

use sqlparser::ast::{Statement, VisitMut};
use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::lang::model::{PolicySet, Value};

use super::Dialect;

pub use error::RewriteError;
pub use plan::{
    violation_in_message, AppendedCheck, PlanKind, StatementPlan, Transaction, WithWrite,
    VIOLATION_MARKER,
};
pub use tenant::TenantRewriter;

pub use row_check::{interpret, Interpreted, RowCheck};
use tenant::PolicyCache;

/// The longest SQL text accepted, in bytes.
pub const MAX_SQL_BYTES: usize = 1 << 20;
/// How deep the parser may recurse (nested subqueries, parentheses, …).
pub const MAX_DEPTH: usize = 50;

/// The most operators one statement may have. sqlparser builds chains such
/// as `a OR b OR c …` in a loop, outside its recursion limit, into trees as
/// tall as the chain, which printing and dropping walk recursively.
pub const MAX_OPERATORS: usize = 5000;

/// Rewritten statements and what an executor must do with their output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The rewritten statements, joined by `";\n"`.
    pub sql: String,
    /// Where each statement is in `sql`, in order ([`Self::statements`]).
    bounds: Vec<Range<usize>>,
    /// One plan per statement, in order: the appended RETURNING check
    /// columns to verify and strip.
    pub plan: Vec<StatementPlan>,
}

impl Rewritten {
    /// Each rewritten statement on its own, in order: the parts of
    /// [`Self::sql`], one per plan.
    pub fn statements(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.bounds
            .iter()
            .map(|bounds| self.sql.get(bounds.clone()).unwrap_or_default())
    }
}

/// Choices that change what the rewriter appends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RewriteOptions {
    /// Append every declared column of each written row to RETURNING (after
    /// the user's items, before the checks), for change events.
    pub row_images: bool,
}

/// Rewrites `sql` so that every statement sees only the rows the policies
/// admit for the context `context` (values of `set.context`, in order).
/// Refuses every statement if any one is refused.
pub fn rewrite(
    set: &PolicySet,
    context: &[Value],
    dialect: Dialect,
    sql: &str,
) -> Result<Rewritten, RewriteError> {
    rewrite_with(set, context, dialect, sql, RewriteOptions::default())
}

/// [`rewrite`] with options.
pub fn rewrite_with(
    set: &PolicySet,
    context: &[Value],
    dialect: Dialect,
    sql: &str,
    options: RewriteOptions,
) -> Result<Rewritten, RewriteError> {
    rewrite_checked(set, context, dialect, sql, options, &Interpreted)
}

/// [`rewrite_with`], deciding INSERT rows known when rewriting with
/// `row_check` (the engine passes its compiled predicates).
pub fn rewrite_checked(
    set: &PolicySet,
    context: &[Value],
    dialect: Dialect,
    sql: &str,
    options: RewriteOptions,
    row_check: &dyn RowCheck,
) -> Result<Rewritten, RewriteError> {
    rewrite_uncached(set, context, dialect, sql, options, row_check, false)
}

/// [`rewrite`] with every clause walked, plain ones too (`plain.rs`): the
/// same result, slower. For the tests and fuzz targets that compare them.
#[doc(hidden)]
pub fn rewrite_walking_every_clause(
    set: &PolicySet,
    context: &[Value],
    dialect: Dialect,
    sql: &str,
) -> Result<Rewritten, RewriteError> {
    let options = RewriteOptions::default();
    rewrite_uncached(set, context, dialect, sql, options, &Interpreted, true)
}

fn rewrite_uncached(
    set: &PolicySet,
    context: &[Value],
    dialect: Dialect,
    sql: &str,
    options: RewriteOptions,
    row_check: &dyn RowCheck,
    walk_all: bool,
) -> Result<Rewritten, RewriteError> {
    let known: Vec<Option<Value>> = context.iter().cloned().map(Some).collect();
    let bound = Bound {
        set,
        known: &known,
        max_rows: limit::max_rows(set, context),
        dialect,
        cache: &PolicyCache::default(),
        row_check,
        walk_all,
        null_defaults: &[],
    };
    rewrite_parsed(&bound, sql, options)
}

/// What rewriting for one context needs besides the SQL: the policy
/// subqueries in `cache` are ones made for this set, context and dialect.
struct Bound<'a> {
    set: &'a PolicySet,
    known: &'a crate::policy::KnownContext,
    max_rows: Option<u64>,
    dialect: Dialect,
    cache: &'a PolicyCache,
    row_check: &'a dyn RowCheck,
    /// Walk every clause, plain ones too (`plain.rs`); for tests.
    walk_all: bool,
    /// What the database fills omitted columns with, where known
    /// (`QueryRewriter::null_defaults`).
    null_defaults: &'a [Option<Vec<bool>>],
}

/// Parses, rewrites and prints.
fn rewrite_parsed(
    bound: &Bound<'_>,
    sql: &str,
    options: RewriteOptions,
) -> Result<Rewritten, RewriteError> {
    let (max_rows, dialect) = (bound.max_rows, bound.dialect);
    let (mut statements, three_part_names) = parse(sql, dialect)?;
    let mut bounds = Vec::with_capacity(statements.len());
    let mut plan = Vec::with_capacity(statements.len());
    let sql = printed(|text| {
        // Each statement rewritten where it is (a `Statement` is kilobytes).
        for statement in &mut statements {
            if three_part_names {
                qualified::shorten(statement, bound.set, dialect);
            }
            let (statement_plan, lent) = rewrite_statement(bound, options, statement)?;
            plan.push(statement_plan);
            if let (Some(max_rows), Statement::Query(query)) = (max_rows, &mut *statement) {
                // A write under WITH returns its RETURNING rows, not a query's.
                if !with_write::is_write(query) {
                    limit::cap_rows(query, max_rows, dialect)?;
                }
            }
            if !bounds.is_empty() {
                text.push_str(";\n");
            }
            let start = text.len();
            print_into(text, statement)?;
            bounds.push(start..text.len());
            lend::give_back(bound.cache, statement, lent);
        }
        Ok(())
    })?;
    Ok(Rewritten { sql, bounds, plan })
}

/// The text `write` writes, printed into this thread's buffer and then
/// copied into a string of its size: the policy subqueries, hiding
/// predicates, checks and guards make a rewritten statement several times
/// the user's text, which would otherwise be copied as the string doubles,
/// and a string sized by guess is either grown or larger than it needs to
/// be (which costs more in the allocator than the copy). A buffer past
/// [`KEPT_PRINT_BUFFER`] is let go after use.
fn printed(
    write: impl FnOnce(&mut String) -> Result<(), RewriteError>,
) -> Result<String, RewriteError> {
    use std::cell::RefCell;
    thread_local! {
        static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
    }
    BUFFER.with(|buffer| {
        let Ok(mut buffer) = buffer.try_borrow_mut() else {
            // Not met (rewriting does not rewrite again); printed directly.
            let mut text = String::new();
            return write(&mut text).map(|()| text);
        };
        buffer.clear();
        let text = write(&mut buffer).map(|()| buffer.as_str().to_owned());
        if buffer.capacity() > KEPT_PRINT_BUFFER {
            *buffer = String::new();
        }
        text
    })
}

/// Writes `statement` onto the end of `text`.
fn print_into(text: &mut String, statement: &Statement) -> Result<(), RewriteError> {
    use std::fmt::Write;
    // Writing to a `String` fails only where a `Display` does.
    write!(text, "{statement}").map_err(|_| RewriteError::Unsupported {
        construct: "a statement that sqlparser cannot print".into(),
    })
}

/// The largest print buffer a thread keeps between statements.
const KEPT_PRINT_BUFFER: usize = 64 << 10;

/// Parses within the size and depth limits; also says whether the text
/// has a three-part dotted name (`qualified.rs`).
fn parse(sql: &str, dialect: Dialect) -> Result<(Vec<Statement>, bool), RewriteError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(RewriteError::TooLarge {
            len: sql.len(),
            limit: MAX_SQL_BYTES,
        });
    }
    if let Some(offset) = sql.find('\0') {
        return Err(RewriteError::Syntax {
            message: format!("NUL character at byte {offset}"),
        });
    }
    let parser_dialect: &dyn ParserDialect = match dialect {
        Dialect::Postgres => &PostgreSqlDialect {},
        Dialect::Sqlite => &SQLiteDialect {},
    };
    let tokens = Tokenizer::new(parser_dialect, sql)
        .tokenize_with_location()
        .map_err(|e| RewriteError::Syntax {
            message: e.to_string(),
        })?;
    let three_part_names = check_tokens(&tokens)?;
    let statements = Parser::new(parser_dialect)
        .with_recursion_limit(MAX_DEPTH)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| match e {
            ParserError::RecursionLimitExceeded => RewriteError::TooDeep { limit: MAX_DEPTH },
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
                RewriteError::Syntax { message: m }
            }
        })?;
    if statements.is_empty() {
        return Err(RewriteError::Empty);
    }
    Ok((statements, three_part_names))
}

/// Refuses, in one pass over the tokens, a statement with more than
/// `MAX_OPERATORS` operators, and quoted literals and identifiers that
/// sqlparser cannot print back as they were read. Its printer leaves a
/// quote character alone when it follows a backslash or another quote
/// (taking it as already escaped), so a value holding `\'` or `''` would
/// be printed as `'…\' …'` and close the literal early on PostgreSQL and
/// SQLite, where a backslash is an ordinary character: the rest of the
/// value would run as SQL the rewriter never saw.
/// Also says whether a name of three or more dotted parts is among them.
fn check_tokens(tokens: &[TokenWithSpan]) -> Result<bool, RewriteError> {
    let mut count = 0usize;
    let mut names = qualified::DottedNames::default();
    for token in tokens {
        if let Token::Whitespace(_) = token.token {
            continue;
        }
        names.see(&token.token);
        let operator = match &token.token {
            Token::SemiColon => {
                count = 0;
                continue;
            }
            Token::Word(word) if word.quote_style.is_none() => is_operator(&token.token),
            Token::Word(_)
            | Token::SingleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::DoubleQuotedString(_) => {
                check_quoting(token)?;
                false
            }
            other => is_operator(other),
        };
        if operator {
            count += 1;
            if count > MAX_OPERATORS {
                return Err(RewriteError::TooManyOperators {
                    limit: MAX_OPERATORS,
                });
            }
        }
    }
    Ok(names.three_parts)
}

/// A quoted token whose text `check_tokens` refuses.
fn check_quoting(token: &TokenWithSpan) -> Result<(), RewriteError> {
    let (value, quote, what) = match &token.token {
        Token::SingleQuotedString(s) => (s, '\'', "string literal"),
        Token::NationalStringLiteral(s) => (s, '\'', "string literal"),
        Token::DoubleQuotedString(s) => (s, '"', "double-quoted string"),
        Token::Word(word) => match word.quote_style {
            Some('[') => (&word.value, ']', "quoted identifier"),
            Some(q) => (&word.value, q, "quoted identifier"),
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    let mut previous = None;
    for c in value.chars() {
        if c == quote && matches!(previous, Some(p) if p == '\\' || p == quote) {
            return Err(RewriteError::Unsupported {
                construct: format!(
                    "a {what} whose text holds `\\{quote}` or `{quote}{quote}` \
                     (it cannot be printed back safely), at line {} column {}",
                    token.span.start.line, token.span.start.column
                ),
            });
        }
        previous = Some(c);
    }
    Ok(())
}

/// Whether a token can continue an operator chain (counted generously).
fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(word) => matches!(
            word.keyword,
            Keyword::AND
                | Keyword::OR
                | Keyword::XOR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::IN
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::GLOB
                | Keyword::REGEXP
                | Keyword::MATCH
                | Keyword::BETWEEN
                | Keyword::COLLATE
                | Keyword::AT
        ),
        Token::EOF
        | Token::Whitespace(_)
        | Token::Comma
        | Token::Period
        | Token::LParen
        | Token::RParen
        | Token::SemiColon
        | Token::Number(..)
        | Token::Char(_)
        | Token::Placeholder(_)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => false,
        _ => true,
    }
}

/// Rewrites one statement; also says which kept parts it borrowed.
fn rewrite_statement(
    bound: &Bound<'_>,
    options: RewriteOptions,
    statement: &mut Statement,
) -> Result<(StatementPlan, lend::Lent), RewriteError> {
    if let Some(control) = transaction_control(statement)? {
        let plan = StatementPlan::none(PlanKind::Transaction(control), None);
        return Ok((plan, lend::Lent::default()));
    }
    let make = || {
        let mut rewriter =
            query::QueryRewriter::new(bound.set, bound.dialect, bound.known, bound.cache);
        rewriter.row_images = options.row_images;
        rewriter.row_check = bound.row_check;
        rewriter.walk_all = bound.walk_all;
        rewriter.null_defaults = bound.null_defaults;
        rewriter
    };
    // Writes inside WITH items first, taken out while the rest is walked.
    let item_writes = match statement {
        Statement::Query(query) => with_write::rewrite_item_writes(query, &make)?,
        _ => None,
    };
    let mut rewriter = make();
    let mut plan = match &mut *statement {
        Statement::Query(query) if with_write::is_write(query) => {
            rewriter.rewrite_write_under_with(query)
        }
        Statement::Query(query) => {
            rewriter.flat = rewriter.flat_tables(query);
            // A flat query of plain clauses has nothing for the walk to do.
            let plain = !rewriter.walk_all
                && !rewriter.flat.is_empty()
                && plain::flat_query_is_plain(query, rewriter.flat.len(), bound.dialect);
            let flow = if plain {
                ControlFlow::Continue(())
            } else {
                query.visit(&mut rewriter)
            };
            match flow {
                ControlFlow::Continue(()) => rewriter
                    .add_flat_policies(query)
                    .map(|()| StatementPlan::none(PlanKind::Query, None)),
                ControlFlow::Break(e) => Err(e),
            }
        }
        Statement::Delete(delete) => rewriter.rewrite_delete(delete),
        Statement::Update(update) => rewriter.rewrite_update(update),
        Statement::Insert(insert) => rewriter.rewrite_insert(insert),
        other => Err(RewriteError::Unsupported {
            construct: format!("`{}` statements", statement_kind(other)),
        }),
    }?;
    let mut lent = rewriter.into_lent();
    if let (Some(mut items), Statement::Query(query)) = (item_writes, &mut *statement) {
        items.put_back(query);
        plan.with_writes = items.writes;
        lent.extend(items.lent);
    }
    Ok((plan, lent))
}

/// Transaction control, passed through as written: `BEGIN` (with modes),
/// `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`. Chained
/// transactions and procedural blocks are refused.
fn transaction_control(statement: &Statement) -> Result<Option<Transaction>, RewriteError> {
    let refused = |what: &str| RewriteError::Unsupported {
        construct: what.to_string(),
    };
    Ok(Some(match statement {
        Statement::StartTransaction {
            statements,
            exception,
            has_end_keyword,
            ..
        } => {
            if !statements.is_empty() || exception.is_some() || *has_end_keyword {
                return Err(refused("`BEGIN … END` blocks"));
            }
            Transaction::Begin
        }
        Statement::Commit { chain, .. } | Statement::Rollback { chain, .. } if *chain => {
            return Err(refused("`AND CHAIN`"));
        }
        Statement::Commit { .. } => Transaction::Commit,
        Statement::Rollback {
            savepoint: None, ..
        } => Transaction::Rollback,
        Statement::Rollback {
            savepoint: Some(name),
            ..
        } => Transaction::RollbackTo(name.value.clone()),
        Statement::Savepoint { name } => Transaction::Savepoint(name.value.clone()),
        Statement::ReleaseSavepoint { name } => Transaction::Release(name.value.clone()),
        _ => return Ok(None),
    }))
}

/// `CREATE TABLE` for `Statement::CreateTable { … }`: the variant's name in words.
fn statement_kind(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut words = String::new();
    for (i, c) in variant.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            words.push(' ');
        }
        words.push(c.to_ascii_uppercase());
    }
    words
}
