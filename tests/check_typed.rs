//! Precise checks of what the checker produces: conversions it inserts, how
//! `null` and `exists` columns are typed, commands, limits in bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rampart::lang::ast::{BinaryOp, Command};
use rampart::lang::model::{PolicySet, TExpr, TExprKind, Ty, Value};
use rampart::lang::{check, parse_file, Checked};

const BASE: &str = "
context tenant { id: text, plan: text }
context request { user: text, roles: set<text>, ids: set<int> }
table orders { id: int, amount: int, score: float, note: text?, owner: text }
table memberships { user_id: text, org_id: int }
table orgs { id: int, owner: text }
";

fn checked(source: &str) -> Checked {
    let file = parse_file(0, source).unwrap_or_else(|e| panic!("does not parse: {e:?}"));
    check(&[file])
}

fn set_of(source: &str) -> PolicySet {
    let result = checked(source);
    result
        .set
        .unwrap_or_else(|| panic!("errors: {:#?}", result.diagnostics))
}

/// The `using` of the only policy on `orders`.
fn using(expr: &str) -> TExpr {
    let set = set_of(&format!("{BASE}policy p on orders using {expr};"));
    set.tables[0].policies[0].using.clone().unwrap()
}

fn binary(e: &TExpr) -> (BinaryOp, &TExpr, &TExpr) {
    match &e.kind {
        TExprKind::Binary(op, l, r) => (*op, l, r),
        other => panic!("not binary: {other:?}"),
    }
}

#[test]
fn int_beside_float_is_converted_in_comparison_and_arithmetic() {
    let e = using("score > amount");
    let (op, l, r) = binary(&e);
    assert_eq!(op, BinaryOp::Gt);
    assert_eq!(l.kind, TExprKind::Column(2));
    assert_eq!(r.ty, Ty::Float);
    assert!(matches!(&r.kind, TExprKind::IntToFloat(inner) if inner.kind == TExprKind::Column(1)));

    let e = using("amount + 0.5 > 1");
    let (_, sum, one) = binary(&e);
    assert_eq!(sum.ty, Ty::Float);
    assert!(matches!(one.kind, TExprKind::IntToFloat(_)));
    let (op, l, _) = binary(sum);
    assert_eq!(op, BinaryOp::Add);
    assert!(matches!(l.kind, TExprKind::IntToFloat(_)));

    // int with int stays int, and `/` on ints is an int.
    let e = using("amount / 2 == 1");
    let (_, div, _) = binary(&e);
    assert_eq!(div.ty, Ty::Int);
}

#[test]
fn in_list_items_meet_at_float() {
    let e = using("amount in [1, 2.5]");
    let TExprKind::InList {
        expr,
        items,
        negated,
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert!(!negated);
    assert!(matches!(expr.kind, TExprKind::IntToFloat(_)));
    assert!(matches!(items[0].kind, TExprKind::IntToFloat(_)));
    assert_eq!(items[1].kind, TExprKind::Literal(Value::Float(2.5)));
    assert!(items.iter().all(|i| i.ty == Ty::Float));
}

#[test]
fn null_takes_the_type_of_its_neighbour() {
    let e = using("note == null");
    let (_, l, r) = binary(&e);
    assert_eq!((l.ty, r.ty), (Ty::Text, Ty::Text));
    assert_eq!(r.kind, TExprKind::Literal(Value::Null));

    let e = using("null is null");
    let TExprKind::IsNull { expr, .. } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(expr.ty, Ty::Null);
    assert_eq!(e.ty, Ty::Bool);

    let e = using("null in request.ids");
    let TExprKind::InSet { expr, set, .. } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!((expr.ty, set.ty), (Ty::Int, Ty::IntSet));
}

#[test]
fn exists_columns_are_numbered_from_the_outermost_exists() {
    let e = using(
        "exists orgs o where o.owner == request.user \
         and exists memberships m where m.org_id == o.id and m.user_id == owner",
    );
    let TExprKind::Exists { table, alias, cond } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!((*table, alias.as_str()), (2, "o"));
    let (_, owner_test, inner) = binary(cond);
    let (_, o_owner, _) = binary(owner_test);
    assert_eq!(
        o_owner.kind,
        TExprKind::ExistsColumn {
            level: 0,
            column: 1
        }
    );
    let TExprKind::Exists { table, cond, .. } = &inner.kind else {
        panic!("{inner:?}")
    };
    assert_eq!(*table, 1);
    let (_, org_test, user_test) = binary(cond);
    let (_, m_org, o_id) = binary(org_test);
    assert_eq!(
        m_org.kind,
        TExprKind::ExistsColumn {
            level: 1,
            column: 1
        }
    );
    assert_eq!(
        o_id.kind,
        TExprKind::ExistsColumn {
            level: 0,
            column: 0
        }
    );
    let (_, m_user, own_owner) = binary(user_test);
    assert_eq!(
        m_user.kind,
        TExprKind::ExistsColumn {
            level: 1,
            column: 0
        }
    );
    // Unqualified: the policy's own table (`orders.owner`).
    assert_eq!(own_owner.kind, TExprKind::Column(4));
}

#[test]
fn an_unaliased_exists_is_named_by_its_table() {
    let e = using("exists memberships where memberships.user_id == owner");
    let TExprKind::Exists { alias, cond, .. } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(alias, "memberships");
    let (_, l, _) = binary(cond);
    assert_eq!(
        l.kind,
        TExprKind::ExistsColumn {
            level: 0,
            column: 0
        }
    );
}

#[test]
fn commands_modes_and_roles_default_as_documented() {
    let set = set_of(&format!(
        "{BASE}
        policy a on orders using true;
        policy b on orders as restrictive for all using true;
        policy c on orders for delete, select to admin, member using true;
        policy d on orders for insert check true;"
    ));
    let p = &set.tables[0].policies;
    assert_eq!(p[0].commands, Command::ALL.to_vec());
    assert!(p[0].permissive && p[0].roles.is_none());
    assert_eq!(p[1].commands, Command::ALL.to_vec());
    assert!(!p[1].permissive);
    assert_eq!(p[2].commands, vec![Command::Select, Command::Delete]);
    assert_eq!(
        p[2].roles,
        Some(vec!["admin".to_string(), "member".to_string()])
    );
    assert_eq!(p[3].commands, vec![Command::Insert]);
    assert!(p[3].using.is_none() && p[3].check.is_some());
}

#[test]
fn limits_are_converted_to_bytes_and_rules_point_at_tiers() {
    let set = set_of(
        "context tenant { plan: text }
        tier free { connections 5; qps 10; storage 1 GB; max_rows 1000 }
        tier pro { storage 3 TB }
        tier raw { storage 512 }
        quota { tier pro when tenant.plan == 'pro' tier free }
        quota tenant 'acme' { qps 2000; storage 2 KB }",
    );
    assert_eq!(set.tiers[0].limits.storage, Some(1 << 30));
    assert_eq!(set.tiers[0].limits.connections, Some(5));
    assert_eq!(set.tiers[0].limits.max_rows, Some(1000));
    assert_eq!(set.tiers[1].limits.storage, Some(3 << 40));
    assert_eq!(set.tiers[1].limits.qps, None);
    assert_eq!(set.tiers[2].limits.storage, Some(512));
    assert_eq!(set.quota_rules.len(), 2);
    assert_eq!(set.quota_rules[0].tier, 1);
    assert!(set.quota_rules[0].when.is_some());
    assert_eq!(set.quota_rules[1].tier, 0);
    assert!(set.quota_rules[1].when.is_none());
    let acme = &set.tenant_overrides[0];
    assert_eq!(acme.tenant, "acme");
    assert_eq!(acme.limits.storage, Some(2048));
    assert_eq!(acme.limits.qps, Some(2000));
}

#[test]
fn presets_are_typed_and_an_int_fills_a_float_column() {
    let set = set_of(
        "context tenant { id: text }
        table t { tenant_id: text = tenant.id, budget: float = 0, note: text? = null }
        policy p on t using true;",
    );
    let columns = &set.tables[0].columns;
    assert_eq!(
        columns[0].preset.as_ref().unwrap().kind,
        TExprKind::Context(0)
    );
    let budget = columns[1].preset.as_ref().unwrap();
    assert_eq!(budget.ty, Ty::Float);
    assert!(matches!(budget.kind, TExprKind::IntToFloat(_)));
    assert_eq!(columns[2].preset.as_ref().unwrap().ty, Ty::Text);
}

#[test]
fn warnings_alone_keep_the_set() {
    let result = checked("table t { id: int }");
    assert!(result.set.is_some());
    assert_eq!(result.diagnostics.len(), 1);
    assert!(!result.has_errors());
}

#[test]
fn diagnostics_are_sorted_by_file_and_position() {
    let a = parse_file(0, "table t { id: int }\npolicy p on t using nope;").unwrap();
    let b = parse_file(1, "policy q on t using zzz;\npolicy r on u using true;").unwrap();
    let result = check(&[b, a]);
    let places: Vec<(u32, u32)> = result
        .diagnostics
        .iter()
        .map(|d| (d.span.file, d.span.start))
        .collect();
    let mut sorted = places.clone();
    sorted.sort_unstable();
    assert_eq!(places, sorted);
    assert_eq!(
        result.diagnostics.iter().filter(|d| d.is_error()).count(),
        3
    );
    assert!(result.set.is_none());
}

mod no_panic {
    use proptest::prelude::*;

    const LEAVES: &[&str] = &[
        "amount",
        "score",
        "note",
        "owner",
        "id",
        "nope",
        "o.id",
        "m.org_id",
        "m.nope",
        "x.y",
        "orders.id",
        "tenant.id",
        "tenant.nope",
        "request.roles",
        "request.ids",
        "request.user",
        "null",
        "true",
        "1",
        "-2",
        "2.5",
        "'a'",
        "timestamp '2026-01-01T00:00:00Z'",
    ];
    const OPERATORS: &[&str] = &[
        "==", "!=", "<", ">=", "+", "-", "*", "/", "%", "||", "and", "or", "in", "not in", "like",
    ];
    const FUNCTIONS: &[&str] = &["lower", "upper", "length", "starts_with", "nope"];
    const EXISTS: &[&str] = &[
        "exists orgs o where",
        "exists memberships m where",
        "exists orders where",
        "exists nope where",
    ];

    /// Expressions that mostly parse but are often ill-typed or ill-named.
    fn expr() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(LEAVES).prop_map(str::to_string);
        leaf.prop_recursive(5, 48, 3, |inner| {
            prop_oneof![
                (
                    inner.clone(),
                    prop::sample::select(OPERATORS),
                    inner.clone()
                )
                    .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
                inner.clone().prop_map(|a| format!("(not {a})")),
                inner.clone().prop_map(|a| format!("(-{a})")),
                inner.clone().prop_map(|a| format!("({a} is not null)")),
                (inner.clone(), prop::collection::vec(inner.clone(), 0..3))
                    .prop_map(|(a, l)| format!("({a} in [{}])", l.join(", "))),
                (
                    prop::sample::select(FUNCTIONS),
                    prop::collection::vec(inner.clone(), 0..3)
                )
                    .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
                (prop::sample::select(EXISTS), inner).prop_map(|(e, c)| format!("({e} {c})")),
            ]
        })
    }

    proptest! {
        /// Whatever parses, the checker answers without panicking, and the
        /// set is there exactly when no error is.
        #[test]
        fn checking_never_panics(using in expr(), check in expr()) {
            let source = format!(
                "{}policy p on orders using {using} check {check};\n\
                 policy q on orgs for select using {check};",
                super::BASE
            );
            let file = rampart::lang::parse_file(0, &source);
            prop_assert!(file.is_ok(), "{source}");
            if let Ok(file) = file {
                let result = rampart::lang::check(&[file]);
                prop_assert_eq!(result.set.is_some(), !result.has_errors());
            }
        }
    }
}

#[test]
fn the_tallest_expressions_the_parser_accepts_check_on_a_small_stack() {
    // Test threads have 2 MiB of stack; the checker must fit in it.
    let chain = vec!["amount > 0"; 1000].join(" or ");
    // (Deep brackets are slow to parse, so these stay below the limit.)
    let nested = format!("{}amount{} > 0", "(".repeat(120), ")".repeat(120));
    let negated = format!("{}true", "not ".repeat(250));
    let exists = format!("{}o.id > 0", "exists orgs o where ".repeat(250));
    let calls = format!("{}owner{} == 'x'", "lower(".repeat(120), ")".repeat(120));
    for expr in [chain, nested, negated, exists, calls] {
        let source = format!("{BASE}policy p on orders using {expr};");
        let result = checked(&source);
        assert!(!result.diagnostics.is_empty() || result.set.is_some());
    }
}
