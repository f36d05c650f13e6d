//! Compiled predicates wired into the engine: `Engine::evaluate` agrees with
//! the interpreter on the example policy sets and generated ones, INSERT rows
//! known when rewriting are refused by the compiled check, oversized
//! predicates fall back to the interpreter, the cache is shared by threads
//! and stays bounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rampart::gen::{typed, values, Unstructured};
use rampart::jit::JitError;
use rampart::lang::model::{PolicySet, Value};
use rampart::lang::{Command, ContextKind};
use rampart::policy::combine::{combine, Clause};
use rampart::policy::interp::{evaluate, Env};
use rampart::policy::print::to_text;
use rampart::policy::specialise;
use rampart::sql::rewrite::RewriteError;
use rampart::{Context, Dialect, Engine, Error, Verdict};

const COMMANDS: [Command; 4] = [
    Command::Select,
    Command::Insert,
    Command::Update,
    Command::Delete,
];

/// Tests of this file run one at a time: the memory test reads the
/// process's resident size, which the others would move.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// The interpreter's verdict, clause by clause as `Engine::evaluate` gives
/// it (`using` first; the first error ends it), on the combined policy with
/// the `folded` context values as constants (the tenant's, as the compiled
/// code has them; none for the policy as written).
fn oracle(
    set: &PolicySet,
    context: &[Value],
    folded: &[Option<Value>],
    table: usize,
    command: Command,
    row: &[Value],
) -> Result<Verdict, Error> {
    let decide = |clause| -> Result<Option<bool>, Error> {
        let combined = combine(set, table, command, clause);
        let special = specialise(&combined.expr, folded)?;
        Ok(match evaluate(&special, &Env { row, context })? {
            Value::Bool(b) => Some(b),
            _ => None,
        })
    };
    let using = (command != Command::Insert)
        .then(|| decide(Clause::Using))
        .transpose()?;
    let check = matches!(command, Command::Insert | Command::Update)
        .then(|| decide(Clause::Check))
        .transpose()?;
    Ok(Verdict { using, check })
}

fn text(set: &PolicySet, table: usize, command: Command, clause: Clause) -> String {
    to_text(set, table, &combine(set, table, command, clause).expr)
}

/// Random contexts and rows of `engine`'s set, every table and command:
/// `evaluate_values` must give the interpreter's verdict, errors included.
/// Returns (cases, clauses decided by compiled code).
fn agree_on_random_rows(
    engine: &Engine,
    seed: u64,
    contexts: usize,
    rows: usize,
) -> (usize, usize) {
    let set = engine.policy_set();
    let hints = values::Hints::of(set);
    let data = bytes(seed, 1 << 16);
    let mut u = Unstructured::new(&data);
    let (mut cases, mut compiled) = (0, 0);
    for _ in 0..contexts {
        let context = values::context(&mut u, set, &hints).unwrap();
        let tenant: Vec<Option<Value>> = set
            .context
            .iter()
            .zip(&context)
            .map(|(f, v)| (f.block == ContextKind::Tenant).then(|| v.clone()))
            .collect();
        for (t, table) in set.tables.iter().enumerate() {
            for _ in 0..rows {
                let row = values::row(&mut u, table, &hints).unwrap();
                for command in COMMANDS {
                    let got = engine.evaluate_values(&context, t, command, &row);
                    let want = oracle(set, &context, &tenant, t, command, &row);
                    // Folding the tenant's values in may only change which
                    // error wins, never a value.
                    if let (Ok(got), Ok(written)) =
                        (&got, oracle(set, &context, &[], t, command, &row))
                    {
                        assert_eq!(got, &written, "{command:?} {context:?} {row:?}");
                    }
                    assert_eq!(
                        format!("{got:?}"),
                        format!("{want:?}"),
                        "table {} {command:?} context {context:?} row {row:?}\nusing {}\ncheck {}",
                        table.name,
                        text(set, t, command, Clause::Using),
                        text(set, t, command, Clause::Check),
                    );
                    cases += 1;
                }
            }
            for (command, clause) in [
                (Command::Select, Clause::Using),
                (Command::Insert, Clause::Check),
                (Command::Update, Clause::Using),
                (Command::Update, Clause::Check),
                (Command::Delete, Clause::Using),
            ] {
                let p = engine
                    .predicate_cache()
                    .predicate(&context, t, command, clause);
                compiled += usize::from(p.is_ok_and(|p| p.is_native()));
            }
        }
    }
    (cases, compiled)
}

#[test]
fn evaluate_agrees_with_interpreter_on_example_sets() {
    let _alone = serial();
    for (i, name) in ["saas", "healthcare", "blog"].into_iter().enumerate() {
        // A small cache, so that tenants are evicted and compiled again.
        let engine = Engine::load(format!("policies/{name}"))
            .unwrap()
            .with_predicate_cache_capacity(8);
        let (cases, compiled) = agree_on_random_rows(&engine, i as u64, 40, 5);
        assert!(cases >= 2_000, "{name}: {cases} cases");
        assert!(compiled > 0, "{name}: nothing compiled");
        assert!(engine.predicate_cache().len() <= 8);
    }
}

#[test]
fn evaluate_agrees_with_interpreter_on_generated_sets() {
    let _alone = serial();
    let mut compiled = 0;
    for seed in 0..60u64 {
        let data = bytes(seed, 4096);
        let mut u = Unstructured::new(&data);
        let options = typed::Options {
            exists: seed % 3 == 0,
            max_policies: 4,
        };
        let text = typed::policy_set(&mut u, options).unwrap().to_string();
        let engine = Engine::from_source("generated.policy", &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        compiled += agree_on_random_rows(&engine, seed + 1_000, 4, 3).1;
    }
    assert!(compiled > 100, "only {compiled} predicates compiled");
}

const ORDERS: &str = r#"
    context tenant { id: text }
    context request { user: text, roles: set<text> }
    table orders { id: int, tenant_id: text = tenant.id, owner: text, amount: int, note: text? }
    policy isolation on orders
      using tenant_id == tenant.id and (owner == request.user or 'admin' in request.roles)
      check tenant_id == tenant.id and amount >= 0;
"#;

fn ctx(tenant: &str) -> Context {
    Context::from_json(&format!(
        r#"{{"tenant": {{"id": "{tenant}"}}, "request": {{"user": "bob", "roles": []}}}}"#
    ))
    .unwrap()
}

#[test]
fn constant_insert_rows_are_refused_by_the_compiled_check() {
    let _alone = serial();
    let engine = Engine::from_source("orders.policy", ORDERS).unwrap();
    let cache = engine.predicate_cache();
    assert_eq!(cache.compiles(), 0);
    let bad = "INSERT INTO orders (id, owner, amount, note) VALUES (1, 'bob', 5, NULL), (2, 'bob', -5, NULL)";
    let err = engine
        .rewrite(&ctx("acme"), Dialect::Postgres, bad)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rewrite(RewriteError::RowViolation { table }) if table == "orders"),
        "{err:?}"
    );
    assert_eq!(err.sqlstate(), "42501");
    // The tenant's INSERT check was compiled to machine code and decided it.
    assert_eq!((cache.len(), cache.compiles()), (1, 1));
    let values = engine.context_values(&ctx("acme")).unwrap();
    let check = cache
        .predicate(&values, 0, Command::Insert, Clause::Check)
        .unwrap();
    assert!(check.is_native());
    // Good rows pass with no RETURNING check; the same compiled code again.
    let good = "INSERT INTO orders (id, owner, amount, note) VALUES (1, 'bob', 5, NULL)";
    let sql = engine
        .rewrite(&ctx("acme"), Dialect::Postgres, good)
        .unwrap();
    assert!(!sql.contains("rampart_check"), "{sql}");
    assert_eq!(cache.compiles(), 1);
    // A value not known when rewriting leaves the check to the database: a
    // guard in the row, raising the marked 42501.
    let param = "INSERT INTO orders (id, owner, amount, note) VALUES (1, 'bob', $1, NULL)";
    let sql = engine
        .rewrite(&ctx("acme"), Dialect::Postgres, param)
        .unwrap();
    assert!(sql.contains("rampart[42501]"), "{sql}");
}

/// `orders` with a `using` of more than `jit::MAX_NODES` nodes.
fn huge_policy() -> String {
    let items: Vec<String> = (0..10_050).map(|i| i.to_string()).collect();
    format!(
        "{ORDERS}\npolicy listed on orders as restrictive for select using amount in [{}];",
        items.join(", ")
    )
}

#[test]
fn oversized_predicates_fall_back_to_the_interpreter() {
    let _alone = serial();
    let engine = Engine::from_source("huge.policy", &huge_policy()).unwrap();
    let row = serde_json::json!({"id": 1, "tenant_id": "acme", "owner": "bob", "amount": 10_049, "note": null});
    let verdict = engine
        .evaluate(&ctx("acme"), "orders", Command::Select, &row)
        .unwrap();
    assert_eq!(verdict.using, Some(Some(true)));
    let both = engine
        .evaluate_both(&ctx("acme"), "orders", Command::Select, &row)
        .unwrap();
    let using = both.using.unwrap();
    assert_eq!(using.interpreter, Ok(Some(true)));
    assert_eq!(using.compiled, Err(JitError::TooLarge));
    let other = serde_json::json!({"id": 1, "tenant_id": "acme", "owner": "bob", "amount": 10_050, "note": null});
    let verdict = engine
        .evaluate(&ctx("acme"), "orders", Command::Select, &other)
        .unwrap();
    assert_eq!(verdict.using, Some(Some(false)));
}

#[test]
fn rows_of_the_wrong_shape_are_errors() {
    let _alone = serial();
    let engine = Engine::from_source("orders.policy", ORDERS).unwrap();
    let context = engine.context_values(&ctx("acme")).unwrap();
    let short = [Value::Int(1)];
    let err = engine
        .evaluate_values(&context, 0, Command::Select, &short)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "row: 1 values for table `orders`, which has 5 columns"
    );
    let mistyped = [
        Value::Int(1),
        Value::Text("acme".into()),
        Value::Text("bob".into()),
        Value::Text("5".into()),
        Value::Null,
    ];
    let err = engine
        .evaluate_values(&context, 0, Command::Select, &mistyped)
        .unwrap_err();
    assert_eq!(err.to_string(), "row: amount: expected int, found text");
    assert!(engine
        .evaluate_values(&context, 7, Command::Select, &mistyped)
        .is_err());
}

#[test]
fn threads_asking_for_a_new_tenant_compile_once() {
    let _alone = serial();
    let engine = Engine::from_source("orders.policy", ORDERS).unwrap();
    let context = engine.context_values(&ctx("new")).unwrap();
    let row = [
        Value::Int(1),
        Value::Text("new".into()),
        Value::Text("bob".into()),
        Value::Int(5),
        Value::Null,
    ];
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..50 {
                    let v = engine
                        .evaluate_values(&context, 0, Command::Update, &row)
                        .unwrap();
                    assert_eq!(v.using, Some(Some(true)));
                    assert_eq!(v.check, Some(Some(true)));
                }
            });
        }
    });
    // UPDATE's `using` and `check`, once each.
    assert_eq!(engine.predicate_cache().compiles(), 2);
}

fn resident_pages() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 100,000 distinct tenants through an engine keeping 1,000: the cache
/// stays at its capacity and resident memory stays flat. (The predicate
/// folds to a constant for these tenants, so this costs no code generation;
/// `tests/jit.rs` churns tenants with machine code through the cache, and a
/// million through a cache on its own.)
#[test]
fn engine_cache_stays_bounded() {
    let _alone = serial();
    let engine = Engine::from_source(
        "t.policy",
        "context tenant { id: int }\ntable t { id: int }\npolicy p on t using tenant.id == 7;",
    )
    .unwrap()
    .with_predicate_cache_capacity(1_000);
    let row = [Value::Int(1)];
    let churn = |from: i64, to: i64| {
        for n in from..to {
            let v = engine
                .evaluate_values(&[Value::Int(n)], 0, Command::Select, &row)
                .unwrap();
            assert_eq!(v.using, Some(Some(n == 7)));
        }
    };
    churn(0, 5_000);
    let warm = resident_pages();
    churn(5_000, 100_000);
    let after = resident_pages();
    assert_eq!(engine.predicate_cache().len(), 1_000);
    assert_eq!(engine.predicate_cache().compiles(), 100_000);
    // 4 KiB pages: allow 16 MiB of slack for allocator noise.
    assert!(
        after < warm + 4_096,
        "resident pages grew from {warm} to {after}"
    );
}
