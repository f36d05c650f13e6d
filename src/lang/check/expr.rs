//! Typing expressions: one method per form, resolving columns, context fields,
//! functions and `exists` tables (operators are typed in `operators.rs`).

use super::declare::resolve_table;
use super::suggest::{closest, did_you_mean};
use crate::lang::ast::{ContextKind, Expr, ExprKind, Ident, Literal, Span, TableName};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{ContextField, Func, PolicySet, TExpr, TExprKind, Ty, Value};

/// A typed expression, or `None` when an error was already reported for it
/// (so that one mistake is not reported again by everything around it).
pub type Typed = Option<TExpr>;

/// Where an expression stands, which decides what it may read.
#[derive(Clone, Copy, Debug)]
pub enum Place {
    /// `using` / `check` of a policy on this table (`None`: the table is unknown).
    Policy { table: Option<usize> },
    /// A column's preset: context fields and literals only.
    Preset,
    /// A quota rule's `when`: `tenant` fields and literals only.
    Quota,
}

/// A table named by an enclosing `exists`, under its alias (or its own name).
struct Binding {
    name: String,
    /// `None` when the table is unknown (already reported).
    table: Option<usize>,
}

pub struct ExprChecker<'a> {
    pub(super) set: &'a PolicySet,
    pub(super) diags: &'a mut Vec<Diagnostic>,
    place: Place,
    /// Enclosing `exists`, outermost first.
    bindings: Vec<Binding>,
}

impl<'a> ExprChecker<'a> {
    pub fn new(set: &'a PolicySet, diags: &'a mut Vec<Diagnostic>, place: Place) -> Self {
        ExprChecker {
            set,
            diags,
            place,
            bindings: Vec::new(),
        }
    }

    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) -> Typed {
        self.diags.push(Diagnostic::error(span, message));
        None
    }

    /// Types a `using`, `check` or `when`: it must be `bool`.
    pub fn condition(&mut self, expr: &Expr, clause: &str) -> Typed {
        let typed = self.expr(expr)?;
        self.expect(typed, Ty::Bool, &format!("`{clause}`"))
    }

    /// `expr` as a `want` (a bare `null` takes that type), or an error saying
    /// that `what` must be one.
    pub(super) fn expect(&mut self, expr: TExpr, want: Ty, what: &str) -> Typed {
        match retype_null(expr, want) {
            Ok(e) => Some(e),
            Err(e) => self.error(e.span, format!("{what} must be `{want}`, found `{}`", e.ty)),
        }
    }

    pub fn expr(&mut self, expr: &Expr) -> Typed {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Literal(literal) => Some(self::literal(literal, span)),
            ExprKind::Column(name) => self.column(name, span),
            ExprKind::Context(kind, name) => self.context(*kind, name, span),
            ExprKind::Qualified(qualifier, column) => self.qualified(qualifier, column, span),
            ExprKind::Unary(op, operand) => self.unary(*op, operand, span),
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, span),
            ExprKind::In { expr, set, negated } => self.membership(expr, set, *negated, span),
            ExprKind::IsNull { expr, negated } => self.is_null(expr, *negated, span),
            ExprKind::Like {
                expr,
                pattern,
                negated,
            } => self.like(expr, pattern, *negated, span),
            ExprKind::Call { func, args } => self.call(func, args, span),
            ExprKind::Exists { table, alias, cond } => {
                self.exists(table, alias.as_ref(), cond, span)
            }
        }
    }

    fn column(&mut self, name: &Ident, span: Span) -> Typed {
        let table = match self.place {
            Place::Policy { table: Some(table) } => table,
            Place::Policy { table: None } => return None,
            Place::Preset | Place::Quota => {
                let what = self.place_reads();
                return self.error(span, format!("{what}, not column `{}`", name.name));
            }
        };
        let t = self.set.tables.get(table)?;
        if let Some((index, column)) = t.column(&name.name) {
            return Some(TExpr {
                kind: TExprKind::Column(index),
                ty: column.ty.ty,
                span,
            });
        }
        // A column of an enclosing `exists` table, written without its alias?
        let set = self.set;
        let qualified = self
            .bindings
            .iter()
            .rev()
            .find(|b| {
                b.table
                    .and_then(|i| set.tables.get(i))
                    .is_some_and(|t| t.column(&name.name).is_some())
            })
            .map(|b| format!("{}.{}", b.name, name.name));
        let suggestion = qualified.or_else(|| {
            closest(&name.name, t.columns.iter().map(|c| c.name.as_str())).map(str::to_string)
        });
        self.error(
            span,
            format!(
                "unknown column `{}` in table `{}`{}",
                name.name,
                t.name,
                did_you_mean(suggestion.as_deref())
            ),
        )
    }

    /// What the current place may read, as the start of an error message.
    fn place_reads(&self) -> &'static str {
        match self.place {
            Place::Preset => "a preset may read only context fields and literals",
            Place::Quota => "a quota condition may read only `tenant` fields and literals",
            Place::Policy { .. } => {
                "a policy may read its table's columns, context fields and literals"
            }
        }
    }

    fn context(&mut self, kind: ContextKind, name: &Ident, span: Span) -> Typed {
        let path = format!("{}.{}", kind.keyword(), name.name);
        if matches!(self.place, Place::Quota) && kind == ContextKind::Request {
            let what = self.place_reads();
            self.diags.push(
                Diagnostic::error(span, format!("{what}, not `{path}`"))
                    .with_note("help: a tenant's tier is chosen once per tenant, not per request"),
            );
            return None;
        }
        let Some((index, field)) = self.set.context_field(kind, &name.name) else {
            let paths: Vec<String> = self.set.context.iter().map(ContextField::path).collect();
            // The same name in the other block first, then a likely typo.
            let suggestion = self
                .set
                .context
                .iter()
                .zip(&paths)
                .find(|(f, _)| f.name == name.name)
                .map(|(_, p)| p.as_str())
                .or_else(|| closest(&path, paths.iter().map(String::as_str)));
            return self.error(
                span,
                format!("unknown context field `{path}`{}", did_you_mean(suggestion)),
            );
        };
        Some(TExpr {
            kind: TExprKind::Context(index),
            ty: field.ty.ty,
            span,
        })
    }

    /// `m.org_id`: a column of the table an enclosing `exists` names.
    fn qualified(&mut self, qualifier: &Ident, column: &Ident, span: Span) -> Typed {
        if !matches!(self.place, Place::Policy { .. }) {
            let what = self.place_reads();
            return self.error(
                span,
                format!("{what}, not column `{}.{}`", qualifier.name, column.name),
            );
        }
        let found = self
            .bindings
            .iter()
            .enumerate()
            .rev()
            .find(|(_, b)| b.name == qualifier.name)
            .map(|(level, b)| (level, b.table));
        let Some((level, table)) = found else {
            return self.unknown_qualifier(qualifier, column);
        };
        let t = self.set.tables.get(table?)?;
        match t.column(&column.name) {
            Some((index, c)) => Some(TExpr {
                kind: TExprKind::ExistsColumn {
                    level,
                    column: index,
                },
                ty: c.ty.ty,
                span,
            }),
            None => {
                let suggestion = closest(&column.name, t.columns.iter().map(|c| c.name.as_str()));
                self.error(
                    column.span,
                    format!(
                        "unknown column `{}` in table `{}`{}",
                        column.name,
                        t.name,
                        did_you_mean(suggestion)
                    ),
                )
            }
        }
    }

    fn unknown_qualifier(&mut self, qualifier: &Ident, column: &Ident) -> Typed {
        let suggestion = closest(
            &qualifier.name,
            self.bindings.iter().map(|b| b.name.as_str()),
        );
        let mut diagnostic = Diagnostic::error(
            qualifier.span,
            format!(
                "unknown table or alias `{}`{}",
                qualifier.name,
                did_you_mean(suggestion)
            ),
        );
        let own = match self.place {
            Place::Policy { table: Some(t) } => self.set.tables.get(t),
            _ => None,
        };
        let set = self.set;
        let aliased = self.bindings.iter().rev().find(|b| {
            b.table
                .and_then(|i| set.tables.get(i))
                .is_some_and(|t| t.name.name == qualifier.name)
        });
        if let Some(binding) = aliased {
            diagnostic = diagnostic.with_note(format!(
                "help: the `exists` calls table `{}` `{}`: write `{}.{}`",
                qualifier.name, binding.name, binding.name, column.name
            ));
        } else if own.is_some_and(|t| t.name.name == qualifier.name) {
            diagnostic = diagnostic.with_note(format!(
                "help: columns of the policy's own table are written without a prefix: `{}`",
                column.name
            ));
        } else if self.bindings.is_empty() {
            diagnostic = diagnostic
                .with_note("help: `name.column` reads a table named by an enclosing `exists`");
        }
        self.diags.push(diagnostic);
        None
    }

    fn call(&mut self, func: &Ident, args: &[Expr], span: Span) -> Typed {
        let typed: Vec<Typed> = args.iter().map(|a| self.expr(a)).collect();
        let Some(f) = Func::from_name(&func.name) else {
            let suggestion = closest(&func.name, Func::ALL.iter().map(|f| f.name()));
            self.diags.push(
                Diagnostic::error(
                    func.span,
                    format!(
                        "unknown function `{}`{}",
                        func.name,
                        did_you_mean(suggestion)
                    ),
                )
                .with_note("help: the functions are `lower`, `upper`, `length` and `starts_with`"),
            );
            return None;
        };
        let (params, result): (&[Ty], Ty) = match f {
            Func::Lower | Func::Upper => (&[Ty::Text], Ty::Text),
            Func::Length => (&[Ty::Text], Ty::Int),
            Func::StartsWith => (&[Ty::Text, Ty::Text], Ty::Bool),
        };
        if args.len() != params.len() {
            let plural = if params.len() == 1 { "" } else { "s" };
            return self.error(
                span,
                format!(
                    "`{}` takes {} argument{plural}, found {}",
                    f.name(),
                    params.len(),
                    args.len()
                ),
            );
        }
        let mut checked = Vec::new();
        for (i, (arg, want)) in typed.into_iter().zip(params).enumerate() {
            let what = format!("argument {} of `{}`", i + 1, f.name());
            checked.push(arg.and_then(|a| self.expect(a, *want, &what)));
        }
        let args = checked.into_iter().collect::<Option<Vec<_>>>()?;
        Some(TExpr {
            kind: TExprKind::Call(f, args),
            ty: result,
            span,
        })
    }

    fn exists(
        &mut self,
        table: &TableName,
        alias: Option<&Ident>,
        cond: &Expr,
        span: Span,
    ) -> Typed {
        if !matches!(self.place, Place::Policy { .. }) {
            let what = self.place_reads();
            return self.error(span, format!("{what}: `exists` is not allowed here"));
        }
        let resolved = match resolve_table(self.set, table) {
            Ok(index) => Some(index),
            Err(diagnostic) => {
                self.diags.push(diagnostic);
                None
            }
        };
        let name = alias.map_or_else(|| table.name.name.clone(), |a| a.name.clone());
        self.bindings.push(Binding {
            name: name.clone(),
            table: resolved,
        });
        let cond = self
            .expr(cond)
            .and_then(|c| self.expect(c, Ty::Bool, "the condition of `exists`"));
        self.bindings.pop();
        Some(TExpr {
            kind: TExprKind::Exists {
                table: resolved?,
                alias: name,
                cond: Box::new(cond?),
            },
            ty: Ty::Bool,
            span,
        })
    }
}

fn literal(literal: &Literal, span: Span) -> TExpr {
    let (value, ty) = match literal {
        Literal::Null => (Value::Null, Ty::Null),
        Literal::Bool(b) => (Value::Bool(*b), Ty::Bool),
        Literal::Int(i) => (Value::Int(*i), Ty::Int),
        Literal::Float(x) => (Value::Float(*x), Ty::Float),
        Literal::Text(s) => (Value::Text(s.clone()), Ty::Text),
        Literal::Timestamp(t) => (Value::Timestamp(*t), Ty::Timestamp),
    };
    TExpr {
        kind: TExprKind::Literal(value),
        ty,
        span,
    }
}

/// `expr` as a `want`: unchanged when it is one, a bare `null` retyped, an
/// `int` converted when `want` is `float`; otherwise handed back.
pub fn coerce(expr: TExpr, want: Ty) -> Result<TExpr, TExpr> {
    if expr.ty == Ty::Int && want == Ty::Float {
        let span = expr.span;
        return Ok(TExpr {
            kind: TExprKind::IntToFloat(Box::new(expr)),
            ty: Ty::Float,
            span,
        });
    }
    retype_null(expr, want)
}

/// `expr` unchanged when it is a `want`, a bare `null` retyped to `want`;
/// otherwise handed back.
pub fn retype_null(mut expr: TExpr, want: Ty) -> Result<TExpr, TExpr> {
    if expr.ty == want {
        Ok(expr)
    } else if expr.ty == Ty::Null {
        expr.ty = want;
        Ok(expr)
    } else {
        Err(expr)
    }
}

/// Whether a typed expression can evaluate to `null` (conservatively: yes
/// when any part of it can).
pub fn may_be_null(expr: &TExpr, set: &PolicySet) -> bool {
    match &expr.kind {
        TExprKind::Literal(value) => value.is_null(),
        TExprKind::Context(index) => set.context.get(*index).is_none_or(|f| f.ty.nullable),
        TExprKind::Column(_) | TExprKind::ExistsColumn { .. } => true,
        TExprKind::IsNull { .. } | TExprKind::Exists { .. } => false,
        _ => expr
            .kind
            .children()
            .into_iter()
            .any(|child| may_be_null(child, set)),
    }
}
