//! Name scopes of a query being rewritten: which WITH items a table name can
//! mean at each level (SQL's scoping of CTEs), how names fold per dialect,
//! and which tables a `FOR UPDATE / FOR SHARE` reaches.

use sqlparser::ast::{Ident, LockClause, ObjectName, ObjectNamePart, Query};

use crate::sql::Dialect;

/// An identifier as the database compares it: PostgreSQL folds unquoted
/// names to lower case (ASCII only, as it does in UTF-8) and keeps quoted
/// ones; SQLite compares every identifier without regard to ASCII case.
pub fn fold(ident: &Ident, dialect: Dialect) -> String {
    match (dialect, ident.quote_style) {
        (Dialect::Postgres, Some(_)) => ident.value.clone(),
        _ => ident.value.to_ascii_lowercase(),
    }
}

/// A declared name as the database compares it with a folded identifier.
pub fn fold_declared(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => name.to_string(),
        Dialect::Sqlite => name.to_ascii_lowercase(),
    }
}

/// Whether `ident` folds to `folded` (a name already folded): `fold(ident)
/// == folded`, without making the folded string.
pub fn folds_to(ident: &Ident, folded: &str, dialect: Dialect) -> bool {
    match (dialect, ident.quote_style) {
        (Dialect::Postgres, Some(_)) => ident.value == folded,
        _ => lower_eq(&ident.value, folded),
    }
}

/// Whether `ident` names the declared `name`: `fold(ident) ==
/// fold_declared(name)`, without making either string.
pub fn names_declared(ident: &Ident, name: &str, dialect: Dialect) -> bool {
    match dialect {
        Dialect::Postgres => folds_to(ident, name, dialect),
        Dialect::Sqlite => ident.value.eq_ignore_ascii_case(name),
    }
}

/// Whether a folded name is the declared `name` as the database compares
/// them: `folded == fold_declared(name)`.
pub fn is_declared(folded: &str, name: &str, dialect: Dialect) -> bool {
    match dialect {
        Dialect::Postgres => folded == name,
        Dialect::Sqlite => lower_eq(name, folded),
    }
}

/// `text.to_ascii_lowercase() == lower`.
fn lower_eq(text: &str, lower: &str) -> bool {
    text.len() == lower.len()
        && text
            .bytes()
            .zip(lower.bytes())
            .all(|(t, l)| t.to_ascii_lowercase() == l)
}

/// The identifiers of an object name, or `None` for a computed part.
pub fn idents(name: &ObjectName) -> Option<Vec<&Ident>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Some(ident),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

/// Which tables of one query level a locking clause reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockScope {
    None,
    /// `FOR UPDATE` / `FOR SHARE` without `OF`: every table of the level.
    All,
    /// `FOR UPDATE OF a, b`: the tables (or aliases) named, folded.
    Of(Vec<String>),
}

impl LockScope {
    fn from_clauses(locks: &[LockClause], dialect: Dialect) -> LockScope {
        let mut scope = LockScope::None;
        for lock in locks {
            let Some(of) = &lock.of else {
                return LockScope::All;
            };
            // `OF` names a FROM item by its (unqualified) reference name.
            let name = idents(of)
                .and_then(|parts| parts.last().map(|i| fold(i, dialect)))
                .unwrap_or_default();
            match &mut scope {
                LockScope::Of(names) => names.push(name),
                _ => scope = LockScope::Of(vec![name]),
            }
        }
        scope
    }

    /// Whether a FROM item with this reference name (unfolded) is locked.
    pub fn reaches_ident(&self, reference: &Ident, dialect: Dialect) -> bool {
        match self {
            LockScope::None => false,
            LockScope::All => true,
            LockScope::Of(names) => names.iter().any(|n| folds_to(reference, n, dialect)),
        }
    }

    /// Whether a FROM item with this reference name (folded) is locked.
    pub fn reaches(&self, reference: &str) -> bool {
        match self {
            LockScope::None => false,
            LockScope::All => true,
            LockScope::Of(names) => names.iter().any(|n| n == reference),
        }
    }
}

/// What a one-part table name means at some point of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CteMeaning {
    /// A WITH item in scope: left as it is (its own body is rewritten).
    Cte,
    /// Its own or a later item of a non-recursive WITH: PostgreSQL reads the
    /// table, SQLite the item; refused.
    Ambiguous,
    /// No WITH item: a table.
    Table,
}

/// One query level (a `Query` node) being rewritten.
#[derive(Clone, Debug)]
pub struct Frame {
    /// WITH items of enclosing levels a table name can mean here.
    inherited: Vec<String>,
    /// Names of enclosing non-recursive WITH items not yet defined here.
    inherited_ambiguous: Vec<String>,
    /// This level's own WITH items, whether the WITH is recursive, and how
    /// many of their bodies have been entered (they are visited first, in order).
    own: Vec<String>,
    recursive: bool,
    bodies_entered: usize,
    /// Which of this level's FROM items a locking clause reaches.
    pub lock: LockScope,
    /// Set on entering a FROM subquery the lock reaches, for the query inside.
    pub derived_locked: bool,
}

impl Frame {
    /// The frame of `query`, entered from `parent` (`None` at the top).
    pub fn enter(parent: Option<&mut Frame>, query: &Query, dialect: Dialect) -> Frame {
        let (own, recursive) = match &query.with {
            Some(with) => (
                with.cte_tables
                    .iter()
                    .map(|cte| fold(&cte.alias.name, dialect))
                    .collect(),
                with.recursive,
            ),
            None => (Vec::new(), false),
        };
        let mut lock = LockScope::from_clauses(&query.locks, dialect);
        let (inherited, inherited_ambiguous) = match parent {
            None => (Vec::new(), Vec::new()),
            Some(parent) => {
                if std::mem::take(&mut parent.derived_locked) {
                    // PostgreSQL applies a lock to a FROM subquery's tables too.
                    lock = LockScope::All;
                }
                parent.scope_for_child()
            }
        };
        Frame {
            inherited,
            inherited_ambiguous,
            own,
            recursive,
            bodies_entered: 0,
            lock,
            derived_locked: false,
        }
    }

    /// The names in scope for the next query entered below this one: the
    /// first `own.len()` are the WITH bodies, in order; the rest see every item.
    fn scope_for_child(&mut self) -> (Vec<String>, Vec<String>) {
        let mut visible = self.inherited.clone();
        let mut ambiguous = self.inherited_ambiguous.clone();
        let k = self.bodies_entered;
        if k < self.own.len() {
            self.bodies_entered += 1;
            if self.recursive {
                visible.extend(self.own.iter().cloned());
            } else {
                visible.extend(self.own.iter().take(k).cloned());
                ambiguous.extend(self.own.iter().skip(k).cloned());
            }
        } else {
            visible.extend(self.own.iter().cloned());
        }
        (visible, ambiguous)
    }

    /// Whether any WITH item name is in scope here (else every name is a table).
    pub fn has_with_names(&self) -> bool {
        !(self.own.is_empty() && self.inherited.is_empty() && self.inherited_ambiguous.is_empty())
    }

    /// What a one-part table name (folded) means directly in this query.
    pub fn meaning(&self, name: &str) -> CteMeaning {
        if self.own.iter().chain(&self.inherited).any(|n| n == name) {
            CteMeaning::Cte
        } else if self.inherited_ambiguous.iter().any(|n| n == name) {
            CteMeaning::Ambiguous
        } else {
            CteMeaning::Table
        }
    }
}

impl Frame {
    /// The frame of a write statement's own clauses (`USING`, `FROM`,
    /// `WHERE`, `SET`, `RETURNING`): the items of the WITH it is the body
    /// of (folded), nothing locked.
    pub fn statement(with: Vec<String>) -> Frame {
        Frame {
            inherited: with,
            inherited_ambiguous: Vec::new(),
            own: Vec::new(),
            recursive: false,
            bodies_entered: 0,
            lock: LockScope::None,
            derived_locked: false,
        }
    }
}
