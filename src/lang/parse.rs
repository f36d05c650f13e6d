//! Policy text → syntax tree. pest does the recognising; this file (items) and
//! `parse/expr.rs` (expressions) turn its pairs into `ast` nodes with spans, and
//! are the only place pest types live.

use pest::iterators::Pair;
use pest::Parser as _;

use super::ast::*;
use super::diag::Diagnostic;
use super::scan::{scan, trim_trivia};

mod expr;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/policy.pest"]
struct Grammar;

/// The largest policy file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// The tallest expression tree accepted (long `a or b or …` chains count too),
/// so that everything walking a tree recursively stays within its stack.
pub const MAX_EXPR_HEIGHT: u32 = 1024;

/// Stack for the parsing thread: pest recurses once per grammar rule, and a
/// file nested `MAX_NESTING` deep needs a few megabytes in a debug build.
const PARSE_STACK_BYTES: usize = 64 << 20;

/// Parses one file. On failure, every problem found is returned.
pub fn parse_file(file: FileId, source: &str) -> Result<PolicyFile, Vec<Diagnostic>> {
    if source.len() > MAX_FILE_BYTES {
        return Err(vec![Diagnostic::error(
            Span::new(file, 0, 0),
            format!(
                "policy file is too large: {} bytes, the limit is {MAX_FILE_BYTES}",
                source.len()
            ),
        )]);
    }
    let scanned = scan(file, source);
    if let Some(error) = scanned.error {
        return Err(vec![error]);
    }
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("rampart-parse".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_items(file, source, &scanned.comments))
            .map_err(|e| {
                vec![Diagnostic::error(
                    Span::new(file, 0, 0),
                    format!("cannot start the parser thread: {e}"),
                )]
            })?
            .join()
            .map_err(|_| {
                vec![Diagnostic::error(
                    Span::new(file, 0, 0),
                    "internal error: the parser failed",
                )]
            })?
    });
    let items = parsed?;
    Ok(PolicyFile {
        items,
        comments: scanned.comments,
    })
}

/// Parses a single expression (as used by tests, the CLI and generators).
pub fn parse_expr(file: FileId, source: &str) -> Result<Expr, Vec<Diagnostic>> {
    let wrapped = format!("quota {{ tier x when {source} }}");
    // Reuse the file parser so limits and threading are the same; spans are
    // shifted back to the caller's text.
    const PREFIX: &str = "quota { tier x when ";
    let offset = u32::try_from(PREFIX.len()).unwrap_or(0);
    let shift = |mut d: Diagnostic| {
        d.span.start = d.span.start.saturating_sub(offset);
        d.span.end = d.span.end.saturating_sub(offset);
        d
    };
    let parsed =
        parse_file(file, &wrapped).map_err(|ds| ds.into_iter().map(shift).collect::<Vec<_>>())?;
    match parsed.items.into_iter().next() {
        Some(Item::Quota(QuotaRules { rules, .. })) => match rules.into_iter().next() {
            Some(QuotaRule {
                when: Some(mut expr),
                ..
            }) => {
                shift_expr(&mut expr, offset);
                Ok(expr)
            }
            _ => Err(vec![Diagnostic::error(
                Span::new(file, 0, source.len()),
                "expected one expression",
            )]),
        },
        _ => Err(vec![Diagnostic::error(
            Span::new(file, 0, source.len()),
            "expected one expression",
        )]),
    }
}

fn shift_expr(expr: &mut Expr, by: u32) {
    super::visit::walk_spans_mut(expr, &mut |span| {
        span.start = span.start.saturating_sub(by);
        span.end = span.end.saturating_sub(by);
    });
}

fn parse_items(
    file: FileId,
    source: &str,
    comments: &[Comment],
) -> Result<Vec<Item>, Vec<Diagnostic>> {
    let mut pairs = match Grammar::parse(Rule::file, source) {
        Ok(pairs) => pairs,
        Err(error) => return Err(vec![super::syntax_error::describe(file, source, &error)]),
    };
    let mut builder = Builder {
        file,
        source,
        comments,
        errors: Vec::new(),
    };
    let mut items = Vec::new();
    if let Some(file_pair) = pairs.next() {
        for pair in file_pair.into_inner() {
            if pair.as_rule() == Rule::EOI {
                continue;
            }
            match builder.item(pair) {
                Ok(item) => items.push(item),
                Err(error) => builder.errors.push(error),
            }
        }
    }
    if builder.errors.is_empty() {
        Ok(items)
    } else {
        Err(builder.errors)
    }
}

type Built<T> = Result<T, Diagnostic>;

struct Builder<'s> {
    file: FileId,
    source: &'s str,
    /// Comments in source order, to keep them out of spans.
    comments: &'s [Comment],
    errors: Vec<Diagnostic>,
}

/// An expression with the height of its tree.
struct Sized {
    expr: Expr,
    height: u32,
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let end = trim_trivia(self.source, self.comments, s.start(), s.end());
        Span::new(self.file, s.start(), end)
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Built<Item> {
        Ok(match pair.as_rule() {
            Rule::context_block => Item::Context(self.context_block(pair)?),
            Rule::table_decl => Item::Table(self.table_decl(pair)?),
            Rule::policy_decl => Item::Policy(self.policy_decl(pair)?),
            Rule::tier_decl => Item::Tier(self.tier_decl(pair)?),
            Rule::quota_rules => Item::Quota(self.quota_rules(pair)?),
            Rule::tenant_quota => Item::TenantQuota(self.tenant_quota(pair)?),
            other => return Err(self.unexpected(&pair, other)),
        })
    }

    fn unexpected(&self, pair: &Pair<'_, Rule>, rule: Rule) -> Diagnostic {
        Diagnostic::error(
            self.span(pair),
            format!("internal error: unexpected syntax node {rule:?}"),
        )
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Built<Ident> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next();
        let name = match inner {
            Some(p) if p.as_rule() == Rule::quoted_ident => {
                let raw = p.as_str();
                let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
                if body.is_empty() {
                    return Err(Diagnostic::error(
                        span,
                        "zero-length quoted identifier: a name needs at least one character",
                    ));
                }
                body.replace("\"\"", "\"")
            }
            Some(p) => p.as_str().to_ascii_lowercase(),
            None => String::new(),
        };
        Ok(Ident { name, span })
    }

    fn table_name(&self, pair: Pair<'_, Rule>) -> Built<TableName> {
        let span = self.span(&pair);
        let mut parts = Vec::new();
        for p in pair.into_inner() {
            parts.push(self.ident(p)?);
        }
        let name = parts.pop();
        match name {
            Some(name) => Ok(TableName {
                schema: parts.pop(),
                name,
                span,
            }),
            None => Err(Diagnostic::error(span, "expected a table name")),
        }
    }

    fn context_block(&mut self, pair: Pair<'_, Rule>) -> Built<ContextBlock> {
        let span = self.span(&pair);
        let mut kind = ContextKind::Tenant;
        let mut fields = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::context_kind if p.as_str().eq_ignore_ascii_case("request") => {
                    kind = ContextKind::Request;
                }
                Rule::field_decl => {
                    let fspan = self.span(&p);
                    let mut inner = p.into_inner();
                    let name = self.next_ident(&mut inner, fspan)?;
                    let ty = self.next_type(&mut inner, fspan)?;
                    fields.push(FieldDecl {
                        name,
                        ty,
                        span: fspan,
                    });
                }
                _ => {}
            }
        }
        Ok(ContextBlock { kind, fields, span })
    }

    fn next_ident<'i>(
        &self,
        inner: &mut impl Iterator<Item = Pair<'i, Rule>>,
        span: Span,
    ) -> Built<Ident> {
        match inner.next() {
            Some(p) => self.ident(p),
            None => Err(Diagnostic::error(span, "expected a name")),
        }
    }

    fn next_type<'i>(
        &self,
        inner: &mut impl Iterator<Item = Pair<'i, Rule>>,
        span: Span,
    ) -> Built<TypeExpr> {
        match inner.next() {
            Some(p) => Ok(self.type_expr(p)),
            None => Err(Diagnostic::error(span, "expected a type")),
        }
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut ty = TypeExpr {
            scalar: ScalarType::Text,
            set: false,
            nullable: false,
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::nullable => ty.nullable = true,
                Rule::set_type => {
                    ty.set = true;
                    if let Some(s) = p.into_inner().find(|q| q.as_rule() == Rule::scalar_type) {
                        ty.scalar = scalar_type(s.as_str());
                    }
                }
                Rule::scalar_type => ty.scalar = scalar_type(p.as_str()),
                _ => {}
            }
        }
        ty
    }

    fn table_decl(&mut self, pair: Pair<'_, Rule>) -> Built<TableDecl> {
        let span = self.span(&pair);
        let mut open = false;
        let mut name = None;
        let mut columns = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::open_flag => open = true,
                Rule::table_name => name = Some(self.table_name(p)?),
                Rule::column_decl => {
                    let cspan = self.span(&p);
                    let mut inner = p.into_inner();
                    let cname = self.next_ident(&mut inner, cspan)?;
                    let ty = self.next_type(&mut inner, cspan)?;
                    let preset = match inner.next() {
                        Some(e) => Some(self.expr(e, 0)?.expr),
                        None => None,
                    };
                    columns.push(ColumnDecl {
                        name: cname,
                        ty,
                        preset,
                        span: cspan,
                    });
                }
                _ => {}
            }
        }
        let name = name.ok_or_else(|| Diagnostic::error(span, "expected a table name"))?;
        Ok(TableDecl {
            open,
            name,
            columns,
            span,
        })
    }

    fn policy_decl(&mut self, pair: Pair<'_, Rule>) -> Built<PolicyDecl> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_policy);
        let name = self.next_ident(&mut inner, span)?;
        let mut policy = PolicyDecl {
            name,
            table: TableName {
                schema: None,
                name: Ident::new(""),
                span,
            },
            mode: None,
            commands: None,
            roles: None,
            using: None,
            check: None,
            span,
        };
        for p in inner {
            let pspan = self.span(&p);
            let clause = p.as_rule();
            let seen = match clause {
                Rule::kw_on => false,
                Rule::table_name => {
                    policy.table = self.table_name(p)?;
                    false
                }
                Rule::as_clause => {
                    let mode = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::policy_mode)
                        .map(|q| q.as_str().to_ascii_lowercase());
                    let mode = if mode.as_deref() == Some("restrictive") {
                        PolicyMode::Restrictive
                    } else {
                        PolicyMode::Permissive
                    };
                    policy.mode.replace((mode, pspan)).is_some()
                }
                Rule::for_clause => {
                    let spec = self.command_spec(p, pspan)?;
                    policy.commands.replace(spec).is_some()
                }
                Rule::to_clause => {
                    let mut roles = Vec::new();
                    for r in p.into_inner().filter(|q| q.as_rule() == Rule::ident) {
                        roles.push(self.ident(r)?);
                    }
                    policy.roles.replace(roles).is_some()
                }
                Rule::using_clause => {
                    let e = self.clause_expr(p, pspan)?;
                    policy.using.replace(e).is_some()
                }
                Rule::check_clause => {
                    let e = self.clause_expr(p, pspan)?;
                    policy.check.replace(e).is_some()
                }
                _ => false,
            };
            if seen {
                let word = match clause {
                    Rule::as_clause => "as",
                    Rule::for_clause => "for",
                    Rule::to_clause => "to",
                    Rule::using_clause => "using",
                    _ => "check",
                };
                self.errors.push(Diagnostic::error(
                    pspan,
                    format!("duplicate `{word}` clause in policy `{}`", policy.name.name),
                ));
            }
        }
        Ok(policy)
    }

    fn command_spec(&mut self, pair: Pair<'_, Rule>, span: Span) -> Built<CommandSpec> {
        let mut list = Vec::new();
        let mut all = None;
        for p in pair.into_inner().filter(|q| q.as_rule() == Rule::command) {
            let cspan = self.span(&p);
            match Command::from_name(p.as_str()) {
                Some(c) => list.push((c, cspan)),
                None => all = Some(cspan),
            }
        }
        match all {
            Some(all_span) if list.is_empty() => Ok(CommandSpec::All(all_span)),
            Some(_) => Err(Diagnostic::error(
                span,
                "`for all` cannot be combined with other commands",
            )),
            None => Ok(CommandSpec::List(list)),
        }
    }

    fn clause_expr(&mut self, pair: Pair<'_, Rule>, span: Span) -> Built<Expr> {
        match pair.into_inner().find(|q| q.as_rule() == Rule::expr) {
            Some(e) => Ok(self.expr(e, 0)?.expr),
            None => Err(Diagnostic::error(span, "expected an expression")),
        }
    }

    fn limits<'i>(&self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Built<Vec<Limit>> {
        let mut limits = Vec::new();
        for p in pairs.filter(|q| q.as_rule() == Rule::limit) {
            let span = self.span(&p);
            let mut inner = p.into_inner();
            let name = self.next_ident(&mut inner, span)?;
            let value_pair = inner
                .next()
                .ok_or_else(|| Diagnostic::error(span, "expected a number"))?;
            let value = value_pair.as_str().parse::<i64>().map_err(|_| {
                Diagnostic::error(
                    self.span(&value_pair),
                    format!(
                        "limit `{}` is out of range: at most {}",
                        value_pair.as_str(),
                        i64::MAX
                    ),
                )
            })?;
            let unit = inner.next().map(|u| size_unit(u.as_str()));
            limits.push(Limit {
                name,
                value,
                unit,
                span,
            });
        }
        Ok(limits)
    }

    fn tier_decl(&mut self, pair: Pair<'_, Rule>) -> Built<TierDecl> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_tier);
        let name = self.next_ident(&mut inner, span)?;
        let limits = self.limits(inner)?;
        Ok(TierDecl { name, limits, span })
    }

    fn quota_rules(&mut self, pair: Pair<'_, Rule>) -> Built<QuotaRules> {
        let span = self.span(&pair);
        let mut rules = Vec::new();
        for p in pair
            .into_inner()
            .filter(|q| q.as_rule() == Rule::quota_rule)
        {
            let rspan = self.span(&p);
            let mut inner = p
                .into_inner()
                .filter(|q| !matches!(q.as_rule(), Rule::kw_tier | Rule::kw_when));
            let tier = self.next_ident(&mut inner, rspan)?;
            let when = match inner.next() {
                Some(e) => Some(self.expr(e, 0)?.expr),
                None => None,
            };
            rules.push(QuotaRule {
                tier,
                when,
                span: rspan,
            });
        }
        Ok(QuotaRules { rules, span })
    }

    fn tenant_quota(&mut self, pair: Pair<'_, Rule>) -> Built<TenantQuota> {
        let span = self.span(&pair);
        let pairs: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let tenant = pairs
            .iter()
            .find(|q| q.as_rule() == Rule::string)
            .map(|q| unquote_string(q.as_str()))
            .unwrap_or_default();
        let limits = self.limits(pairs.into_iter())?;
        Ok(TenantQuota {
            tenant,
            limits,
            span,
        })
    }
}

fn scalar_type(text: &str) -> ScalarType {
    match text.to_ascii_lowercase().as_str() {
        "int" => ScalarType::Int,
        "float" => ScalarType::Float,
        "bool" => ScalarType::Bool,
        "timestamp" => ScalarType::Timestamp,
        _ => ScalarType::Text,
    }
}

fn size_unit(text: &str) -> SizeUnit {
    match text.to_ascii_lowercase().as_str() {
        "kb" => SizeUnit::Kb,
        "mb" => SizeUnit::Mb,
        "gb" => SizeUnit::Gb,
        "tb" => SizeUnit::Tb,
        _ => SizeUnit::B,
    }
}

fn unquote_string(raw: &str) -> String {
    raw.get(1..raw.len().saturating_sub(1))
        .unwrap_or("")
        .replace("''", "'")
}
