//! Quotas: tiers and their limits, the `quota { … }` rules that pick a tier
//! per tenant, and per-tenant overrides; storage is converted to bytes.

use super::expr::{ExprChecker, Place};
use super::suggest::{closest, did_you_mean};
use crate::lang::ast::{Item, Limit, QuotaRules, Span};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{Limits, PolicySet, QuotaRule, TenantOverride, Tier};

const LIMIT_NAMES: [&str; 4] = ["connections", "qps", "storage", "max_rows"];

/// The largest storage limit, in bytes (a signed 64-bit count, as databases store it).
const MAX_STORAGE_BYTES: u64 = i64::MAX.unsigned_abs();

pub fn quotas(items: &[&Item], set: &mut PolicySet, diags: &mut Vec<Diagnostic>) {
    let mut tier_names: Vec<Span> = Vec::new();
    let mut tiers: Vec<Tier> = Vec::new();
    let mut overrides: Vec<TenantOverride> = Vec::new();
    let mut blocks: Vec<&QuotaRules> = Vec::new();
    for item in items {
        match item {
            Item::Tier(decl) => {
                let limits = limits(&decl.limits, diags);
                let first = tiers
                    .iter()
                    .zip(&tier_names)
                    .find(|(t, _)| t.name == decl.name.name);
                if let Some((_, &first)) = first {
                    diags.push(
                        Diagnostic::error(
                            decl.name.span,
                            format!("tier `{}` is declared twice", decl.name.name),
                        )
                        .with_related(first, "first declared here"),
                    );
                    continue;
                }
                tier_names.push(decl.name.span);
                tiers.push(Tier {
                    name: decl.name.name.clone(),
                    limits,
                    span: decl.span,
                });
            }
            Item::TenantQuota(quota) => {
                let limits = limits(&quota.limits, diags);
                if let Some(first) = overrides.iter().find(|o| o.tenant == quota.tenant) {
                    diags.push(
                        Diagnostic::error(
                            quota.span,
                            format!("quota for tenant `{}` is given twice", quota.tenant),
                        )
                        .with_related(keyword(first.span), "first given here"),
                    );
                    continue;
                }
                overrides.push(TenantOverride {
                    tenant: quota.tenant.clone(),
                    limits,
                    span: quota.span,
                });
            }
            Item::Quota(block) => blocks.push(block),
            _ => {}
        }
    }
    let mut rules = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let checked = quota_rules(block, set, &tiers, diags);
        match blocks.first() {
            Some(first) if i > 0 => diags.push(
                Diagnostic::error(
                    keyword(block.span),
                    "only one `quota { … }` block is allowed: its rules are tried in order",
                )
                .with_related(keyword(first.span), "the first one is here"),
            ),
            _ => rules = checked,
        }
    }
    set.tiers = tiers;
    set.tenant_overrides = overrides;
    set.quota_rules = rules;
}

/// The span of the `quota` keyword that starts a block.
fn keyword(span: Span) -> Span {
    Span {
        end: span.end.min(span.start.saturating_add(5)),
        ..span
    }
}

fn quota_rules(
    block: &QuotaRules,
    set: &PolicySet,
    tiers: &[Tier],
    diags: &mut Vec<Diagnostic>,
) -> Vec<QuotaRule> {
    let mut rules = Vec::new();
    let mut default: Option<Span> = None;
    for rule in &block.rules {
        if let Some(default) = default {
            diags.push(
                Diagnostic::error(
                    rule.span,
                    "this rule is never reached: the default rule before it matches every tenant",
                )
                .with_related(default, "the default rule"),
            );
        }
        let tier = tiers.iter().position(|t| t.name == rule.tier.name);
        if tier.is_none() {
            let suggestion = closest(&rule.tier.name, tiers.iter().map(|t| t.name.as_str()));
            diags.push(Diagnostic::error(
                rule.tier.span,
                format!(
                    "unknown tier `{}`{}",
                    rule.tier.name,
                    did_you_mean(suggestion)
                ),
            ));
        }
        let when = match &rule.when {
            Some(expr) => {
                let mut checker = ExprChecker::new(set, diags, Place::Quota);
                checker.condition(expr, "when")
            }
            None => {
                default.get_or_insert(rule.span);
                None
            }
        };
        if let Some(tier) = tier {
            rules.push(QuotaRule {
                tier,
                when,
                span: rule.span,
            });
        }
    }
    match block.rules.last() {
        None => diags.push(Diagnostic::error(
            keyword(block.span),
            "this `quota` block has no rules: it needs at least a default `tier …`",
        )),
        Some(last) if last.when.is_some() => diags.push(
            Diagnostic::error(
                last.span,
                "the last rule of a `quota` block must be a default: a `tier` without `when`",
            )
            .with_note("help: tenants that match no rule would have no tier"),
        ),
        Some(_) => {}
    }
    rules
}

/// Checks the limits of a tier or override and converts them.
fn limits(list: &[Limit], diags: &mut Vec<Diagnostic>) -> Limits {
    let mut out = Limits::default();
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for limit in list {
        let name = limit.name.name.as_str();
        if !LIMIT_NAMES.contains(&name) {
            diags.push(
                Diagnostic::error(
                    limit.name.span,
                    format!(
                        "unknown limit `{name}`{}",
                        did_you_mean(closest(name, LIMIT_NAMES))
                    ),
                )
                .with_note("help: the limits are `connections`, `qps`, `storage` and `max_rows`"),
            );
            continue;
        }
        if let Some(&(_, first)) = seen.iter().find(|(n, _)| *n == name) {
            diags.push(
                Diagnostic::error(
                    limit.name.span,
                    format!("limit `{name}` is given twice in this block"),
                )
                .with_related(first, "first given here"),
            );
            continue;
        }
        seen.push((name, limit.name.span));
        if let Some(value) = limit_value(limit, diags) {
            let slot = match name {
                "connections" => &mut out.connections,
                "qps" => &mut out.qps,
                "storage" => &mut out.storage,
                _ => &mut out.max_rows,
            };
            *slot = Some(value);
        }
    }
    out
}

fn limit_value(limit: &Limit, diags: &mut Vec<Diagnostic>) -> Option<u64> {
    let name = limit.name.name.as_str();
    let Ok(value) = u64::try_from(limit.value) else {
        diags.push(Diagnostic::error(
            limit.span,
            format!("limit `{name}` cannot be negative, found {}", limit.value),
        ));
        return None;
    };
    match (name, limit.unit) {
        ("storage", Some(unit)) => {
            let bytes = value
                .checked_mul(unit.bytes())
                .filter(|b| *b <= MAX_STORAGE_BYTES);
            if bytes.is_none() {
                diags.push(Diagnostic::error(
                    limit.span,
                    format!(
                        "`storage {value} {}` is too large: at most {MAX_STORAGE_BYTES} bytes",
                        unit.keyword()
                    ),
                ));
            }
            bytes
        }
        (_, Some(unit)) => {
            diags.push(Diagnostic::error(
                limit.span,
                format!(
                    "limit `{name}` takes a plain number: a size unit like `{}` is for `storage` only",
                    unit.keyword()
                ),
            ));
            None
        }
        (_, None) => Some(value),
    }
}
