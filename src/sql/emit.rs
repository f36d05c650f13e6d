//! Typed policy expressions → `sqlparser` expressions, per dialect, with the
//! same three-valued results as the interpreter. Context values become quoted
//! literals (or, for native DDL, settings read once per statement).

use std::cell::Cell;

use sqlparser::ast::{self as sql, BinaryOperator, DataType, Ident, ObjectName, UnaryOperator};

use crate::lang::model::{Func, PolicySet, TExpr, TExprKind, Ty, Value};
use crate::lang::print::format_timestamp;
use crate::lang::{BinaryOp, Command};
use crate::policy::combine::{combine, Clause};
use crate::policy::simplify::can_fail;
use crate::policy::{specialise, KnownContext};

use super::template::scalar_subquery;
use super::{Dialect, EmitError};

mod nodes;
pub use nodes::{
    bool_literal, cast, column_ref, function, int_literal, needs_parens, nested, text_literal,
    value_expr,
};

/// How context fields that specialisation did not fold are emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextSource {
    /// Every field must be known: an unfolded one is an error.
    Literals,
    /// `(SELECT current_setting('rampart.<block>_<field>'))` cast to the
    /// field's type: PostgreSQL runs it once per statement (an init plan).
    Settings,
}

/// Where the columns of an expression are read from.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The policy's own table (index into the set) and its qualifier in SQL
    /// (its name, or the alias the query gave it).
    pub table: usize,
    pub qualifier: Vec<String>,
    /// Tables and aliases of the enclosing `exists` subqueries, outermost first.
    pub exists: Vec<(usize, String)>,
}

impl Scope {
    pub fn new(table: usize, qualifier: Vec<String>) -> Scope {
        Scope {
            table,
            qualifier,
            exists: Vec::new(),
        }
    }
}

/// Emits policy expressions as SQL for one dialect.
pub struct Emitter<'a> {
    pub set: &'a PolicySet,
    pub dialect: Dialect,
    pub context: ContextSource,
    /// Known context values, used to specialise the SELECT policies of
    /// tables that `exists` reads.
    pub known: &'a KnownContext,
    /// Whether the subquery of an `exists` carries the SELECT policy of the
    /// table it reads (the rewriter), or the database adds it itself (native RLS).
    pub inline_exists_policies: bool,
    next_alias: Cell<usize>,
    /// Inside a context-only subexpression emitted as one scalar subquery
    /// ([`ContextSource::Settings`]): its settings are read bare.
    in_init_plan: Cell<bool>,
}

impl<'a> Emitter<'a> {
    pub fn new(
        set: &'a PolicySet,
        dialect: Dialect,
        context: ContextSource,
        known: &'a KnownContext,
    ) -> Emitter<'a> {
        Emitter {
            set,
            dialect,
            context,
            known,
            inline_exists_policies: context == ContextSource::Literals,
            next_alias: Cell::new(0),
            in_init_plan: Cell::new(false),
        }
    }

    /// Emits `expr`, reading its table's columns through `scope`.
    ///
    /// With [`ContextSource::Settings`], a largest subexpression that reads
    /// the context and no row (a setting, a role test `'admin' in
    /// request.roles`, a whole role guard) becomes one scalar subquery,
    /// which PostgreSQL runs once per statement as an init plan and plans
    /// as an opaque parameter, as in hand-written native RLS.
    pub fn expr(&self, expr: &TExpr, scope: &Scope) -> Result<sql::Expr, EmitError> {
        if self.context == ContextSource::Settings
            && !self.in_init_plan.get()
            && super::settings::reads_only_context(expr)
        {
            self.in_init_plan.set(true);
            let inner = self.expr_node(expr, scope);
            self.in_init_plan.set(false);
            return scalar_subquery(inner?);
        }
        self.expr_node(expr, scope)
    }

    /// Emits one node of `expr` (its children through [`Emitter::expr`]).
    fn expr_node(&self, expr: &TExpr, scope: &Scope) -> Result<sql::Expr, EmitError> {
        Ok(match &expr.kind {
            TExprKind::Literal(v) => self.literal(v)?,
            TExprKind::Column(i) => {
                let name = self.column_name(scope.table, *i)?;
                column_ref(&scope.qualifier, &name)
            }
            TExprKind::ExistsColumn { level, column } => {
                let (table, alias) = scope
                    .exists
                    .get(*level)
                    .ok_or(EmitError::Internal("`exists` column outside its subquery"))?;
                let name = self.column_name(*table, *column)?;
                column_ref(std::slice::from_ref(alias), &name)
            }
            TExprKind::Context(i) => self.context_field(*i)?,
            TExprKind::Not(e) => sql::Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: Box::new(nested(self.expr(e, scope)?)),
            },
            // SQLite turns `-i64::MIN` into a float: subtract from zero, checked.
            TExprKind::Neg(e) if self.dialect == Dialect::Sqlite && e.ty == Ty::Int => {
                function("rampart_sub", vec![int_literal(0), self.expr(e, scope)?])
            }
            TExprKind::Neg(e) => sql::Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(nested(self.expr(e, scope)?)),
            },
            TExprKind::IntToFloat(e) => cast(nested(self.expr(e, scope)?), self.float_type()),
            TExprKind::Binary(op, l, r) => self.binary(*op, l, r, scope)?,
            TExprKind::InList {
                expr: x,
                items,
                negated,
            } => {
                if items.is_empty() {
                    return Ok(bool_literal(*negated));
                }
                // SQLite may stop early or skip items; an item that can fail
                // must run exactly when PostgreSQL's `x = a OR x = b` runs it.
                if self.dialect == Dialect::Sqlite && items.iter().any(can_fail) {
                    return self.expr(&in_list_as_or(x, items, *negated, expr), scope);
                }
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    list.push(self.expr(item, scope)?);
                }
                in_list(nested(self.expr(x, scope)?), list, *negated)
            }
            TExprKind::InSet {
                expr: x,
                set,
                negated,
            } => self.in_set(x, set, *negated, scope)?,
            TExprKind::IsNull { expr: x, negated } => {
                let x = Box::new(nested(self.expr(x, scope)?));
                sql::Expr::Nested(Box::new(if *negated {
                    sql::Expr::IsNotNull(x)
                } else {
                    sql::Expr::IsNull(x)
                }))
            }
            TExprKind::Like {
                expr: x,
                pattern,
                negated,
            } => self.like(x, pattern, *negated, scope)?,
            TExprKind::Call(func, args) => self.call(*func, args, scope)?,
            TExprKind::Exists { table, cond, .. } => self.exists(*table, cond, scope)?,
        })
    }

    fn column_name(&self, table: usize, column: usize) -> Result<String, EmitError> {
        self.set
            .tables
            .get(table)
            .and_then(|t| t.columns.get(column))
            .map(|c| c.name.clone())
            .ok_or(EmitError::Internal("column index out of range"))
    }

    fn float_type(&self) -> DataType {
        match self.dialect {
            Dialect::Postgres => DataType::DoublePrecision,
            Dialect::Sqlite => DataType::Real,
        }
    }

    /// A literal of the language as a SQL literal of the same type.
    pub fn literal(&self, value: &Value) -> Result<sql::Expr, EmitError> {
        Ok(match value {
            Value::Null => value_expr(sql::Value::Null),
            Value::Bool(b) => bool_literal(*b),
            Value::Int(i) => int_literal(*i),
            Value::Float(x) => {
                if !x.is_finite() {
                    return Err(EmitError::Unsupported(format!(
                        "the float value `{x}` has no SQL literal"
                    )));
                }
                let number = value_expr(sql::Value::Number(format!("{x:?}"), false));
                match self.dialect {
                    // A bare `2.5` is `numeric` in PostgreSQL: make it float8.
                    Dialect::Postgres => cast(number, DataType::DoublePrecision),
                    Dialect::Sqlite => number,
                }
            }
            Value::Text(s) => text_literal(s)?,
            Value::Timestamp(us) => match self.dialect {
                Dialect::Postgres => cast(
                    text_literal(&format_timestamp(*us))?,
                    DataType::Custom(ObjectName::from(vec![Ident::new("timestamptz")]), vec![]),
                ),
                // SQLite stores timestamps as integer microseconds since the epoch.
                Dialect::Sqlite => int_literal(*us),
            },
            Value::TextSet(_) | Value::IntSet(_) => {
                return Err(EmitError::Internal("a set value outside `in`"));
            }
        })
    }

    fn context_field(&self, index: usize) -> Result<sql::Expr, EmitError> {
        let field = self
            .set
            .context
            .get(index)
            .ok_or(EmitError::Internal("context index out of range"))?;
        match (self.context, self.dialect) {
            (ContextSource::Settings, Dialect::Postgres) => {
                Ok(super::settings::read_setting(field))
            }
            _ => Err(EmitError::UnknownContext(field.path())),
        }
    }

    fn binary(
        &self,
        op: BinaryOp,
        l: &TExpr,
        r: &TExpr,
        scope: &Scope,
    ) -> Result<sql::Expr, EmitError> {
        let left = nested(self.expr(l, scope)?);
        let right = nested(self.expr(r, scope)?);
        if self.dialect == Dialect::Sqlite
            && matches!(op, BinaryOp::And | BinaryOp::Or)
            && can_fail(r)
        {
            return Ok(short_circuit(op, left, right));
        }
        let sql_op = match op {
            BinaryOp::Or | BinaryOp::And => {
                let op = if op == BinaryOp::Or {
                    BinaryOperator::Or
                } else {
                    BinaryOperator::And
                };
                return Ok(sql::Expr::Nested(Box::new(sql::Expr::BinaryOp {
                    left: Box::new(logic_operand(left, &op)),
                    right: Box::new(logic_operand(right, &op)),
                    op,
                })));
            }
            BinaryOp::Eq => BinaryOperator::Eq,
            BinaryOp::Ne => BinaryOperator::NotEq,
            BinaryOp::Lt => BinaryOperator::Lt,
            BinaryOp::Le => BinaryOperator::LtEq,
            BinaryOp::Gt => BinaryOperator::Gt,
            BinaryOp::Ge => BinaryOperator::GtEq,
            BinaryOp::Concat => BinaryOperator::StringConcat,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                return Ok(self.arithmetic(op, left, right, l.ty));
            }
        };
        // Text orders by bytes (the `C` collation) whatever the database's default.
        let left = if self.dialect == Dialect::Postgres
            && l.ty == Ty::Text
            && matches!(
                op,
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
            ) {
            sql::Expr::Collate {
                expr: Box::new(left),
                collation: ObjectName::from(vec![Ident::with_quote('"', "C")]),
            }
        } else {
            left
        };
        Ok(sql::Expr::Nested(Box::new(sql::Expr::BinaryOp {
            left: Box::new(left),
            op: sql_op,
            right: Box::new(right),
        })))
    }

    fn arithmetic(&self, op: BinaryOp, left: sql::Expr, right: sql::Expr, ty: Ty) -> sql::Expr {
        match self.dialect {
            // PostgreSQL's bigint and float8 operators already raise
            // PostgreSQL's errors.
            Dialect::Postgres => {
                let op = match op {
                    BinaryOp::Add => BinaryOperator::Plus,
                    BinaryOp::Sub => BinaryOperator::Minus,
                    BinaryOp::Mul => BinaryOperator::Multiply,
                    BinaryOp::Div => BinaryOperator::Divide,
                    _ => BinaryOperator::Modulo,
                };
                sql::Expr::Nested(Box::new(sql::Expr::BinaryOp {
                    left: Box::new(left),
                    op,
                    right: Box::new(right),
                }))
            }
            // SQLite turns overflow into floats and division by zero into
            // NULL: checked functions registered by the SQLite backend
            // raise PostgreSQL's errors instead.
            Dialect::Sqlite => {
                let name = match (op, ty) {
                    (BinaryOp::Add, Ty::Float) => "rampart_fadd",
                    (BinaryOp::Sub, Ty::Float) => "rampart_fsub",
                    (BinaryOp::Mul, Ty::Float) => "rampart_fmul",
                    (BinaryOp::Div, Ty::Float) => "rampart_fdiv",
                    (BinaryOp::Add, _) => "rampart_add",
                    (BinaryOp::Sub, _) => "rampart_sub",
                    (BinaryOp::Mul, _) => "rampart_mul",
                    (BinaryOp::Div, _) => "rampart_div",
                    _ => "rampart_mod",
                };
                function(name, vec![left, right])
            }
        }
    }

    fn in_set(
        &self,
        x: &TExpr,
        set: &TExpr,
        negated: bool,
        scope: &Scope,
    ) -> Result<sql::Expr, EmitError> {
        let x_sql = nested(self.expr(x, scope)?);
        match &set.kind {
            TExprKind::Literal(Value::TextSet(items)) => {
                let list: Result<Vec<_>, _> = items.iter().map(|s| text_literal(s)).collect();
                Ok(in_list_or_false(x_sql, list?, negated))
            }
            TExprKind::Literal(Value::IntSet(items)) => {
                let list = items.iter().map(|i| int_literal(*i)).collect();
                Ok(in_list_or_false(x_sql, list, negated))
            }
            TExprKind::Literal(Value::Null) => Ok(value_expr(sql::Value::Null)),
            _ if self.dialect == Dialect::Postgres => {
                // `= ANY(SELECT …)` (with any number of parentheses) would
                // compare with the rows of the subquery, not the elements of
                // the array it yields: a cast to the set's own type (free)
                // makes a subquery operand an expression. (Inside a context
                // subquery the setting is read bare, already cast.)
                let array_type = if set.ty == Ty::IntSet {
                    "bigint[]"
                } else {
                    "text[]"
                };
                let array = match self.expr(set, scope)? {
                    subquery @ sql::Expr::Subquery(_) => cast(
                        subquery,
                        DataType::Custom(ObjectName::from(vec![Ident::new(array_type)]), vec![]),
                    ),
                    array => array,
                };
                let any = sql::Expr::AnyOp {
                    left: Box::new(x_sql),
                    compare_op: BinaryOperator::Eq,
                    right: Box::new(array),
                    is_some: false,
                };
                Ok(if negated {
                    sql::Expr::UnaryOp {
                        op: UnaryOperator::Not,
                        expr: Box::new(sql::Expr::Nested(Box::new(any))),
                    }
                } else {
                    sql::Expr::Nested(Box::new(any))
                })
            }
            _ => Err(EmitError::Unsupported(
                "membership in a set that is not known at rewrite time".into(),
            )),
        }
    }

    fn like(
        &self,
        x: &TExpr,
        pattern: &TExpr,
        negated: bool,
        scope: &Scope,
    ) -> Result<sql::Expr, EmitError> {
        let x = nested(self.expr(x, scope)?);
        let p = nested(self.expr(pattern, scope)?);
        Ok(match self.dialect {
            Dialect::Postgres => sql::Expr::Nested(Box::new(sql::Expr::Like {
                negated,
                any: false,
                expr: Box::new(x),
                pattern: Box::new(p),
                escape_char: None,
            })),
            // SQLite's LIKE folds ASCII case and has no default escape:
            // a registered function matches as PostgreSQL does.
            Dialect::Sqlite => {
                let call = function("rampart_like", vec![x, p]);
                if negated {
                    sql::Expr::UnaryOp {
                        op: UnaryOperator::Not,
                        expr: Box::new(call),
                    }
                } else {
                    call
                }
            }
        })
    }

    fn call(&self, func: Func, args: &[TExpr], scope: &Scope) -> Result<sql::Expr, EmitError> {
        let mut sql_args = Vec::with_capacity(args.len());
        for a in args {
            sql_args.push(self.expr(a, scope)?);
        }
        Ok(match (func, self.dialect) {
            // `starts_with` is PostgreSQL 11+; SQLite compares the prefix.
            (Func::StartsWith, Dialect::Sqlite) => function("rampart_starts_with", sql_args),
            // PostgreSQL's `length` counts characters, as does SQLite's on text.
            _ => function(func.name(), sql_args),
        })
    }

    /// `EXISTS (SELECT 1 FROM t AS e1 WHERE cond AND <t's SELECT policy>)`.
    fn exists(&self, table: usize, cond: &TExpr, scope: &Scope) -> Result<sql::Expr, EmitError> {
        let t = self
            .set
            .tables
            .get(table)
            .ok_or(EmitError::Internal("`exists` table out of range"))?;
        let n = self.next_alias.get() + 1;
        self.next_alias.set(n);
        let alias = format!("rampart_e{n}");
        let mut inner_scope = scope.clone();
        inner_scope.exists.push((table, alias.clone()));
        let cond_sql = self.expr(cond, &inner_scope)?;
        // The table `exists` reads is seen through its own SELECT policies.
        let selection = if self.inline_exists_policies {
            let policy = combine(self.set, table, Command::Select, Clause::Using);
            let policy = specialise(&policy.expr, self.known).map_err(EmitError::Eval)?;
            let policy_scope = Scope::new(table, vec![alias.clone()]);
            let policy_sql = self.expr(&policy, &policy_scope)?;
            sql::Expr::BinaryOp {
                left: Box::new(nested(cond_sql)),
                op: BinaryOperator::And,
                right: Box::new(nested(policy_sql)),
            }
        } else {
            cond_sql
        };
        Ok(sql::Expr::Exists {
            subquery: Box::new(super::template::select_one_from(
                &t.name, &alias, selection,
            )?),
            negated: false,
        })
    }
}

/// `x = a OR x = b …`, negated as a whole when `negated`.
fn in_list_as_or(x: &TExpr, items: &[TExpr], negated: bool, whole: &TExpr) -> TExpr {
    let eq = |item: &TExpr| TExpr {
        kind: TExprKind::Binary(BinaryOp::Eq, Box::new(x.clone()), Box::new(item.clone())),
        ty: Ty::Bool,
        span: whole.span,
    };
    let mut chain: Option<TExpr> = None;
    for item in items {
        chain = Some(match chain {
            None => eq(item),
            Some(acc) => crate::policy::combine::or(acc, eq(item)),
        });
    }
    let chain = chain.unwrap_or_else(|| crate::policy::combine::boolean(false));
    if negated {
        crate::policy::combine::not(chain)
    } else {
        chain
    }
}

/// SQLite evaluates both operands of `AND` / `OR` on column values, so an
/// operand that can fail must be guarded to stop where PostgreSQL stops:
/// `CASE WHEN l = 0 THEN 0 ELSE (l AND r) END` (and `= 1 … 1` for `OR`).
fn short_circuit(op: BinaryOp, left: sql::Expr, right: sql::Expr) -> sql::Expr {
    let (decided, sql_op) = match op {
        BinaryOp::And => (0, BinaryOperator::And),
        _ => (1, BinaryOperator::Or),
    };
    let test = sql::Expr::BinaryOp {
        left: Box::new(left.clone()),
        op: BinaryOperator::Eq,
        right: Box::new(int_literal(decided)),
    };
    let whole = sql::Expr::Nested(Box::new(sql::Expr::BinaryOp {
        left: Box::new(left),
        op: sql_op,
        right: Box::new(right),
    }));
    sql::Expr::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![sql::CaseWhen {
            condition: test,
            result: int_literal(decided),
        }],
        else_result: Some(Box::new(whole)),
    }
}

fn in_list_or_false(x: sql::Expr, list: Vec<sql::Expr>, negated: bool) -> sql::Expr {
    if list.is_empty() {
        // `x = ANY('{}')` is false even for a null `x`.
        return bool_literal(negated);
    }
    in_list(x, list, negated)
}

/// `(x [NOT] IN (a, b, …))`
fn in_list(x: sql::Expr, list: Vec<sql::Expr>, negated: bool) -> sql::Expr {
    sql::Expr::Nested(Box::new(sql::Expr::In {
        expr: Box::new(x),
        target: sql::InTarget::List(list),
        negated,
        global: false,
    }))
}

/// An operand of `AND` / `OR` without parentheses it does not need: a
/// comparison binds tighter than both in PostgreSQL and SQLite, and a chain
/// of one of them means the same however it is grouped (both evaluate the
/// operands left to right). Shorter text for the database to parse and for
/// the rewriter to print.
fn logic_operand(operand: sql::Expr, op: &BinaryOperator) -> sql::Expr {
    match operand {
        sql::Expr::Nested(inner)
            if matches!(
                &*inner,
                sql::Expr::BinaryOp { op: inner_op, .. }
                    if inner_op == op || matches!(
                        inner_op,
                        BinaryOperator::Eq
                            | BinaryOperator::NotEq
                            | BinaryOperator::Lt
                            | BinaryOperator::LtEq
                            | BinaryOperator::Gt
                            | BinaryOperator::GtEq
                    )
            ) =>
        {
            *inner
        }
        other => other,
    }
}
