//! The query walk: a `VisitorMut` over one statement that tracks WITH scopes
//! and locking clauses, refuses what it does not understand, and replaces
//! each declared table reference (after its children are visited, so the
//! replacement is never walked again) with its policy-filtered subquery.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, ObjectName, Query, Select, SetExpr, TableFactor, VisitorMut,
};

use crate::lang::model::PolicySet;
use crate::policy::KnownContext;
use crate::sql::{ContextSource, Dialect, Emitter};

use super::deny::check_function;
use super::error::RewriteError;
use super::fence::Fence;
use super::lend::Lent;
use super::row_check::{Interpreted, RowCheck};
use super::scope::{fold, folds_to, Frame};
use super::tenant::PolicyCache;

/// Rewrites the table references of one statement.
pub struct QueryRewriter<'a> {
    pub(super) set: &'a PolicySet,
    pub(super) dialect: Dialect,
    pub(super) known: &'a KnownContext,
    pub(super) emitter: Emitter<'a>,
    pub(super) frames: Vec<Frame>,
    /// The policy subqueries made at each SELECT level being visited.
    pub(super) fences: Vec<Vec<Fence>>,
    /// Every policy subquery of the statement.
    pub(super) all_fences: Vec<Fence>,
    /// The policy subquery of each (table, locked) read, as made.
    pub(super) policy_cache: &'a PolicyCache,
    /// Set by a table factor; the relation name visited next is its own.
    expect_relation: bool,
    /// Whether writes append their row images (`RewriteOptions::row_images`).
    pub(super) row_images: bool,
    /// What decides INSERT rows known when rewriting.
    pub(super) row_check: &'a dyn RowCheck,
    /// The WITH items (folded) a write's own clauses see, when the write
    /// is the body of a WITH (`with_write.rs`).
    pub(super) write_with: Vec<String>,
    /// Set while rewriting a write inside a WITH item (`with_write.rs`):
    /// its output is the item's, so it may append nothing to RETURNING.
    pub(super) in_with_item: bool,
    /// Per declared table, which columns the database fills with null
    /// when an INSERT leaves them out, where a session read it
    /// ([`super::TenantRewriter::set_null_defaults`]); empty otherwise.
    pub(super) null_defaults: &'a [Option<Vec<bool>>],
    /// The kept write-target parts borrowed (fences are in `all_fences`).
    pub(super) lent: Lent,
    /// The statement's table references kept in place (`flat.rs`).
    pub(super) flat: Vec<super::flat::FlatTable>,
    /// Set while `flat.rs` judges a statement not yet rewritten: every
    /// declared table counts as a known FROM item.
    pub(super) judging_plain: bool,
    /// Set when `flat.rs` found a condition of the statement's SELECT not
    /// leakproof: the unfence pass would find the same and keep every
    /// fence, so it is not run (keeping fences is always safe).
    pub(super) leaky: bool,
    /// Walk plain clauses too (`plain.rs`); set by tests.
    pub(super) walk_all: bool,
}

impl<'a> QueryRewriter<'a> {
    pub fn new(
        set: &'a PolicySet,
        dialect: Dialect,
        known: &'a KnownContext,
        policy_cache: &'a PolicyCache,
    ) -> Self {
        QueryRewriter {
            set,
            dialect,
            known,
            emitter: Emitter::new(set, dialect, ContextSource::Literals, known),
            frames: Vec::new(),
            fences: Vec::new(),
            all_fences: Vec::new(),
            policy_cache,
            write_with: Vec::new(),
            in_with_item: false,
            null_defaults: &[],
            expect_relation: false,
            row_images: false,
            row_check: &Interpreted,
            lent: Lent::default(),
            flat: Vec::new(),
            judging_plain: false,
            leaky: false,
            walk_all: false,
        }
    }
}

fn unsupported(construct: impl Into<String>) -> ControlFlow<RewriteError> {
    ControlFlow::Break(RewriteError::Unsupported {
        construct: construct.into(),
    })
}

fn into_flow(result: Result<(), RewriteError>) -> ControlFlow<RewriteError> {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    }
}

/// Refuses query bodies that are statements in disguise (`WITH x AS (DELETE
/// …)` below the top level, where PostgreSQL refuses it too; those at the
/// top are taken out before the walk, `with_write.rs`) or shapes not
/// rewritten yet.
fn check_set_expr(body: &SetExpr) -> Result<(), RewriteError> {
    let construct = match body {
        SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => return Ok(()),
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            return check_set_expr(right);
        }
        SetExpr::Insert(_) => {
            "INSERT inside a query (a write may only be a WITH item at the top level)"
        }
        SetExpr::Update(_) => {
            "UPDATE inside a query (a write may only be a WITH item at the top level)"
        }
        SetExpr::Delete(_) => {
            "DELETE inside a query (a write may only be a WITH item at the top level)"
        }
        SetExpr::Merge(_) => "MERGE inside a query",
        SetExpr::Table(_) => "`TABLE name` queries",
    };
    Err(RewriteError::Unsupported {
        construct: construct.into(),
    })
}

fn check_query(query: &Query) -> Result<(), RewriteError> {
    let construct = if !query.pipe_operators.is_empty() {
        "pipe operators (`|>`)"
    } else if query.for_clause.is_some() {
        "`FOR XML` / `FOR JSON`"
    } else if query.settings.is_some() {
        "`SETTINGS`"
    } else if query.format_clause.is_some() {
        "`FORMAT`"
    } else {
        return check_set_expr(&query.body);
    };
    Err(RewriteError::Unsupported {
        construct: construct.into(),
    })
}

fn check_select(select: &Select) -> Result<(), RewriteError> {
    let construct = if select.into.is_some() {
        "`SELECT … INTO` (it creates a table)"
    } else if !select.lateral_views.is_empty() {
        "`LATERAL VIEW`"
    } else if !select.connect_by.is_empty() {
        "`CONNECT BY`"
    } else if select.prewhere.is_some() {
        "`PREWHERE`"
    } else if select.value_table_mode.is_some() {
        "`SELECT AS STRUCT` / `AS VALUE`"
    } else {
        return Ok(());
    };
    Err(RewriteError::Unsupported {
        construct: construct.into(),
    })
}

/// A table reference's modifiers that the subquery form cannot keep.
fn check_table_modifiers(factor: &TableFactor) -> Result<(), RewriteError> {
    let TableFactor::Table {
        name,
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_directives,
        inheritance,
        ..
    } = factor
    else {
        return Ok(());
    };
    let construct = if args.is_some() {
        format!("table function `{name}(…)`")
    } else if sample.is_some() {
        "`TABLESAMPLE`".into()
    } else if version.is_some() {
        "table versions (`FOR SYSTEM_TIME`, `AT`)".into()
    } else if *with_ordinality {
        "`WITH ORDINALITY`".into()
    } else if !partitions.is_empty() {
        "`PARTITION (…)`".into()
    } else if json_path.is_some() {
        "JSON paths in FROM".into()
    } else if !with_hints.is_empty() || !index_directives.is_empty() {
        "table hints (`WITH (…)`, `INDEXED BY`, `USE INDEX`)".into()
    } else if inheritance.is_some() {
        "inheritance markers (`ONLY`, `*`)".into()
    } else {
        return Ok(());
    };
    Err(RewriteError::Unsupported { construct })
}

/// PostgreSQL's system columns: no declared column can have these names,
/// and the policy subquery (`SELECT *`) does not carry them.
const SYSTEM_COLUMNS: [&str; 6] = ["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"];

/// Refuses column references the policy subquery cannot keep: system
/// columns, and names qualified by a schema (`public.orders.id`), as the
/// subquery's alias has no schema. Either would fail in the database with
/// a misleading message after the rewrite.
pub(super) fn check_column_reference(
    parts: &[Ident],
    dialect: Dialect,
) -> Result<(), RewriteError> {
    let name = || {
        parts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(".")
    };
    if parts.len() > 2 {
        return Err(RewriteError::Unsupported {
            construct: format!("schema-qualified column reference `{}`", name()),
        });
    }
    let is_system = || {
        parts
            .last()
            .is_some_and(|last| SYSTEM_COLUMNS.iter().any(|s| folds_to(last, s, dialect)))
    };
    if dialect == Dialect::Postgres && is_system() {
        return Err(RewriteError::Unsupported {
            construct: format!("system column `{}`", name()),
        });
    }
    Ok(())
}

/// The SQL name of a table factor kind that is not rewritten.
fn factor_construct(factor: &TableFactor) -> String {
    let kind = match factor {
        TableFactor::TableFunction { .. } => "table function `TABLE(…)`".to_string(),
        TableFactor::Function { name, .. } => format!("table function `{name}(…)`"),
        TableFactor::UNNEST { .. } => "`UNNEST` in FROM".into(),
        TableFactor::JsonTable { .. } => "`JSON_TABLE`".into(),
        TableFactor::OpenJsonTable { .. } => "`OPENJSON`".into(),
        TableFactor::Pivot { .. } => "`PIVOT`".into(),
        TableFactor::Unpivot { .. } | TableFactor::UnpivotExpr { .. } => "`UNPIVOT`".into(),
        TableFactor::MatchRecognize { .. } => "`MATCH_RECOGNIZE`".into(),
        TableFactor::XmlTable { .. } => "`XMLTABLE`".into(),
        other => {
            let debug = format!("{other:?}");
            let variant: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
            format!("FROM item `{variant}`")
        }
    };
    kind
}

impl VisitorMut for QueryRewriter<'_> {
    type Break = RewriteError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<RewriteError> {
        if let Err(e) = check_query(query) {
            return ControlFlow::Break(e);
        }
        let frame = Frame::enter(self.frames.last_mut(), query, self.dialect);
        self.frames.push(frame);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<RewriteError> {
        if self.frames.len() == 1 && !self.all_fences.is_empty() && !self.leaky {
            // The statement's own query: everything below is rewritten.
            self.unfence(query);
        }
        self.frames.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<RewriteError> {
        self.fences.push(Vec::new());
        into_flow(check_select(select))
    }

    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<RewriteError> {
        let fences = self.fences.pop().unwrap_or_default();
        if !fences.is_empty() {
            let pushed = self.push_down(select, &fences);
            for (before, after) in pushed.lent {
                if let Some(fence) = self.all_fences.iter_mut().find(|f| f.id == before) {
                    fence.id = after;
                    fence.lent = true;
                }
            }
            self.lent.pushed.extend(pushed.moved);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<RewriteError> {
        match factor {
            TableFactor::Table { .. } => {
                if let Err(e) = check_table_modifiers(factor) {
                    return ControlFlow::Break(e);
                }
                self.expect_relation = true;
                ControlFlow::Continue(())
            }
            TableFactor::Derived { sample, alias, .. } => {
                if sample.is_some() {
                    return unsupported("`TABLESAMPLE`");
                }
                let reference = alias
                    .as_ref()
                    .map(|a| fold(&a.name, self.dialect))
                    .unwrap_or_default();
                if let Some(frame) = self.frames.last_mut() {
                    frame.derived_locked = frame.lock.reaches(&reference);
                }
                ControlFlow::Continue(())
            }
            TableFactor::NestedJoin { .. } => ControlFlow::Continue(()),
            other => unsupported(factor_construct(other)),
        }
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<RewriteError> {
        if std::mem::take(&mut self.expect_relation) {
            ControlFlow::Continue(())
        } else {
            unsupported(format!("table reference `{relation}` outside FROM"))
        }
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<RewriteError> {
        if matches!(factor, TableFactor::Table { .. }) && !self.is_flat(factor) {
            return into_flow(self.rewrite_table_reference(factor));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<RewriteError> {
        match expr {
            Expr::Function(call) => into_flow(check_function(call, self.dialect)),
            // `OPERATOR(schema.op)` and operators sqlparser does not know
            // call functions the database defines: refused like them.
            Expr::BinaryOp {
                op: BinaryOperator::Custom(_) | BinaryOperator::PGCustomBinaryOperator(_),
                ..
            } => unsupported(format!(
                "the operator in `{expr}` (only built-in operators may be used)"
            )),
            Expr::Identifier(ident) => into_flow(check_column_reference(
                std::slice::from_ref(ident),
                self.dialect,
            )),
            Expr::CompoundIdentifier(parts) => {
                into_flow(check_column_reference(parts, self.dialect))
            }
            _ => ControlFlow::Continue(()),
        }
    }
}
