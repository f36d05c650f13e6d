//! Rows and context values for any checked policy set, of the declared types,
//! drawn partly from the literals and role names its policies mention so that
//! comparisons meet equal values; nulls and extremes included.

use std::collections::BTreeSet;

use arbitrary::{Result, Unstructured};

use super::{atoms, typed};
use crate::lang::model::{PolicySet, TExpr, TExprKind, Table, Ty, Value};

/// Values worth reusing: the literals of a policy set and its role names.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    texts: Vec<String>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    timestamps: Vec<i64>,
}

impl Hints {
    /// The literals of every policy of `set`, and the roles they name.
    pub fn of(set: &PolicySet) -> Hints {
        let mut hints = Hints {
            texts: typed::TEXTS.iter().map(|s| s.to_string()).collect(),
            ..Hints::default()
        };
        hints
            .texts
            .extend(typed::ROLES.iter().map(|s| s.to_string()));
        for table in &set.tables {
            for policy in &table.policies {
                hints.texts.extend(policy.roles.iter().flatten().cloned());
                for e in policy.using.iter().chain(&policy.check) {
                    hints.collect(e);
                }
            }
        }
        hints
    }

    fn collect(&mut self, e: &TExpr) {
        if let TExprKind::Literal(v) = &e.kind {
            match v {
                Value::Int(i) => self.ints.extend([*i, i.wrapping_add(1), i.wrapping_sub(1)]),
                Value::Float(x) => self.floats.push(*x),
                Value::Text(s) => self.texts.push(s.clone()),
                Value::Timestamp(t) => self.timestamps.push(*t),
                Value::TextSet(s) => self.texts.extend(s.iter().cloned()),
                Value::IntSet(s) => self.ints.extend(s.iter().copied()),
                Value::Null | Value::Bool(_) => {}
            }
        }
        for child in e.kind.children() {
            self.collect(child);
        }
    }
}

fn hint<T: Clone>(u: &mut Unstructured<'_>, hints: &[T]) -> Result<Option<T>> {
    if hints.is_empty() || u.ratio(1u8, 3)? {
        return Ok(None);
    }
    Ok(Some(u.choose(hints)?.clone()))
}

/// A value of `ty` (null sometimes, when `nullable`).
pub fn value(u: &mut Unstructured<'_>, ty: Ty, nullable: bool, hints: &Hints) -> Result<Value> {
    if nullable && u.ratio(1u8, 5)? {
        return Ok(Value::Null);
    }
    Ok(match ty {
        Ty::Null => Value::Null,
        Ty::Int => Value::Int(match hint(u, &hints.ints)? {
            Some(i) => i,
            None if u.ratio(1u8, 2)? => u.int_in_range(-3..=3)?,
            None => atoms::int(u)?,
        }),
        Ty::Float => Value::Float(match hint(u, &hints.floats)? {
            Some(x) => x,
            None if u.ratio(1u8, 2)? => f64::from(u.int_in_range(-4i8..=4)?) / 2.0,
            None => atoms::float(u)?,
        }),
        Ty::Bool => Value::Bool(u.arbitrary()?),
        Ty::Text => Value::Text(text(u, hints)?),
        Ty::Timestamp => Value::Timestamp(match hint(u, &hints.timestamps)? {
            Some(t) => t,
            None if u.ratio(1u8, 2)? => u.int_in_range(-2i64..=2)? * 1_000_000,
            None => atoms::timestamp(u)?,
        }),
        Ty::TextSet => {
            let mut set = BTreeSet::new();
            for _ in 0..u.int_in_range(0u8..=3)? {
                set.insert(text(u, hints)?);
            }
            Value::TextSet(set)
        }
        Ty::IntSet => {
            let mut set = BTreeSet::new();
            for _ in 0..u.int_in_range(0u8..=3)? {
                if let Value::Int(i) = value(u, Ty::Int, false, hints)? {
                    set.insert(i);
                }
            }
            Value::IntSet(set)
        }
    })
}

/// Text without NUL (SQL text cannot hold it).
fn text(u: &mut Unstructured<'_>, hints: &Hints) -> Result<String> {
    Ok(match hint(u, &hints.texts)? {
        Some(s) => s,
        None => atoms::text(u)?,
    }
    .replace('\0', ""))
}

/// A row of `table`: one value per column, of its declared type.
pub fn row(u: &mut Unstructured<'_>, table: &Table, hints: &Hints) -> Result<Vec<Value>> {
    table
        .columns
        .iter()
        .map(|c| value(u, c.ty.ty, c.ty.nullable, hints))
        .collect()
}

/// Values for every context field of `set`, in order.
pub fn context(u: &mut Unstructured<'_>, set: &PolicySet, hints: &Hints) -> Result<Vec<Value>> {
    set.context
        .iter()
        .map(|f| value(u, f.ty.ty, f.ty.nullable, hints))
        .collect()
}
