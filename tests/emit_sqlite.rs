//! The interpreter (the oracle) against the SQL emitted for SQLite and run on
//! an in-memory database: random well-typed expressions × random rows, NULLs,
//! extremes and errors included; and specialisation never changes an answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use rampart::exec::sqlite_functions::{eval_error_from_message, register};
use rampart::lang::model::*;
use rampart::lang::{BinaryOp, ContextKind, Span};
use rampart::policy::interp::{evaluate, Env};
use rampart::policy::{specialise, EvalError};
use rampart::sql::{ContextSource, Dialect, Emitter, Scope};
use rusqlite::types::Value as SqlValue;

const COLUMNS: [(&str, Ty); 7] = [
    ("i", Ty::Int),
    ("j", Ty::Int),
    ("f", Ty::Float),
    ("t", Ty::Text),
    ("u", Ty::Text),
    ("b", Ty::Bool),
    ("ts", Ty::Timestamp),
];

fn policy_set() -> PolicySet {
    let field = |block, name: &str, ty| ContextField {
        block,
        name: name.into(),
        ty: DeclaredType {
            ty,
            nullable: false,
        },
        span: Span::default(),
    };
    PolicySet {
        context: vec![
            field(ContextKind::Tenant, "id", Ty::Text),
            field(ContextKind::Request, "roles", Ty::TextSet),
            field(ContextKind::Request, "n", Ty::Int),
        ],
        tables: vec![Table {
            name: QualifiedName {
                schema: None,
                name: "r".into(),
            },
            open: false,
            columns: COLUMNS
                .iter()
                .map(|(name, ty)| Column {
                    name: (*name).into(),
                    ty: DeclaredType {
                        ty: *ty,
                        nullable: true,
                    },
                    preset: None,
                    span: Span::default(),
                })
                .collect(),
            policies: vec![],
            span: Span::default(),
        }],
        ..PolicySet::default()
    }
}

fn node(kind: TExprKind, ty: Ty) -> TExpr {
    TExpr {
        kind,
        ty,
        span: Span::default(),
    }
}

fn lit(v: Value, ty: Ty) -> TExpr {
    node(TExprKind::Literal(v), ty)
}

fn column(ty: Ty) -> impl Strategy<Value = TExpr> {
    let indexes: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| *t == ty)
        .map(|(i, _)| i)
        .collect();
    proptest::sample::select(indexes).prop_map(move |i| node(TExprKind::Column(i), ty))
}

fn int_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        -5i64..5,
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(-1),
        any::<i64>(),
        Just(1 << 32),
    ]
}

fn float_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-5i32..5).prop_map(f64::from),
        Just(0.5),
        Just(-0.0),
        Just(1e300),
        Just(-1e300),
        Just(1e-300),
        Just(f64::MAX),
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
    ]
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("a".to_string()),
        Just("A".to_string()),
        Just("ab".to_string()),
        Just("a%".to_string()),
        Just("_b".to_string()),
        Just("it's".to_string()),
        Just("\\".to_string()),
        Just("a\\%".to_string()),
        Just("é".to_string()),
        Just("É".to_string()),
        Just("日本".to_string()),
        Just("admin".to_string()),
        "[a-c%_\\\\]{0,4}",
    ]
}

fn leaf(ty: Ty) -> BoxedStrategy<TExpr> {
    let null = Just(lit(Value::Null, ty));
    match ty {
        Ty::Int => prop_oneof![
            int_value().prop_map(|i| lit(Value::Int(i), Ty::Int)),
            column(Ty::Int),
            column(Ty::Int),
            Just(node(TExprKind::Context(2), Ty::Int)),
            null,
        ]
        .boxed(),
        Ty::Float => prop_oneof![
            float_value().prop_map(|x| lit(Value::Float(x), Ty::Float)),
            column(Ty::Float),
            null,
        ]
        .boxed(),
        Ty::Text => prop_oneof![
            text_value().prop_map(|s| lit(Value::Text(s), Ty::Text)),
            column(Ty::Text),
            column(Ty::Text),
            Just(node(TExprKind::Context(0), Ty::Text)),
            null,
        ]
        .boxed(),
        Ty::Timestamp => prop_oneof![
            (-1_000_000i64..1_000_000).prop_map(|t| lit(Value::Timestamp(t), Ty::Timestamp)),
            column(Ty::Timestamp),
            null,
        ]
        .boxed(),
        _ => prop_oneof![
            any::<bool>().prop_map(|b| lit(Value::Bool(b), Ty::Bool)),
            column(Ty::Bool),
            null,
        ]
        .boxed(),
    }
}

fn bin(op: BinaryOp, ty: Ty) -> impl Fn((TExpr, TExpr)) -> TExpr {
    move |(a, b)| node(TExprKind::Binary(op, Box::new(a), Box::new(b)), ty)
}

fn expr(ty: Ty, depth: u32) -> BoxedStrategy<TExpr> {
    if depth == 0 {
        return leaf(ty);
    }
    let sub = move |t: Ty| expr(t, depth - 1);
    match ty {
        Ty::Int => prop_oneof![
            2 => leaf(Ty::Int),
            1 => sub(Ty::Int).prop_map(|e| node(TExprKind::Neg(Box::new(e)), Ty::Int)),
            3 => (
                proptest::sample::select(vec![
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Div,
                    BinaryOp::Mod
                ]),
                sub(Ty::Int),
                sub(Ty::Int)
            )
                .prop_map(|(op, a, b)| bin(op, Ty::Int)((a, b))),
            1 => sub(Ty::Text).prop_map(|e| node(TExprKind::Call(Func::Length, vec![e]), Ty::Int)),
        ]
        .boxed(),
        Ty::Float => prop_oneof![
            2 => leaf(Ty::Float),
            1 => sub(Ty::Int).prop_map(|e| node(TExprKind::IntToFloat(Box::new(e)), Ty::Float)),
            1 => sub(Ty::Float).prop_map(|e| node(TExprKind::Neg(Box::new(e)), Ty::Float)),
            3 => (
                proptest::sample::select(vec![
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Div
                ]),
                sub(Ty::Float),
                sub(Ty::Float)
            )
                .prop_map(|(op, a, b)| bin(op, Ty::Float)((a, b))),
        ]
        .boxed(),
        Ty::Text => prop_oneof![
            3 => leaf(Ty::Text),
            1 => (sub(Ty::Text), sub(Ty::Text)).prop_map(bin(BinaryOp::Concat, Ty::Text)),
            1 => (
                proptest::sample::select(vec![Func::Lower, Func::Upper]),
                sub(Ty::Text)
            )
                .prop_map(|(f, e)| node(TExprKind::Call(f, vec![e]), Ty::Text)),
        ]
        .boxed(),
        Ty::Timestamp => leaf(Ty::Timestamp),
        _ => {
            let cmp_op = proptest::sample::select(vec![
                BinaryOp::Eq,
                BinaryOp::Ne,
                BinaryOp::Lt,
                BinaryOp::Le,
                BinaryOp::Gt,
                BinaryOp::Ge,
            ]);
            let operand_ty = proptest::sample::select(vec![
                Ty::Int,
                Ty::Float,
                Ty::Text,
                Ty::Timestamp,
                Ty::Bool,
            ]);
            prop_oneof![
                2 => leaf(Ty::Bool),
                4 => (cmp_op, operand_ty).prop_flat_map(move |(op, t)| {
                    (sub(t), sub(t)).prop_map(bin(op, Ty::Bool))
                }),
                2 => (sub(Ty::Bool), sub(Ty::Bool)).prop_map(bin(BinaryOp::And, Ty::Bool)),
                2 => (sub(Ty::Bool), sub(Ty::Bool)).prop_map(bin(BinaryOp::Or, Ty::Bool)),
                1 => sub(Ty::Bool).prop_map(|e| node(TExprKind::Not(Box::new(e)), Ty::Bool)),
                1 => (operand_ty_any(), any::<bool>()).prop_flat_map(move |(t, negated)| {
                    sub(t).prop_map(move |e| node(
                        TExprKind::IsNull { expr: Box::new(e), negated },
                        Ty::Bool,
                    ))
                }),
                1 => (sub(Ty::Int), proptest::collection::vec(sub(Ty::Int), 0..3), any::<bool>())
                    .prop_map(|(x, items, negated)| node(
                        TExprKind::InList { expr: Box::new(x), items, negated },
                        Ty::Bool,
                    )),
                1 => (sub(Ty::Text), any::<bool>()).prop_map(|(x, negated)| node(
                    TExprKind::InSet {
                        expr: Box::new(x),
                        set: Box::new(node(TExprKind::Context(1), Ty::TextSet)),
                        negated,
                    },
                    Ty::Bool,
                )),
                1 => (sub(Ty::Text), sub(Ty::Text), any::<bool>()).prop_map(|(x, p, negated)| node(
                    TExprKind::Like { expr: Box::new(x), pattern: Box::new(p), negated },
                    Ty::Bool,
                )),
                1 => (sub(Ty::Text), sub(Ty::Text)).prop_map(|(x, p)| node(
                    TExprKind::Call(Func::StartsWith, vec![x, p]),
                    Ty::Bool,
                )),
            ]
            .boxed()
        }
    }
}

fn operand_ty_any() -> impl Strategy<Value = Ty> {
    proptest::sample::select(vec![Ty::Int, Ty::Float, Ty::Text, Ty::Bool])
}

fn row() -> impl Strategy<Value = Vec<Value>> {
    (
        proptest::option::weighted(0.8, int_value()),
        proptest::option::weighted(0.8, int_value()),
        proptest::option::weighted(0.8, float_value()),
        proptest::option::weighted(0.8, text_value()),
        proptest::option::weighted(0.8, text_value()),
        proptest::option::weighted(0.8, any::<bool>()),
        proptest::option::weighted(0.8, -1_000_000i64..1_000_000),
    )
        .prop_map(|(i, j, f, t, u, b, ts)| {
            vec![
                i.map_or(Value::Null, Value::Int),
                j.map_or(Value::Null, Value::Int),
                f.map_or(Value::Null, Value::Float),
                t.map_or(Value::Null, Value::Text),
                u.map_or(Value::Null, Value::Text),
                b.map_or(Value::Null, Value::Bool),
                ts.map_or(Value::Null, Value::Timestamp),
            ]
        })
}

fn context() -> impl Strategy<Value = Vec<Value>> {
    (
        text_value(),
        proptest::collection::btree_set(text_value(), 0..3),
        int_value(),
    )
        .prop_map(|(id, roles, n)| vec![Value::Text(id), Value::TextSet(roles), Value::Int(n)])
}

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null | Value::TextSet(_) | Value::IntSet(_) => SqlValue::Null,
        Value::Int(i) | Value::Timestamp(i) => SqlValue::Integer(*i),
        Value::Float(x) => SqlValue::Real(*x),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Text(s) => SqlValue::Text(s.clone()),
    }
}

/// The interpreter's answer in SQLite's terms, for comparison.
fn expected(v: &Value) -> SqlValue {
    to_sql(v)
}

fn same(a: &SqlValue, b: &SqlValue) -> bool {
    match (a, b) {
        (SqlValue::Real(x), SqlValue::Real(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

struct Db {
    conn: rusqlite::Connection,
}

impl Db {
    fn new() -> Db {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE r (i INTEGER, j INTEGER, f REAL, t TEXT, u TEXT, b INTEGER, ts INTEGER)",
        )
        .unwrap();
        Db { conn }
    }

    fn run(&self, row: &[Value], sql: &str) -> Result<SqlValue, String> {
        self.conn.execute("DELETE FROM r", []).unwrap();
        let params: Vec<SqlValue> = row.iter().map(to_sql).collect();
        self.conn
            .execute(
                "INSERT INTO r VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params_from_iter(params),
            )
            .unwrap();
        self.conn
            .query_row(&format!("SELECT {sql} FROM \"r\""), [], |r| {
                r.get::<_, SqlValue>(0)
            })
            .map_err(|e| e.to_string())
    }
}

fn check_case(
    db: &Db,
    set: &PolicySet,
    e: &TExpr,
    row: &[Value],
    ctx: &[Value],
) -> Result<(), TestCaseError> {
    let env = Env { row, context: ctx };
    let native = evaluate(e, &env);
    // Specialising on the whole context folds more constants, which may
    // raise an error earlier (as PostgreSQL's planner would on the rewritten
    // SQL), but never changes a value.
    let known: Vec<Option<Value>> = ctx.iter().cloned().map(Some).collect();
    let special = match specialise(e, &known) {
        Ok(special) => special,
        Err(_) => return Ok(()),
    };
    let oracle = evaluate(&special, &Env { row, context: &[] });
    if let (Ok(a), Ok(b)) = (&native, &oracle) {
        prop_assert_eq!(a, b, "specialised: {:?}", special);
    }
    let emitter = Emitter::new(set, Dialect::Sqlite, ContextSource::Literals, &known);
    let sql = emitter
        .expr(&special, &Scope::new(0, vec!["r".into()]))
        .map(|s| s.to_string());
    let sql = match sql {
        Ok(sql) => sql,
        // Text with NUL cannot be a literal; the generators make none.
        Err(err) => return Err(TestCaseError::fail(format!("emit failed: {err}"))),
    };
    let got = db.run(row, &sql);
    match (&oracle, &got) {
        (Ok(v), Ok(g)) => prop_assert!(same(&expected(v), g), "{sql}: oracle {v:?}, sqlite {g:?}"),
        (Err(e), Err(msg)) => {
            let kind = msg
                .split_once("rampart[")
                .and_then(|(_, rest)| eval_error_from_message(&format!("rampart[{rest}")));
            prop_assert_eq!(kind.as_ref(), Some(e), "{}: {}", sql, msg);
        }
        _ => prop_assert!(false, "{sql}: oracle {oracle:?}, sqlite {got:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn interpreter_agrees_with_sqlite(
        e in expr(Ty::Bool, 4),
        row in row(),
        ctx in context(),
    ) {
        thread_local!(static DB: Db = Db::new());
        let set = policy_set();
        DB.with(|db| check_case(db, &set, &e, &row, &ctx))?;
    }

    #[test]
    fn interpreter_agrees_with_sqlite_on_values(
        ty in proptest::sample::select(vec![Ty::Int, Ty::Float, Ty::Text]),
        seed in any::<u64>(),
        row in row(),
        ctx in context(),
    ) {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        let e = expr(ty, 3).new_tree(&mut runner).unwrap().current();
        thread_local!(static DB: Db = Db::new());
        let set = policy_set();
        DB.with(|db| check_case(db, &set, &e, &row, &ctx))?;
    }
}

#[test]
fn errors_keep_postgres_sqlstates() {
    assert_eq!(EvalError::DivisionByZero.sqlstate(), "22012");
    assert_eq!(EvalError::IntOverflow.sqlstate(), "22003");
    let _ = BTreeSet::<String>::new();
}
