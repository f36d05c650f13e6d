//! Random well-typed expressions, rows and contexts for property tests (the
//! generator shared by `tests/emit_sqlite.rs` and `tests/jit.rs`): NULLs, extremes, unicode.
#![allow(dead_code)]

use proptest::prelude::*;
use rampart::lang::model::*;
use rampart::lang::{BinaryOp, ContextKind, Span};

pub const COLUMNS: [(&str, Ty); 7] = [
    ("i", Ty::Int),
    ("j", Ty::Int),
    ("f", Ty::Float),
    ("t", Ty::Text),
    ("u", Ty::Text),
    ("b", Ty::Bool),
    ("ts", Ty::Timestamp),
];

pub fn policy_set() -> PolicySet {
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

pub fn node(kind: TExprKind, ty: Ty) -> TExpr {
    TExpr {
        kind,
        ty,
        span: Span::default(),
    }
}

pub fn lit(v: Value, ty: Ty) -> TExpr {
    node(TExprKind::Literal(v), ty)
}

pub fn column(ty: Ty) -> impl Strategy<Value = TExpr> {
    let indexes: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| *t == ty)
        .map(|(i, _)| i)
        .collect();
    proptest::sample::select(indexes).prop_map(move |i| node(TExprKind::Column(i), ty))
}

pub fn int_value() -> impl Strategy<Value = i64> {
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

pub fn float_value() -> impl Strategy<Value = f64> {
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

pub fn text_value() -> impl Strategy<Value = String> {
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
        Just("ü%日本_".repeat(40)),
        "[a-c%_\\\\]{0,4}",
    ]
}

pub fn leaf(ty: Ty) -> BoxedStrategy<TExpr> {
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

pub fn bin(op: BinaryOp, ty: Ty) -> impl Fn((TExpr, TExpr)) -> TExpr {
    move |(a, b)| node(TExprKind::Binary(op, Box::new(a), Box::new(b)), ty)
}

pub fn expr(ty: Ty, depth: u32) -> BoxedStrategy<TExpr> {
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

pub fn operand_ty_any() -> impl Strategy<Value = Ty> {
    proptest::sample::select(vec![Ty::Int, Ty::Float, Ty::Text, Ty::Bool])
}

pub fn row() -> impl Strategy<Value = Vec<Value>> {
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

pub fn context() -> impl Strategy<Value = Vec<Value>> {
    (
        text_value(),
        proptest::collection::btree_set(text_value(), 0..3),
        int_value(),
    )
        .prop_map(|(id, roles, n)| vec![Value::Text(id), Value::TextSet(roles), Value::Int(n)])
}
