//! Policy text → syntax tree. pest does the recognising; this file turns its
//! pairs into `ast` nodes with spans, and is the only place pest types live.

use pest::iterators::Pair;
use pest::Parser as _;

use super::ast::*;
use super::diag::Diagnostic;
use super::scan::{scan, MAX_NESTING};

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
            .spawn_scoped(scope, || parse_items(file, source))
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
    const PREFIX: &str = "quota { tier x when ";
    let wrapped = format!("{PREFIX}{source} }}");
    // Reuse the file parser so limits and threading are the same; spans are
    // shifted back to the caller's text.
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

fn parse_items(file: FileId, source: &str) -> Result<Vec<Item>, Vec<Diagnostic>> {
    let mut pairs = match Grammar::parse(Rule::file, source) {
        Ok(pairs) => pairs,
        Err(error) => return Err(vec![super::syntax_error::describe(file, source, &error)]),
    };
    let mut builder = Builder {
        file,
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

struct Builder {
    file: FileId,
    errors: Vec<Diagnostic>,
}

/// An expression with the height of its tree.
struct Sized {
    expr: Expr,
    height: u32,
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
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

    // ------------------------------------------------------------ expressions

    /// Builds an expression; `depth` is the nesting so far (parentheses,
    /// prefix `not` / `-`, lists, calls and `exists`).
    fn expr(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let built = match pair.as_rule() {
            Rule::expr => match pair.into_inner().next() {
                Some(p) => self.expr(p, depth)?,
                None => return Err(Diagnostic::error(span, "expected an expression")),
            },
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr => {
                self.chain(pair, depth)?
            }
            Rule::not_expr => self.prefixed(pair, depth, UnaryOp::Not)?,
            Rule::neg_expr => self.prefixed(pair, depth, UnaryOp::Neg)?,
            Rule::cmp_expr => self.comparison(pair, depth)?,
            Rule::paren => {
                let depth = self.deeper(depth, span)?;
                match pair.into_inner().next() {
                    Some(p) => self.expr(p, depth)?,
                    None => return Err(Diagnostic::error(span, "expected an expression")),
                }
            }
            _ => self.atom(pair, depth)?,
        };
        if built.height > MAX_EXPR_HEIGHT {
            return Err(Diagnostic::error(
                span,
                format!(
                    "expression is too long: its tree is more than {MAX_EXPR_HEIGHT} levels tall"
                ),
            ));
        }
        Ok(built)
    }

    fn deeper(&self, depth: u32, span: Span) -> Built<u32> {
        let depth = depth + 1;
        if depth as usize > MAX_NESTING {
            Err(nesting_error(span))
        } else {
            Ok(depth)
        }
    }

    /// `a op b op c …`, left-associative.
    fn chain(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner
            .next()
            .ok_or_else(|| Diagnostic::error(span, "expected an expression"))?;
        let mut acc = self.expr(first, depth)?;
        while let Some(op_pair) = inner.next() {
            let op = binary_op(op_pair.as_str());
            let rhs_pair = inner
                .next()
                .ok_or_else(|| Diagnostic::error(span, "expected an operand"))?;
            let rhs = self.expr(rhs_pair, depth)?;
            let whole = acc.expr.span.to(rhs.expr.span);
            let height = acc.height.max(rhs.height) + 1;
            if height > MAX_EXPR_HEIGHT {
                return Err(Diagnostic::error(
                    whole,
                    format!(
                        "expression is too long: its tree is more than {MAX_EXPR_HEIGHT} levels tall"
                    ),
                ));
            }
            acc = Sized {
                expr: Expr::new(
                    ExprKind::Binary(op, Box::new(acc.expr), Box::new(rhs.expr)),
                    whole,
                ),
                height,
            };
        }
        Ok(acc)
    }

    /// `not not x`, `- - x`: prefix operators then an operand.
    fn prefixed(&self, pair: Pair<'_, Rule>, depth: u32, op: UnaryOp) -> Built<Sized> {
        let mut prefixes = Vec::new();
        let mut operand = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_not | Rule::minus => prefixes.push(self.span(&p)),
                _ => operand = Some(p),
            }
        }
        let mut depth = depth;
        for span in &prefixes {
            depth = self.deeper(depth, *span)?;
        }
        let operand = operand.ok_or_else(|| {
            Diagnostic::error(
                prefixes.last().copied().unwrap_or_default(),
                "expected an operand",
            )
        })?;
        // `-9223372036854775808` is i64::MIN: the digits alone do not fit.
        let mut acc = if op == UnaryOp::Neg
            && operand.as_rule() == Rule::number
            && operand.as_str() == "9223372036854775808"
        {
            let whole = prefixes.pop().unwrap_or_default().to(self.span(&operand));
            Sized {
                expr: Expr::new(ExprKind::Literal(Literal::Int(i64::MIN)), whole),
                height: 1,
            }
        } else {
            self.expr(operand, depth)?
        };
        for span in prefixes.into_iter().rev() {
            let whole = span.to(acc.expr.span);
            acc = match (op, acc.expr.kind) {
                // `-3` is a literal: fold the sign in, which also admits i64::MIN.
                (UnaryOp::Neg, ExprKind::Literal(Literal::Int(i))) if i >= 0 => Sized {
                    expr: Expr::new(ExprKind::Literal(Literal::Int(-i)), whole),
                    height: acc.height,
                },
                (UnaryOp::Neg, ExprKind::Literal(Literal::Float(x))) if x.is_sign_positive() => {
                    Sized {
                        expr: Expr::new(ExprKind::Literal(Literal::Float(-x)), whole),
                        height: acc.height,
                    }
                }
                (op, kind) => Sized {
                    expr: Expr::new(
                        ExprKind::Unary(op, Box::new(Expr::new(kind, acc.expr.span))),
                        whole,
                    ),
                    height: acc.height + 1,
                },
            };
        }
        Ok(acc)
    }

    fn comparison(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner
            .next()
            .ok_or_else(|| Diagnostic::error(span, "expected an expression"))?;
        let lhs = self.expr(first, depth)?;
        let Some(tail) = inner.next() else {
            return Ok(lhs);
        };
        let tail_span = self.span(&tail);
        let whole = lhs.expr.span.to(tail_span);
        let rule = tail.as_rule();
        let parts: Vec<Pair<'_, Rule>> = tail.into_inner().collect();
        let negated = parts.iter().any(|p| p.as_rule() == Rule::negation);
        let lhs_height = lhs.height;
        let lhs = Box::new(lhs.expr);
        if rule == Rule::compare {
            let [op, rhs] = <[Pair<'_, Rule>; 2]>::try_from(parts)
                .map_err(|_| Diagnostic::error(tail_span, "expected a comparison"))?;
            let rhs = self.expr(rhs, depth)?;
            return Ok(Sized {
                height: lhs_height.max(rhs.height) + 1,
                expr: Expr::new(
                    ExprKind::Binary(binary_op(op.as_str()), lhs, Box::new(rhs.expr)),
                    whole,
                ),
            });
        }
        let operand = parts.into_iter().find(|p| {
            !matches!(
                p.as_rule(),
                Rule::negation | Rule::kw_in | Rule::kw_is | Rule::kw_like | Rule::kw_null
            )
        });
        let (kind, height) = match (rule, operand) {
            (Rule::is_test, _) => (ExprKind::IsNull { expr: lhs, negated }, lhs_height + 1),
            (Rule::in_test, Some(p)) if p.as_rule() == Rule::list => {
                let depth = self.deeper(depth, self.span(&p))?;
                let mut items = Vec::new();
                let mut height = lhs_height;
                for item in p.into_inner() {
                    let built = self.expr(item, depth)?;
                    height = height.max(built.height);
                    items.push(built.expr);
                }
                (
                    ExprKind::In {
                        expr: lhs,
                        set: InSet::List(items),
                        negated,
                    },
                    height + 1,
                )
            }
            (Rule::in_test, Some(p)) => {
                let set = self.expr(p, depth)?;
                (
                    ExprKind::In {
                        expr: lhs,
                        set: InSet::Expr(Box::new(set.expr)),
                        negated,
                    },
                    lhs_height.max(set.height) + 1,
                )
            }
            (Rule::like_test, Some(p)) => {
                let pattern = self.expr(p, depth)?;
                (
                    ExprKind::Like {
                        expr: lhs,
                        pattern: Box::new(pattern.expr),
                        negated,
                    },
                    lhs_height.max(pattern.height) + 1,
                )
            }
            _ => return Err(Diagnostic::error(tail_span, "expected an operand")),
        };
        Ok(Sized {
            expr: Expr::new(kind, whole),
            height,
        })
    }

    fn atom(&self, pair: Pair<'_, Rule>, depth: u32) -> Built<Sized> {
        let span = self.span(&pair);
        let leaf = |kind| {
            Ok(Sized {
                expr: Expr::new(kind, span),
                height: 1,
            })
        };
        match pair.as_rule() {
            Rule::kw_null => leaf(ExprKind::Literal(Literal::Null)),
            Rule::kw_true => leaf(ExprKind::Literal(Literal::Bool(true))),
            Rule::kw_false => leaf(ExprKind::Literal(Literal::Bool(false))),
            Rule::number => leaf(ExprKind::Literal(number(pair.as_str(), span)?)),
            Rule::string => leaf(ExprKind::Literal(Literal::Text(unquote_string(
                pair.as_str(),
            )))),
            Rule::timestamp_lit => {
                let text = pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::string)
                    .map(|p| unquote_string(p.as_str()))
                    .unwrap_or_default();
                leaf(ExprKind::Literal(Literal::Timestamp(timestamp(
                    &text, span,
                )?)))
            }
            Rule::reference => match pair.into_inner().next() {
                Some(p) => self.reference(p),
                None => Err(Diagnostic::error(span, "expected a name")),
            },
            Rule::call => {
                let depth = self.deeper(depth, span)?;
                let mut inner = pair.into_inner();
                let func = self.next_ident(&mut inner, span)?;
                let mut args = Vec::new();
                let mut height = 0;
                for a in inner {
                    let built = self.expr(a, depth)?;
                    height = height.max(built.height);
                    args.push(built.expr);
                }
                Ok(Sized {
                    expr: Expr::new(ExprKind::Call { func, args }, span),
                    height: height + 1,
                })
            }
            Rule::exists_expr => {
                let depth = self.deeper(depth, span)?;
                let mut table = None;
                let mut alias = None;
                let mut cond = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::table_name_ref => table = Some(self.table_name(p)?),
                        Rule::alias => {
                            if let Some(i) = p.into_inner().next() {
                                alias = Some(self.ident(i)?);
                            }
                        }
                        Rule::expr => cond = Some(self.expr(p, depth)?),
                        _ => {}
                    }
                }
                let table = table.ok_or_else(|| Diagnostic::error(span, "expected a table"))?;
                let cond =
                    cond.ok_or_else(|| Diagnostic::error(span, "expected a `where` condition"))?;
                Ok(Sized {
                    expr: Expr::new(
                        ExprKind::Exists {
                            table,
                            alias,
                            cond: Box::new(cond.expr),
                        },
                        span,
                    ),
                    height: cond.height + 1,
                })
            }
            other => Err(self.unexpected(&pair, other)),
        }
    }

    fn reference(&self, pair: Pair<'_, Rule>) -> Built<Sized> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let parts: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let kind = match (rule, parts.as_slice()) {
            (Rule::context_ref, [block, field]) => {
                let kind = if block.as_str().eq_ignore_ascii_case("tenant") {
                    ContextKind::Tenant
                } else {
                    ContextKind::Request
                };
                ExprKind::Context(kind, self.ident(field.clone())?)
            }
            (Rule::qualified_ref, [table, column]) => {
                ExprKind::Qualified(self.ident(table.clone())?, self.ident(column.clone())?)
            }
            (Rule::column_ref, [name]) => ExprKind::Column(self.ident(name.clone())?),
            _ => return Err(Diagnostic::error(span, "expected a name")),
        };
        Ok(Sized {
            expr: Expr::new(kind, span),
            height: 1,
        })
    }
}

fn nesting_error(span: Span) -> Diagnostic {
    Diagnostic::error(
        span,
        format!("expression nests more than {MAX_NESTING} levels deep"),
    )
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

fn binary_op(text: &str) -> BinaryOp {
    match text.to_ascii_lowercase().as_str() {
        "or" => BinaryOp::Or,
        "and" => BinaryOp::And,
        "||" => BinaryOp::Concat,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "%" => BinaryOp::Mod,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        _ => BinaryOp::Ge,
    }
}

fn unquote_string(raw: &str) -> String {
    raw.get(1..raw.len().saturating_sub(1))
        .unwrap_or("")
        .replace("''", "'")
}

/// Reads a numeric literal: an int unless it has a `.` or an exponent.
fn number(text: &str, span: Span) -> Built<Literal> {
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Literal::Float(x)),
            _ => Err(Diagnostic::error(
                span,
                format!("number `{text}` is out of range for `float`"),
            )),
        }
    } else {
        match text.parse::<i64>() {
            Ok(i) => Ok(Literal::Int(i)),
            Err(_) => Err(Diagnostic::error(
                span,
                format!("number `{text}` is out of range for `int` (64-bit)"),
            )),
        }
    }
}

/// Reads an RFC 3339 timestamp into microseconds since the epoch.
fn timestamp(text: &str, span: Span) -> Built<i64> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        Diagnostic::error(
            span,
            format!(
                "invalid timestamp `{text}`: {e} (expected RFC 3339, like `2026-01-01T00:00:00Z`)"
            ),
        )
    })?;
    Ok(parsed.timestamp_micros())
}
