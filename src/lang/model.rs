//! The checked policy set: names resolved to indexes, every expression typed.
//! This is what the checker produces and what `policy/`, `sql/` and `jit/`
//! consume; none of them sees policy text.

use std::collections::BTreeSet;
use std::fmt;

use super::ast::{BinaryOp, Command, ContextKind, Span};

/// The type of a value or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// The type of a bare `null` whose type nothing around it decides.
    Null,
    Int,
    Float,
    Bool,
    Text,
    Timestamp,
    TextSet,
    IntSet,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Text => "text",
            Ty::Timestamp => "timestamp",
            Ty::TextSet => "set<text>",
            Ty::IntSet => "set<int>",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    pub fn is_set(self) -> bool {
        matches!(self, Ty::TextSet | Ty::IntSet)
    }

    /// The element type of a set type.
    pub fn element(self) -> Option<Ty> {
        match self {
            Ty::TextSet => Some(Ty::Text),
            Ty::IntSet => Some(Ty::Int),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A declared type: a [`Ty`] and whether `null` is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeclaredType {
    pub ty: Ty,
    pub nullable: bool,
}

impl fmt::Display for DeclaredType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.ty, if self.nullable { "?" } else { "" })
    }
}

/// A run-time value of the language.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    TextSet(BTreeSet<String>),
    IntSet(BTreeSet<i64>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type of this value (`Ty::Null` for null).
    pub fn ty(&self) -> Ty {
        match self {
            Value::Null => Ty::Null,
            Value::Int(_) => Ty::Int,
            Value::Float(_) => Ty::Float,
            Value::Bool(_) => Ty::Bool,
            Value::Text(_) => Ty::Text,
            Value::Timestamp(_) => Ty::Timestamp,
            Value::TextSet(_) => Ty::TextSet,
            Value::IntSet(_) => Ty::IntSet,
        }
    }
}

/// A schema-qualified or plain table name, folded as declared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A checked, merged policy set.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    /// Every context field of both blocks; expressions refer to them by index.
    pub context: Vec<ContextField>,
    pub tables: Vec<Table>,
    pub tiers: Vec<Tier>,
    /// `quota { … }`: first match wins; the last has no condition.
    pub quota_rules: Vec<QuotaRule>,
    pub tenant_overrides: Vec<TenantOverride>,
}

impl PolicySet {
    pub fn table(&self, name: &QualifiedName) -> Option<(usize, &Table)> {
        self.tables
            .iter()
            .enumerate()
            .find(|(_, t)| &t.name == name)
    }

    /// Finds a table by an unqualified or qualified name as text
    /// (`orders`, `audit.events`); an unqualified name matches a table in
    /// any schema only when exactly one has that name.
    pub fn table_by_text(&self, text: &str) -> Option<(usize, &Table)> {
        let (schema, name) = match text.split_once('.') {
            Some((s, n)) => (Some(s.to_string()), n.to_string()),
            None => (None, text.to_string()),
        };
        self.table(&QualifiedName { schema, name })
    }

    pub fn context_field(&self, block: ContextKind, name: &str) -> Option<(usize, &ContextField)> {
        self.context
            .iter()
            .enumerate()
            .find(|(_, f)| f.block == block && f.name == name)
    }

    /// The context field that role targeting (`to …`) reads: `roles`.
    pub fn roles_field(&self) -> Option<usize> {
        self.context
            .iter()
            .position(|f| f.name == "roles" && f.ty.ty == Ty::TextSet)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContextField {
    pub block: ContextKind,
    pub name: String,
    pub ty: DeclaredType,
    pub span: Span,
}

impl ContextField {
    /// `tenant.id`
    pub fn path(&self) -> String {
        format!("{}.{}", self.block.keyword(), self.name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: QualifiedName,
    /// Not filtered at all.
    pub open: bool,
    pub columns: Vec<Column>,
    pub policies: Vec<Policy>,
    pub span: Span,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: DeclaredType,
    /// Filled in on INSERT when the column is omitted; reads only context
    /// fields and literals.
    pub preset: Option<TExpr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    pub permissive: bool,
    /// The commands it applies to (`for all` lists all four).
    pub commands: Vec<Command>,
    /// `to …`: `None` means every request (PostgreSQL's `PUBLIC`).
    pub roles: Option<Vec<String>>,
    pub using: Option<TExpr>,
    pub check: Option<TExpr>,
    pub span: Span,
}

impl Policy {
    pub fn applies_to(&self, command: Command) -> bool {
        self.commands.contains(&command)
    }
}

/// The functions of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Lower,
    Upper,
    Length,
    StartsWith,
}

impl Func {
    pub const ALL: [Func; 4] = [Func::Lower, Func::Upper, Func::Length, Func::StartsWith];

    pub fn name(self) -> &'static str {
        match self {
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Length => "length",
            Func::StartsWith => "starts_with",
        }
    }

    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A typed expression with resolved references.
#[derive(Clone, Debug, PartialEq)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TExprKind {
    Literal(Value),
    /// A column of the policy's own table, by index.
    Column(usize),
    /// A context field, by index into [`PolicySet::context`].
    Context(usize),
    /// A column of the table bound by an enclosing `exists`: `level` 0 is the
    /// outermost `exists`.
    ExistsColumn {
        level: usize,
        column: usize,
    },
    Not(Box<TExpr>),
    Neg(Box<TExpr>),
    /// An `int` used where a `float` is needed (inserted by the checker).
    IntToFloat(Box<TExpr>),
    /// Operands have the same type after [`TExprKind::IntToFloat`].
    Binary(BinaryOp, Box<TExpr>, Box<TExpr>),
    InList {
        expr: Box<TExpr>,
        items: Vec<TExpr>,
        negated: bool,
    },
    /// `x in request.roles`: membership in a set-typed value.
    InSet {
        expr: Box<TExpr>,
        set: Box<TExpr>,
        negated: bool,
    },
    IsNull {
        expr: Box<TExpr>,
        negated: bool,
    },
    Like {
        expr: Box<TExpr>,
        pattern: Box<TExpr>,
        negated: bool,
    },
    Call(Func, Vec<TExpr>),
    /// `exists table alias where cond`: `table` indexes [`PolicySet::tables`].
    Exists {
        table: usize,
        alias: String,
        cond: Box<TExpr>,
    },
}

impl TExprKind {
    /// The direct sub-expressions, left to right.
    pub fn children(&self) -> Vec<&TExpr> {
        match self {
            TExprKind::Literal(_)
            | TExprKind::Column(_)
            | TExprKind::Context(_)
            | TExprKind::ExistsColumn { .. } => Vec::new(),
            TExprKind::Not(e) | TExprKind::Neg(e) | TExprKind::IntToFloat(e) => vec![e],
            TExprKind::Binary(_, l, r) => vec![l, r],
            TExprKind::InList { expr, items, .. } => {
                std::iter::once(&**expr).chain(items).collect()
            }
            TExprKind::InSet { expr, set, .. } => vec![expr, set],
            TExprKind::IsNull { expr, .. } => vec![expr],
            TExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
            TExprKind::Call(_, args) => args.iter().collect(),
            TExprKind::Exists { cond, .. } => vec![cond],
        }
    }
}

/// The limits of a tier or tenant override; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub connections: Option<u64>,
    pub qps: Option<u64>,
    /// Bytes.
    pub storage: Option<u64>,
    pub max_rows: Option<u64>,
}

impl Limits {
    /// `self` with every limit that `over` sets replaced by its value.
    pub fn overridden_by(self, over: &Limits) -> Limits {
        Limits {
            connections: over.connections.or(self.connections),
            qps: over.qps.or(self.qps),
            storage: over.storage.or(self.storage),
            max_rows: over.max_rows.or(self.max_rows),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    pub name: String,
    pub limits: Limits,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QuotaRule {
    /// Index into [`PolicySet::tiers`].
    pub tier: usize,
    /// Reads only `tenant.*` fields; `None` is the default rule.
    pub when: Option<TExpr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TenantOverride {
    pub tenant: String,
    pub limits: Limits,
    pub span: Span,
}
