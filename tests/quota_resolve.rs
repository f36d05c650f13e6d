//! `policy::quota::resolve`: which tier and limits a tenant gets, from the
//! `policies/saas` example and from small inline sets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart::lang::check;
use rampart::lang::load::{load, load_str};
use rampart::lang::model::{Limits, PolicySet, Value};
use rampart::policy::context::context_from_json;
use rampart::policy::quota::{resolve, ResolvedLimits};

const GB: u64 = 1 << 30;
const TB: u64 = 1 << 40;

fn saas() -> PolicySet {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/saas");
    let loaded = load(&[dir]).unwrap();
    check(&loaded.files).set.unwrap()
}

fn inline(text: &str) -> PolicySet {
    let loaded = load_str("<inline>", text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let checked = check(&loaded.files);
    checked
        .set
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
}

/// The context values of a tenant, from `{"tenant": {...}}` JSON; request
/// fields are filled with placeholders (resolution does not read them).
fn tenant(set: &PolicySet, tenant_json: &str) -> Vec<Value> {
    let request = if set.context.iter().any(|f| f.path() == "request.roles") {
        r#"{"user": "u", "roles": []}"#
    } else {
        "{}"
    };
    let json = format!(r#"{{"tenant": {tenant_json}, "request": {request}}}"#);
    context_from_json(set, &json).unwrap()
}

fn limits(connections: u64, qps: u64, storage: u64, max_rows: Option<u64>) -> Limits {
    Limits {
        connections: Some(connections),
        qps: Some(qps),
        storage: Some(storage),
        max_rows,
    }
}

#[test]
fn saas_plans_pick_their_tiers() {
    let set = saas();
    let free = resolve(&set, &tenant(&set, r#"{"id": "t1", "plan": "free"}"#));
    assert_eq!(
        free,
        ResolvedLimits {
            tier: Some("free".into()),
            overridden: false,
            limits: limits(5, 10, GB, Some(1000)),
        }
    );
    let pro = resolve(&set, &tenant(&set, r#"{"id": "t2", "plan": "pro"}"#));
    assert_eq!(pro.tier.as_deref(), Some("pro"));
    assert_eq!(pro.limits, limits(50, 1000, 100 * GB, Some(100_000)));
    let enterprise = resolve(&set, &tenant(&set, r#"{"id": "t3", "plan": "enterprise"}"#));
    assert_eq!(enterprise.tier.as_deref(), Some("enterprise"));
    // enterprise names no `max_rows`: unlimited.
    assert_eq!(enterprise.limits, limits(500, 10_000, 2 * TB, None));
}

#[test]
fn saas_unknown_plan_gets_the_default_tier() {
    let set = saas();
    let r = resolve(&set, &tenant(&set, r#"{"id": "t9", "plan": "gold"}"#));
    assert_eq!(r.tier.as_deref(), Some("free"));
    assert_eq!(r.limits, limits(5, 10, GB, Some(1000)));
}

#[test]
fn saas_acme_override_replaces_only_qps() {
    let set = saas();
    let r = resolve(&set, &tenant(&set, r#"{"id": "acme", "plan": "pro"}"#));
    assert_eq!(r.tier.as_deref(), Some("pro"));
    assert!(r.overridden);
    assert_eq!(r.limits, limits(50, 2000, 100 * GB, Some(100_000)));
    // The override follows the tenant to whatever tier its plan picks.
    let r = resolve(&set, &tenant(&set, r#"{"id": "acme", "plan": "free"}"#));
    assert_eq!(r.limits, limits(5, 2000, GB, Some(1000)));
}

const SMALL: &str = "
context tenant { id: text  plan: text?  seats: int }
tier small { connections 1; qps 1 }
tier big { connections 100 }
tier rest { storage 1 KB }
quota {
  tier small when tenant.seats < 10
  tier big when tenant.seats < 1000 or tenant.plan == 'big'
  tier rest
}
quota tenant 'vip' { connections 7; max_rows 5 }
";

#[test]
fn first_matching_rule_wins() {
    let set = inline(SMALL);
    // seats 5 matches both `small` and `big`: the first wins.
    let r = resolve(
        &set,
        &tenant(&set, r#"{"id": "a", "plan": "big", "seats": 5}"#),
    );
    assert_eq!(r.tier.as_deref(), Some("small"));
    let r = resolve(
        &set,
        &tenant(&set, r#"{"id": "a", "plan": "big", "seats": 5000}"#),
    );
    assert_eq!(r.tier.as_deref(), Some("big"));
    assert_eq!(
        r.limits,
        Limits {
            connections: Some(100),
            ..Limits::default()
        }
    );
}

#[test]
fn a_null_when_does_not_match() {
    let set = inline(SMALL);
    // plan is null: `seats < 1000 or plan == 'big'` is null for 5000 seats.
    let r = resolve(
        &set,
        &tenant(&set, r#"{"id": "a", "plan": null, "seats": 5000}"#),
    );
    assert_eq!(r.tier.as_deref(), Some("rest"));
    assert_eq!(r.limits.storage, Some(1024));
    assert_eq!(r.limits.connections, None);
}

#[test]
fn a_when_that_fails_does_not_match() {
    let set = inline(
        "context tenant { id: text  seats: int }
         tier boom { qps 1 }
         tier rest { qps 2 }
         quota { tier boom when tenant.seats * 2 > 0  tier rest }",
    );
    let r = resolve(
        &set,
        &tenant(&set, &format!(r#"{{"id": "a", "seats": {}}}"#, i64::MAX)),
    );
    assert_eq!(r.tier.as_deref(), Some("rest"));
    // A context shorter than declared: the `when` errors, the default applies.
    let r = resolve(&set, &[]);
    assert_eq!(r.tier.as_deref(), Some("rest"));
    assert!(!r.overridden);
}

#[test]
fn override_for_the_tenant_id_only() {
    let set = inline(SMALL);
    let vip = resolve(
        &set,
        &tenant(&set, r#"{"id": "vip", "plan": null, "seats": 1}"#),
    );
    assert_eq!(vip.tier.as_deref(), Some("small"));
    assert!(vip.overridden);
    assert_eq!(
        vip.limits,
        Limits {
            connections: Some(7),
            qps: Some(1),
            storage: None,
            max_rows: Some(5),
        }
    );
    let other = resolve(
        &set,
        &tenant(&set, r#"{"id": "VIP", "plan": null, "seats": 1}"#),
    );
    assert!(!other.overridden);
    assert_eq!(other.limits.connections, Some(1));
}

#[test]
fn without_a_tenant_id_field_overrides_never_apply() {
    let set = inline(
        "context tenant { name: text }
         tier t { qps 3 }
         quota { tier t }
         quota tenant 'x' { qps 9 }",
    );
    let r = resolve(&set, &tenant(&set, r#"{"name": "x"}"#));
    assert!(!r.overridden);
    assert_eq!(r.limits.qps, Some(3));
}

#[test]
fn an_int_tenant_id_matches_its_decimal_form() {
    let set = inline(
        "context tenant { id: int }
         tier t { qps 3 }
         quota { tier t }
         quota tenant '42' { qps 9 }",
    );
    assert_eq!(resolve(&set, &[Value::Int(42)]).limits.qps, Some(9));
    assert_eq!(resolve(&set, &[Value::Int(41)]).limits.qps, Some(3));
    assert_eq!(resolve(&set, &[Value::Null]).limits.qps, Some(3));
}

#[test]
fn no_quota_block_is_unlimited() {
    let set = inline("context tenant { id: text }\ntier t { qps 3 }\nquota tenant 'a' { qps 1 }");
    let r = resolve(&set, &[Value::Text("b".into())]);
    assert_eq!(r, ResolvedLimits::default());
    // The override still applies on top of "unlimited".
    let r = resolve(&set, &[Value::Text("a".into())]);
    assert_eq!(r.tier, None);
    assert_eq!(r.limits.qps, Some(1));
}
