//! The syntax tree of a policy file, exactly as written: every node carries the
//! source span it came from. `Display` (in `print.rs`) prints canonical source.

use std::fmt;

/// Index of a source file within a [`crate::lang::SourceMap`].
pub type FileId = u32;

/// A byte range in one source file.
///
/// Spans are where a node came from, not what it means: two nodes compare
/// equal whatever their spans, so `parse(print(ast)) == ast` holds.
#[derive(Clone, Copy, Default, Debug, Eq)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _state: &mut H) {}
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// An identifier, folded to lower case unless it was written in double quotes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl Ident {
    pub fn new(name: impl Into<String>) -> Ident {
        Ident {
            name: name.into(),
            span: Span::default(),
        }
    }
}

/// A table name, optionally schema-qualified: `orders`, `audit.events`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableName {
    pub schema: Option<Ident>,
    pub name: Ident,
    pub span: Span,
}

impl TableName {
    /// The qualified name as users write it in messages: `audit.events`.
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", schema.name, self.name.name),
            None => self.name.name.clone(),
        }
    }
}

/// One parsed source file.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyFile {
    pub items: Vec<Item>,
    /// Comments with their spans, kept for the formatter; they carry no meaning.
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The text after `#`, without the line break.
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "items are few and built once per file; boxing would only add noise"
)]
pub enum Item {
    Context(ContextBlock),
    Table(TableDecl),
    Policy(PolicyDecl),
    Tier(TierDecl),
    Quota(QuotaRules),
    TenantQuota(TenantQuota),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Context(x) => x.span,
            Item::Table(x) => x.span,
            Item::Policy(x) => x.span,
            Item::Tier(x) => x.span,
            Item::Quota(x) => x.span,
            Item::TenantQuota(x) => x.span,
        }
    }
}

/// Which context block: `tenant` (fixed per tenant) or `request` (per request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContextKind {
    Tenant,
    Request,
}

impl ContextKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ContextKind::Tenant => "tenant",
            ContextKind::Request => "request",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContextBlock {
    pub kind: ContextKind,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// The scalar types of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    Int,
    Float,
    Bool,
    Text,
    Timestamp,
}

impl ScalarType {
    pub fn keyword(self) -> &'static str {
        match self {
            ScalarType::Int => "int",
            ScalarType::Float => "float",
            ScalarType::Bool => "bool",
            ScalarType::Text => "text",
            ScalarType::Timestamp => "timestamp",
        }
    }
}

/// A type as written: `text`, `int?`, `set<text>`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub scalar: ScalarType,
    /// `set<scalar>`: allowed for context fields only (the checker says so).
    pub set: bool,
    pub nullable: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableDecl {
    pub open: bool,
    pub name: TableName,
    pub columns: Vec<ColumnDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    /// `= tenant.id`: filled in on INSERT when the column is omitted.
    pub preset: Option<Expr>,
    pub span: Span,
}

/// A SQL command a policy can apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Select,
    Insert,
    Update,
    Delete,
}

impl Command {
    pub const ALL: [Command; 4] = [
        Command::Select,
        Command::Insert,
        Command::Update,
        Command::Delete,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            Command::Select => "select",
            Command::Insert => "insert",
            Command::Update => "update",
            Command::Delete => "delete",
        }
    }

    /// Parses a command name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL
            .into_iter()
            .find(|c| c.keyword().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The `for` clause: `for all` or a list of commands.
#[derive(Clone, Debug, PartialEq)]
pub enum CommandSpec {
    All(Span),
    List(Vec<(Command, Span)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyMode {
    Permissive,
    Restrictive,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyDecl {
    pub name: Ident,
    pub table: TableName,
    /// `as permissive|restrictive`, if written (permissive by default).
    pub mode: Option<(PolicyMode, Span)>,
    /// `for …`, if written (`all` by default).
    pub commands: Option<CommandSpec>,
    /// `to role, …`, if written (every request by default).
    pub roles: Option<Vec<Ident>>,
    pub using: Option<Expr>,
    pub check: Option<Expr>,
    pub span: Span,
}

impl PolicyDecl {
    pub fn mode(&self) -> PolicyMode {
        self.mode.map_or(PolicyMode::Permissive, |(m, _)| m)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TierDecl {
    pub name: Ident,
    pub limits: Vec<Limit>,
    pub span: Span,
}

/// A size unit for `storage`: powers of 1024.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SizeUnit {
    B,
    Kb,
    Mb,
    Gb,
    Tb,
}

impl SizeUnit {
    pub fn keyword(self) -> &'static str {
        match self {
            SizeUnit::B => "B",
            SizeUnit::Kb => "KB",
            SizeUnit::Mb => "MB",
            SizeUnit::Gb => "GB",
            SizeUnit::Tb => "TB",
        }
    }

    pub fn bytes(self) -> u64 {
        match self {
            SizeUnit::B => 1,
            SizeUnit::Kb => 1 << 10,
            SizeUnit::Mb => 1 << 20,
            SizeUnit::Gb => 1 << 30,
            SizeUnit::Tb => 1 << 40,
        }
    }
}

/// One limit in a tier or override: `qps 10`, `storage 1 GB`.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub name: Ident,
    /// As written; negative values parse so that the checker can name them.
    pub value: i64,
    pub unit: Option<SizeUnit>,
    pub span: Span,
}

/// `quota { tier free when …  tier pro }`: first match wins.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaRules {
    pub rules: Vec<QuotaRule>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QuotaRule {
    pub tier: Ident,
    pub when: Option<Expr>,
    pub span: Span,
}

/// `quota tenant 'acme' { qps 2000 }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantQuota {
    pub tenant: String,
    pub limits: Vec<Limit>,
    pub span: Span,
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

/// A literal value as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Concat => "||",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }

    /// Binding strength: larger binds tighter (see LANGUAGE.md §4).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::Concat | BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}

/// Precedence levels of the non-binary forms, on the scale of
/// [`BinaryOp::precedence`].
pub mod prec {
    pub const NOT: u8 = 3;
    /// `in`, `is`, `like`: the comparison level.
    pub const TEST: u8 = 4;
    pub const NEG: u8 = 7;
    pub const ATOM: u8 = 8;
}

/// The right-hand side of `in`.
#[derive(Clone, Debug, PartialEq)]
pub enum InSet {
    /// `x in ['a', 'b']`
    List(Vec<Expr>),
    /// `'admin' in request.roles`
    Expr(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// A bare name: a column of the policy's table.
    Column(Ident),
    /// `tenant.id`, `request.roles`.
    Context(ContextKind, Ident),
    /// `m.org_id`: a column of a table named by an enclosing `exists`.
    Qualified(Ident, Ident),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    In {
        expr: Box<Expr>,
        set: InSet,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    /// `lower(x)`, `starts_with(x, 'p')`.
    Call {
        func: Ident,
        args: Vec<Expr>,
    },
    /// `exists memberships m where …`
    Exists {
        table: TableName,
        alias: Option<Ident>,
        cond: Box<Expr>,
    },
}

impl ExprKind {
    /// How tightly this form binds, for printing parentheses.
    pub fn precedence(&self) -> u8 {
        match self {
            ExprKind::Binary(op, _, _) => op.precedence(),
            ExprKind::Unary(UnaryOp::Not, _) => prec::NOT,
            ExprKind::Unary(UnaryOp::Neg, _) => prec::NEG,
            ExprKind::In { .. } | ExprKind::IsNull { .. } | ExprKind::Like { .. } => prec::TEST,
            // `exists … where cond` swallows everything to its right.
            ExprKind::Exists { .. } => 0,
            // A negative literal prints with its sign, like a unary minus.
            ExprKind::Literal(Literal::Int(i)) if *i < 0 => prec::NEG,
            ExprKind::Literal(Literal::Float(x)) if x.is_sign_negative() => prec::NEG,
            ExprKind::Literal(_)
            | ExprKind::Column(_)
            | ExprKind::Context(..)
            | ExprKind::Qualified(..)
            | ExprKind::Call { .. } => prec::ATOM,
        }
    }
}
