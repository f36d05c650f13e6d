//! Well-typed policy sets: a fixed context and two tables, with generated
//! policies whose every expression the checker accepts, for the fuzz targets
//! and tests that evaluate policies rather than only print them.

use arbitrary::{Result, Unstructured};

use super::{atoms, expr::negate};
use crate::lang::*;

/// The role names that generated `to` clauses and contexts draw from.
pub const ROLES: &[&str] = &["admin", "member", "guest"];

/// The table the generated policies protect, and the one `exists` reads.
pub const TABLE: &str = "t";
pub const OTHER_TABLE: &str = "m";

/// The columns of [`TABLE`]: name, type, nullable.
const COLUMNS: &[(&str, ScalarType, bool)] = &[
    ("id", ScalarType::Int, false),
    ("tenant_id", ScalarType::Text, false),
    ("owner", ScalarType::Text, true),
    ("i", ScalarType::Int, true),
    ("j", ScalarType::Int, true),
    ("f", ScalarType::Float, true),
    ("s", ScalarType::Text, true),
    ("b", ScalarType::Bool, true),
    ("ts", ScalarType::Timestamp, true),
];

/// The columns of [`OTHER_TABLE`].
const OTHER_COLUMNS: &[(&str, ScalarType, bool)] = &[
    ("id", ScalarType::Int, false),
    ("tenant_id", ScalarType::Text, false),
    ("owner", ScalarType::Text, true),
];

/// Context fields other than `roles`: block, name, type, nullable.
const FIELDS: &[(ContextKind, &str, ScalarType, bool)] = &[
    (ContextKind::Tenant, "id", ScalarType::Text, false),
    (ContextKind::Tenant, "n", ScalarType::Int, false),
    (ContextKind::Request, "user", ScalarType::Text, false),
    (ContextKind::Request, "level", ScalarType::Int, true),
    (ContextKind::Request, "score", ScalarType::Float, true),
];

/// Short texts that generated rows and contexts also use, so that
/// comparisons meet equal values.
pub const TEXTS: &[&str] = &["acme", "globex", "bob", "ann", "", "a%", "B_", "\\"];

/// What a generated policy set may use.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `exists` reading [`OTHER_TABLE`] (row-level evaluators cannot answer it).
    pub exists: bool,
    /// The most policies on [`TABLE`].
    pub max_policies: u8,
}

/// A policy file that checks clean: the context, both tables, an isolation
/// policy on [`OTHER_TABLE`], and up to `max_policies` policies on [`TABLE`].
pub fn policy_set(u: &mut Unstructured<'_>, options: Options) -> Result<PolicyFile> {
    let open = u.ratio(1u8, 4)?;
    let mut items = vec![
        Item::Context(context(ContextKind::Tenant, false)),
        Item::Context(context(ContextKind::Request, u.ratio(1u8, 8)?)),
        Item::Table(table(TABLE, COLUMNS, false)),
        Item::Table(table(OTHER_TABLE, OTHER_COLUMNS, open)),
    ];
    // An open table takes no policies.
    if !open {
        items.push(Item::Policy(PolicyDecl {
            name: Ident::new("m_isolation"),
            table: table_name(OTHER_TABLE),
            mode: None,
            commands: None,
            roles: None,
            using: Some(binary(
                BinaryOp::Eq,
                column("tenant_id"),
                context_ref(ContextKind::Tenant, "id"),
            )),
            check: None,
            span: Span::default(),
        }));
    }
    let count = u.int_in_range(0..=options.max_policies)?;
    for n in 0..count {
        items.push(Item::Policy(policy(u, n, options)?));
    }
    Ok(PolicyFile {
        items,
        comments: Vec::new(),
    })
}

fn type_expr(scalar: ScalarType, set: bool, nullable: bool) -> TypeExpr {
    TypeExpr {
        scalar,
        set,
        nullable,
        span: Span::default(),
    }
}

fn context(kind: ContextKind, nullable_sets: bool) -> ContextBlock {
    let mut fields: Vec<FieldDecl> = FIELDS
        .iter()
        .filter(|(block, ..)| *block == kind)
        .map(|(_, name, scalar, nullable)| FieldDecl {
            name: Ident::new(*name),
            ty: type_expr(*scalar, false, *nullable),
            span: Span::default(),
        })
        .collect();
    if kind == ContextKind::Request {
        for (name, scalar) in [("roles", ScalarType::Text), ("ids", ScalarType::Int)] {
            fields.push(FieldDecl {
                name: Ident::new(name),
                ty: type_expr(scalar, true, nullable_sets),
                span: Span::default(),
            });
        }
    }
    ContextBlock {
        kind,
        fields,
        span: Span::default(),
    }
}

fn table_name(name: &str) -> TableName {
    TableName {
        schema: None,
        name: Ident::new(name),
        span: Span::default(),
    }
}

fn table(name: &str, columns: &[(&str, ScalarType, bool)], open: bool) -> TableDecl {
    TableDecl {
        open,
        name: table_name(name),
        columns: columns
            .iter()
            .map(|(name, scalar, nullable)| ColumnDecl {
                name: Ident::new(*name),
                ty: type_expr(*scalar, false, *nullable),
                preset: None,
                span: Span::default(),
            })
            .collect(),
        span: Span::default(),
    }
}

fn policy(u: &mut Unstructured<'_>, n: u8, options: Options) -> Result<PolicyDecl> {
    let mode = match u.int_in_range(0u8..=2)? {
        0 => None,
        1 => Some((PolicyMode::Permissive, Span::default())),
        _ => Some((PolicyMode::Restrictive, Span::default())),
    };
    let mut commands: Vec<Command> = Vec::new();
    if !u.ratio(1u8, 3)? {
        for command in Command::ALL {
            if u.ratio(1u8, 3)? {
                commands.push(command);
            }
        }
    }
    let spec = if commands.is_empty() {
        if u.arbitrary()? {
            Some(CommandSpec::All(Span::default()))
        } else {
            None
        }
    } else {
        Some(CommandSpec::List(
            commands.iter().map(|c| (*c, Span::default())).collect(),
        ))
    };
    let all = commands.is_empty();
    // A policy for `insert` alone takes no `using`; one for `select` or
    // `delete` alone takes no `check`.
    let using_allowed = all || commands.iter().any(|c| *c != Command::Insert);
    let check_allowed = all
        || commands
            .iter()
            .any(|c| matches!(c, Command::Insert | Command::Update));
    let roles = if u.ratio(1u8, 3)? {
        let mut roles = Vec::new();
        for role in ROLES {
            if u.arbitrary()? {
                roles.push(Ident::new(*role));
            }
        }
        (!roles.is_empty()).then_some(roles)
    } else {
        None
    };
    let mut gen = Typed {
        exists: options.exists,
        alias: None,
    };
    let mut using = if using_allowed && u.ratio(4u8, 5)? {
        Some(gen.expr(u, Want::Bool, super::MAX_DEPTH)?)
    } else {
        None
    };
    let check = if check_allowed && (using.is_none() || u.ratio(1u8, 2)?) {
        Some(gen.expr(u, Want::Bool, super::MAX_DEPTH)?)
    } else {
        None
    };
    if using.is_none() && check.is_none() {
        using = Some(gen.expr(u, Want::Bool, super::MAX_DEPTH)?);
    }
    Ok(PolicyDecl {
        name: Ident::new(format!("p{n}")),
        table: table_name(TABLE),
        mode,
        commands: spec,
        roles,
        using,
        check,
        span: Span::default(),
    })
}

/// The type an expression is generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Bool,
    Int,
    Float,
    Text,
    Timestamp,
}

const SCALARS: [Want; 5] = [
    Want::Bool,
    Want::Int,
    Want::Float,
    Want::Text,
    Want::Timestamp,
];

fn scalar_of(want: Want) -> ScalarType {
    match want {
        Want::Bool => ScalarType::Bool,
        Want::Int => ScalarType::Int,
        Want::Float => ScalarType::Float,
        Want::Text => ScalarType::Text,
        Want::Timestamp => ScalarType::Timestamp,
    }
}

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn column(name: &str) -> Expr {
    node(ExprKind::Column(Ident::new(name)))
}

fn context_ref(kind: ContextKind, name: &str) -> Expr {
    node(ExprKind::Context(kind, Ident::new(name)))
}

fn binary(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    node(ExprKind::Binary(op, Box::new(a), Box::new(b)))
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    node(ExprKind::Call {
        func: Ident::new(name),
        args,
    })
}

/// A generator of well-typed expressions over [`TABLE`] and the context.
pub struct Typed {
    /// Whether `exists` may be generated.
    pub exists: bool,
    /// Inside an `exists`: the alias of [`OTHER_TABLE`].
    alias: Option<String>,
}

impl Typed {
    pub fn new(exists: bool) -> Typed {
        Typed {
            exists,
            alias: None,
        }
    }

    /// An expression of type `want`, at most `depth` levels tall.
    pub fn expr(&mut self, u: &mut Unstructured<'_>, want: Want, depth: u32) -> Result<Expr> {
        let Some(below) = depth.checked_sub(1) else {
            return self.leaf(u, want);
        };
        if u.ratio(1u8, 4)? {
            return self.leaf(u, want);
        }
        match want {
            Want::Bool => self.boolean(u, below),
            Want::Int => self.int(u, below),
            Want::Float => self.float(u, below),
            Want::Text => self.text(u, below),
            Want::Timestamp => self.leaf(u, want),
        }
    }

    fn leaf(&mut self, u: &mut Unstructured<'_>, want: Want) -> Result<Expr> {
        let scalar = scalar_of(want);
        let mut refs: Vec<Expr> = COLUMNS
            .iter()
            .filter(|(_, s, _)| *s == scalar)
            .map(|(name, ..)| column(name))
            .collect();
        refs.extend(
            FIELDS
                .iter()
                .filter(|(_, _, s, _)| *s == scalar)
                .map(|(kind, name, ..)| context_ref(*kind, name)),
        );
        if let Some(alias) = &self.alias {
            refs.extend(
                OTHER_COLUMNS
                    .iter()
                    .filter(|(_, s, _)| *s == scalar)
                    .map(|(name, ..)| {
                        node(ExprKind::Qualified(
                            Ident::new(alias.clone()),
                            Ident::new(*name),
                        ))
                    }),
            );
        }
        if !refs.is_empty() && u.ratio(1u8, 2)? {
            let i = u.choose_index(refs.len())?;
            return Ok(refs.swap_remove(i));
        }
        Ok(node(ExprKind::Literal(literal(u, want)?)))
    }

    fn boolean(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<Expr> {
        Ok(match u.int_in_range(0u8..=11)? {
            0 | 1 => {
                let op = *u.choose(&[BinaryOp::And, BinaryOp::Or])?;
                binary(
                    op,
                    self.expr(u, Want::Bool, d)?,
                    self.expr(u, Want::Bool, d)?,
                )
            }
            2 => node(ExprKind::Unary(
                UnaryOp::Not,
                Box::new(self.expr(u, Want::Bool, d)?),
            )),
            3..=5 => {
                let op = *u.choose(&[
                    BinaryOp::Eq,
                    BinaryOp::Ne,
                    BinaryOp::Lt,
                    BinaryOp::Le,
                    BinaryOp::Gt,
                    BinaryOp::Ge,
                ])?;
                let (a, b) = self.comparable_pair(u, d)?;
                binary(op, a, b)
            }
            6 => node(ExprKind::IsNull {
                expr: Box::new(self.any(u, d)?),
                negated: u.arbitrary()?,
            }),
            7 => {
                let want = *u.choose(&SCALARS)?;
                let x = self.expr(u, want, d)?;
                let count = u.int_in_range(0u8..=3)?;
                let mut items = Vec::new();
                for _ in 0..count {
                    items.push(if u.ratio(1u8, 6)? {
                        null()
                    } else {
                        self.expr(u, want, d)?
                    });
                }
                node(ExprKind::In {
                    expr: Box::new(x),
                    set: InSet::List(items),
                    negated: u.arbitrary()?,
                })
            }
            8 => {
                let (want, field) = *u.choose(&[(Want::Text, "roles"), (Want::Int, "ids")])?;
                node(ExprKind::In {
                    expr: Box::new(self.expr(u, want, d)?),
                    set: InSet::Expr(Box::new(context_ref(ContextKind::Request, field))),
                    negated: u.arbitrary()?,
                })
            }
            9 => node(ExprKind::Like {
                expr: Box::new(self.expr(u, Want::Text, d)?),
                pattern: Box::new(self.expr(u, Want::Text, d)?),
                negated: u.arbitrary()?,
            }),
            10 => call(
                "starts_with",
                vec![self.expr(u, Want::Text, d)?, self.expr(u, Want::Text, d)?],
            ),
            _ if self.exists && self.alias.is_none() => self.exists(u, d)?,
            _ => self.leaf(u, Want::Bool)?,
        })
    }

    /// Two operands that compare: the same type, an `int` beside a `float`,
    /// or a `null` beside anything.
    fn comparable_pair(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<(Expr, Expr)> {
        let want = *u.choose(&SCALARS)?;
        let a = self.expr(u, want, d)?;
        let other = match (want, u.int_in_range(0u8..=7)?) {
            (_, 0) => return Ok((a, null())),
            (Want::Int, 1) => Want::Float,
            (Want::Float, 1) => Want::Int,
            _ => want,
        };
        Ok((a, self.expr(u, other, d)?))
    }

    fn any(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<Expr> {
        let want = *u.choose(&SCALARS)?;
        self.expr(u, want, d)
    }

    fn int(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<Expr> {
        Ok(match u.int_in_range(0u8..=3)? {
            0 => negate(self.expr(u, Want::Int, d)?),
            1 => call("length", vec![self.expr(u, Want::Text, d)?]),
            _ => {
                let op = *u.choose(&[
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Div,
                    BinaryOp::Mod,
                ])?;
                binary(op, self.expr(u, Want::Int, d)?, self.expr(u, Want::Int, d)?)
            }
        })
    }

    fn float(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<Expr> {
        Ok(match u.int_in_range(0u8..=2)? {
            0 => negate(self.expr(u, Want::Float, d)?),
            _ => {
                let op =
                    *u.choose(&[BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div])?;
                // One side may be an `int`: it is converted.
                let (a, b) = match u.int_in_range(0u8..=2)? {
                    0 => (Want::Int, Want::Float),
                    1 => (Want::Float, Want::Int),
                    _ => (Want::Float, Want::Float),
                };
                binary(op, self.expr(u, a, d)?, self.expr(u, b, d)?)
            }
        })
    }

    fn text(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<Expr> {
        Ok(match u.int_in_range(0u8..=2)? {
            0 => binary(
                BinaryOp::Concat,
                self.expr(u, Want::Text, d)?,
                self.expr(u, Want::Text, d)?,
            ),
            _ => {
                let func = *u.choose(&["lower", "upper"])?;
                call(func, vec![self.expr(u, Want::Text, d)?])
            }
        })
    }

    /// `exists m [x] where <bool>`, the condition reading both tables.
    fn exists(&mut self, u: &mut Unstructured<'_>, d: u32) -> Result<Expr> {
        let alias = if u.arbitrary()? { Some("x") } else { None };
        self.alias = Some(alias.unwrap_or(OTHER_TABLE).to_string());
        let cond = self.expr(u, Want::Bool, d);
        self.alias = None;
        Ok(node(ExprKind::Exists {
            table: table_name(OTHER_TABLE),
            alias: alias.map(Ident::new),
            cond: Box::new(cond?),
        }))
    }
}

fn null() -> Expr {
    node(ExprKind::Literal(Literal::Null))
}

/// A literal of type `want`, in the parser's normal form.
fn literal(u: &mut Unstructured<'_>, want: Want) -> Result<Literal> {
    Ok(match want {
        Want::Bool => Literal::Bool(u.arbitrary()?),
        Want::Int => Literal::Int(if u.ratio(2u8, 3)? {
            u.int_in_range(-3..=3)?
        } else {
            atoms::int(u)?
        }),
        Want::Float => Literal::Float(if u.ratio(1u8, 2)? {
            f64::from(u.int_in_range(-4i8..=4)?) / 2.0
        } else {
            atoms::float(u)?
        }),
        Want::Text => Literal::Text(if u.ratio(2u8, 3)? {
            u.choose(TEXTS)?.to_string()
        } else {
            atoms::text(u)?.replace('\0', "")
        }),
        Want::Timestamp => Literal::Timestamp(if u.ratio(1u8, 2)? {
            u.int_in_range(-2i64..=2)? * 1_000_000
        } else {
            atoms::timestamp(u)?
        }),
    })
}
