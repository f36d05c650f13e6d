//! The target table of a write: resolving its name, whether the statement
//! reads its columns, the policy conditions on existing rows (a guarded
//! `WHERE`) and on new rows (appended RETURNING check columns).

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{
    self as sql, BinaryOperator, CaseWhen, Expr, Ident, ObjectName, SelectItem, Visit, VisitMut,
    Visitor,
};

use crate::lang::model::{Column, TExpr, TExprKind, Value};
use crate::policy::combine::{and, conditions, Condition, OnFail, RowImage, StatementKind};
use crate::policy::specialise;
use crate::sql::emit::{column_ref, function, text_literal};
use crate::sql::{Dialect, EmitError, Scope};

use super::error::RewriteError;
use super::plain::Plain;
use super::plan::AppendedCheck;
use super::printed::KeptPredicate;
use super::query::QueryRewriter;
use super::scope::{fold, fold_declared, folds_to, names_declared, Frame};
use super::table::{is_system, resolve};
use super::tenant::KeptChecks;

/// The declared table a write statement targets, as the statement names it.
pub struct Target {
    pub index: usize,
    /// The declared name, for messages and the plan.
    pub name: String,
    /// How the statement's expressions refer to it: its alias, or its name.
    pub qualifier: Vec<String>,
    /// The reference name (alias, or the table's unqualified name), folded.
    pub reference: String,
}

impl QueryRewriter<'_> {
    /// Resolves the target of a write; system relations and undeclared
    /// tables are refused.
    pub(super) fn target(
        &self,
        name: &ObjectName,
        alias: Option<&Ident>,
    ) -> Result<Target, RewriteError> {
        let (index, qualifier, reference) = self.target_parts(name, alias)?;
        let name = self
            .set
            .tables
            .get(index)
            .map_or_else(String::new, |t| t.name.to_string());
        Ok(Target {
            index,
            name,
            qualifier,
            reference,
        })
    }

    /// [`Self::target`] without the declared name: the table's index, its
    /// qualifier and its reference name.
    pub(super) fn target_parts(
        &self,
        name: &ObjectName,
        alias: Option<&Ident>,
    ) -> Result<(usize, Vec<String>, String), RewriteError> {
        if name.0.iter().any(|part| part.as_ident().is_none()) {
            return Err(RewriteError::Unsupported {
                construct: format!("computed table name `{name}`"),
            });
        }
        // The name's parts compared as they fold, not folded into strings.
        if is_system(&name.0, self.dialect) {
            return Err(RewriteError::SystemRelation {
                name: name.to_string(),
            });
        }
        let unknown = || RewriteError::UnknownTable {
            name: name.to_string(),
        };
        let index = resolve(self.set, &name.0, self.dialect).ok_or_else(unknown)?;
        let table = self.set.tables.get(index).ok_or_else(unknown)?;
        let (qualifier, reference) = match alias {
            Some(a) => {
                let folded = fold(a, self.dialect);
                (vec![folded.clone()], folded)
            }
            None => {
                let mut q = Vec::new();
                q.extend(table.name.schema.clone());
                q.push(table.name.name.clone());
                (q, fold_declared(&table.name.name, self.dialect))
            }
        };
        // The policies' `exists` subqueries name their tables `rampart_e<n>`:
        // a target of that name would be captured inside them, its columns
        // read from the subquery's own table instead.
        if reference.starts_with("rampart_") {
            return Err(RewriteError::Unsupported {
                construct: format!(
                    "the name `{reference}` for the written table `{}` (names starting \
                     with `rampart_` are the rewriter's own)",
                    table.name
                ),
            });
        }
        Ok((index, qualifier, reference))
    }

    /// Rewrites the user's own clauses of a write (other tables get their
    /// SELECT policies, functions are checked) before any policy is added.
    pub(super) fn rewrite_clause<T: VisitMut + Plain>(
        &mut self,
        clause: &mut T,
    ) -> Result<(), RewriteError> {
        if !self.walk_all && clause.is_plain(self.dialect) {
            // Nothing for the walk to change or refuse (`plain.rs`).
            return Ok(());
        }
        self.frames.push(Frame::statement(self.write_with.clone()));
        let flow = clause.visit(self);
        self.frames.pop();
        match flow {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(e) => Err(e),
        }
    }

    /// The conditions of `kind` that hide existing rows, AND-ed, specialised
    /// and emitted over the target; `None` when they fold to true. Made once
    /// per tenant.
    pub(super) fn hiding_predicate(
        &mut self,
        target: &Target,
        kind: StatementKind,
        reads: bool,
    ) -> Result<Option<KeptPredicate>, RewriteError> {
        self.policy_cache
            .hiding((target.index, kind, reads), &target.qualifier, || {
                self.make_hiding_predicate(target, kind, reads)
            })
    }

    pub(super) fn make_hiding_predicate(
        &self,
        target: &Target,
        kind: StatementKind,
        reads: bool,
    ) -> Result<Option<Expr>, RewriteError> {
        // A condition whose conjuncts, as specialised SQL, are all among
        // another's is implied by it (the restrictive tenant rule of `for
        // all`, met as UPDATE `using` and again as SELECT `using` for read
        // access): `p AND q` is `p` when `p` implies `q`, errors included,
        // since `q` then only reads what `p` read. The later of two equal
        // ones is left out.
        let hiding: Vec<TExpr> = conditions(self.set, target.index, kind, reads)
            .into_iter()
            .filter(|c| c.image == RowImage::Existing && c.on_fail == OnFail::Hide)
            .map(|c| c.combined.expr)
            .collect();
        let parts: Vec<Option<Vec<String>>> = hiding
            .iter()
            .map(|expr| match self.emit_condition(target, expr) {
                Ok(Some(sql)) => {
                    let mut parts = Vec::new();
                    conjuncts(&sql, &mut parts);
                    Some(parts)
                }
                _ => None,
            })
            .collect();
        let mut predicate: Option<TExpr> = None;
        for (i, expr) in hiding.into_iter().enumerate() {
            if implied(&parts, i) {
                continue;
            }
            predicate = Some(match predicate {
                None => expr,
                Some(acc) => and(acc, expr),
            });
        }
        match predicate {
            None => Ok(None),
            Some(p) => self.emit_condition(target, &p),
        }
    }

    /// One RETURNING check column per condition of `kind` on `image` that
    /// raises 42501, numbered from `first_index` among the RETURNING items.
    /// Made once per tenant.
    pub(super) fn check_columns(
        &self,
        target: &Target,
        kind: StatementKind,
        reads: bool,
        image: RowImage,
        first_index: usize,
    ) -> Result<(Arc<KeptChecks>, Vec<AppendedCheck>), RewriteError> {
        let key = (target.index, kind, reads, image);
        let kept = self.policy_cache.checks(key, &target.qualifier, || {
            self.make_check_columns(target, kind, reads, image)
        })?;
        let mut checks = kept.plan.clone();
        for check in &mut checks {
            check.column_index += first_index;
        }
        Ok((kept, checks))
    }

    fn make_check_columns(
        &self,
        target: &Target,
        kind: StatementKind,
        reads: bool,
        image: RowImage,
    ) -> Result<(Vec<SelectItem>, Vec<AppendedCheck>), RewriteError> {
        let mut emitted = Vec::new();
        for condition in conditions(self.set, target.index, kind, reads) {
            if condition.image != image || condition.on_fail != OnFail::Error {
                continue;
            }
            if let Some(expr) = self.emit_condition(target, &condition.combined.expr)? {
                let mut parts = Vec::new();
                conjuncts(&expr, &mut parts);
                emitted.push((condition, expr, Some(parts)));
            }
        }
        // A check implied by another (the SELECT `using` on the updated row,
        // `tenant_id = 't'`, within the UPDATE `check`) is left out: both
        // fail with the same 42501, and PostgreSQL stops at the first.
        let parts: Vec<Option<Vec<String>>> = emitted
            .iter_mut()
            .map(|(_, _, parts)| parts.take())
            .collect();
        let mut items = Vec::new();
        let mut checks = Vec::new();
        for (i, (condition, expr, _)) in emitted.into_iter().enumerate() {
            if implied(&parts, i) {
                continue;
            }
            let alias = format!("rampart_check_{}", checks.len());
            let description = describe(&condition, &target.name);
            let expr = match self.dialect {
                // SQLite: `rampart_check` raises a failing row's violation
                // inside the statement, which SQLite then undoes by itself.
                Dialect::Sqlite => {
                    let text = |s: &str| {
                        text_literal(s).map_err(|source| RewriteError::Emit {
                            table: target.name.clone(),
                            source,
                        })
                    };
                    function(
                        "rampart_check",
                        vec![expr, text(&target.name)?, text(&description)?],
                    )
                }
                Dialect::Postgres => expr,
            };
            items.push(SelectItem::ExprWithAlias {
                expr,
                alias: Ident::new(alias.clone()),
            });
            checks.push(AppendedCheck {
                column_index: checks.len(),
                alias,
                policy_description: description,
            });
        }
        Ok((items, checks))
    }

    /// Every declared column of the target, as RETURNING items
    /// `"t"."col" AS "rampart_row_<i>"`, and the columns' names.
    pub(super) fn image_items(
        &self,
        target: &Target,
    ) -> Result<(Vec<SelectItem>, Vec<String>), RewriteError> {
        let table = self
            .set
            .tables
            .get(target.index)
            .ok_or_else(|| RewriteError::Unsupported {
                construct: "a target out of range".into(),
            })?;
        let mut items = Vec::with_capacity(table.columns.len());
        let mut names = Vec::with_capacity(table.columns.len());
        for (i, column) in table.columns.iter().enumerate() {
            items.push(SelectItem::ExprWithAlias {
                expr: column_ref(&target.qualifier, &column.name),
                alias: Ident::new(format!("rampart_row_{i}")),
            });
            names.push(column.name.clone());
        }
        Ok((items, names))
    }

    /// A condition specialised and emitted over the target; `None` when it is
    /// the constant true.
    pub(super) fn emit_condition(
        &self,
        target: &Target,
        condition: &TExpr,
    ) -> Result<Option<Expr>, RewriteError> {
        let emit_error = |source: EmitError| RewriteError::Emit {
            table: target.name.clone(),
            source,
        };
        let special =
            specialise(condition, self.known).map_err(|e| emit_error(EmitError::Eval(e)))?;
        if special.kind == TExprKind::Literal(Value::Bool(true)) {
            return Ok(None);
        }
        let scope = Scope::new(target.index, target.qualifier.clone());
        self.emitter
            .expr(&special, &scope)
            .map(Some)
            .map_err(emit_error)
    }
}

/// `UPDATE check on the updated row of "orders"`.
fn describe(condition: &Condition, table: &str) -> String {
    let clause = match condition.clause {
        crate::policy::combine::Clause::Using => "using",
        crate::policy::combine::Clause::Check => "check",
    };
    let image = match condition.image {
        RowImage::Existing => "existing",
        RowImage::Inserted => "inserted",
        RowImage::Updated => "updated",
    };
    format!(
        "{} {clause} on the {image} row of `{table}`",
        condition.command.keyword().to_uppercase()
    )
}

/// Whether condition `i`, as the top-level conjuncts of its SQL (`None`
/// when unknown), is implied by another: each of its conjuncts is one of
/// the other's, which has more, or as many and comes first.
fn implied(parts: &[Option<Vec<String>>], i: usize) -> bool {
    let Some(Some(mine)) = parts.get(i) else {
        return false;
    };
    parts.iter().enumerate().any(|(j, theirs)| {
        theirs.as_ref().is_some_and(|theirs| {
            j != i
                && mine.iter().all(|p| theirs.contains(p))
                && (j < i || theirs.iter().any(|p| !mine.contains(p)))
        })
    })
}

/// The top-level `AND` operands of `expr` (through parentheses), as SQL.
fn conjuncts(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner) => conjuncts(inner, out),
        other => out.push(other.to_string()),
    }
}

/// `policy AND (CASE WHEN policy THEN (user) END)`: the user's condition only
/// ever runs on rows the policy admits, whatever order the database
/// evaluates the two sides in (PostgreSQL sorts quals by cost; SQLite
/// evaluates both sides of `AND`).
pub(super) fn guarded_where(policy: Option<KeptPredicate>, user: Option<Expr>) -> Option<Expr> {
    match (policy, user) {
        (None, user) => user,
        (Some(policy), None) => Some(policy.bare()),
        (Some(policy), Some(user)) => {
            let guard = Expr::Case {
                case_token: sql::helpers::attached_token::AttachedToken::empty(),
                end_token: sql::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![CaseWhen {
                    condition: policy.bare(),
                    result: Expr::Nested(Box::new(user)),
                }],
                else_result: None,
            };
            Some(Expr::BinaryOp {
                left: Box::new(policy.nested()),
                op: BinaryOperator::And,
                right: Box::new(guard),
            })
        }
    }
}

/// Whether `clause` can read a column of the target: an unqualified name
/// that is one of its columns, or a name qualified by its reference name.
/// Over-approximates (a same-named column of another table counts), which
/// only ever applies the SELECT policies where PostgreSQL might not.
pub fn names_target_column<T: Visit + ?Sized>(
    clause: &T,
    columns: &[Column],
    target: &Target,
    dialect: crate::sql::Dialect,
) -> bool {
    struct Finder<'a> {
        columns: &'a [Column],
        reference: &'a str,
        dialect: crate::sql::Dialect,
    }
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            let hit = match expr {
                Expr::Identifier(i) => self
                    .columns
                    .iter()
                    .any(|c| names_declared(i, &c.name, self.dialect)),
                Expr::CompoundIdentifier(parts) => parts
                    .iter()
                    .rev()
                    .nth(1)
                    .is_some_and(|q| folds_to(q, self.reference, self.dialect)),
                _ => false,
            };
            if hit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let mut finder = Finder {
        columns,
        reference: &target.reference,
        dialect,
    };
    clause.visit(&mut finder).is_break()
}
