//! Quota resolution: which tier's limits apply to a tenant, from the
//! `quota { … }` rules (first match wins) and the `quota tenant '…'`
//! overrides. Enforcement lives in `crate::quota`, which needs only `lang`.

use crate::lang::model::{Limits, PolicySet, Value};
use crate::lang::ContextKind;

use super::interp::{evaluate, Env};

/// The limits that apply to one tenant, and where they came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedLimits {
    /// The tier the rules picked; `None` when the set has no `quota` block.
    pub tier: Option<String>,
    /// Whether a `quota tenant '<id>'` override was applied on top.
    pub overridden: bool,
    /// `None` is unlimited.
    pub limits: Limits,
}

/// The limits for the tenant whose context values are `tenant_context`
/// (indexed as [`PolicySet::context`]; only `tenant.*` fields are read, so
/// `request.*` entries may be anything, `Value::Null` included).
///
/// - The tier is that of the first `quota` rule whose `when` is true. A
///   `when` that is null (an unknown or null field) or fails to evaluate
///   (overflow, a missing value) does not match, so resolution goes on to the
///   next rule and ends, at worst, at the default rule. A tenant nobody
///   declared a tier for therefore gets the default tier.
/// - Then the override `quota tenant '<id>'` whose `<id>` equals the context
///   field `tenant.id` is applied: each limit it names replaces the tier's.
///   A text `tenant.id` matches exactly; an int one matches its decimal form.
///   When the set declares no `tenant.id` field, or its value is null,
///   overrides never apply.
/// - A limit that neither names is unlimited; so is everything when the set
///   has no `quota` block.
pub fn resolve(set: &PolicySet, tenant_context: &[Value]) -> ResolvedLimits {
    let env = Env {
        row: &[],
        context: tenant_context,
    };
    let rule = set.quota_rules.iter().find(|rule| match &rule.when {
        None => true,
        Some(when) => matches!(evaluate(when, &env), Ok(Value::Bool(true))),
    });
    let tier = rule.and_then(|r| set.tiers.get(r.tier));
    let mut resolved = ResolvedLimits {
        tier: tier.map(|t| t.name.clone()),
        overridden: false,
        limits: tier.map(|t| t.limits).unwrap_or_default(),
    };
    if let Some(id) = tenant_id(set, tenant_context) {
        if let Some(over) = set.tenant_overrides.iter().find(|o| o.tenant == id) {
            resolved.limits = resolved.limits.overridden_by(&over.limits);
            resolved.overridden = true;
        }
    }
    resolved
}

/// The value of `tenant.id` as an override key: text as is, an int in
/// decimal; `None` when there is no such field or it is null or another type.
pub fn tenant_id(set: &PolicySet, tenant_context: &[Value]) -> Option<String> {
    let (index, _) = set.context_field(ContextKind::Tenant, "id")?;
    match tenant_context.get(index)? {
        Value::Text(id) => Some(id.clone()),
        Value::Int(id) => Some(id.to_string()),
        _ => None,
    }
}
