//! Random write statements over a random policy set's tables (`t1`, `t2`,
//! each keyed by `id`): the generator and its expressions, conditions (with
//! subqueries over the other table) and RETURNING lists; the statements
//! themselves are in `inserts.rs` and `changes.rs`.

use rampart::lang::model::{Column, PolicySet, Table, Ty};

use crate::random_sets::{text_literal, Rng, TENANTS, TEXTS, USERS};

/// Ids the data starts with are `1..=ROWS`; new rows take ids above it.
pub const ROWS: usize = 12;

/// Whether statements may break a NOT NULL or primary key constraint.
/// PostgreSQL checks a row's policies before its constraints. The rewriter
/// does so too where it guards the rows (`sql/rewrite/proposed.rs`), but
/// where it cannot (a column left out that the policies read, whose value
/// is the database's default; an ORDER BY / LIMIT source; an UPDATE) it
/// verifies new rows after the statement, so a row breaking both is 42501
/// natively and 23502 / 23505 through a session: an open disagreement, off
/// here so that the test finds the others.
pub const VIOLATIONS: bool = false;

/// The generator: a policy set and a seeded random source.
pub struct Writes<'a> {
    pub(crate) set: &'a PolicySet,
    pub(crate) rng: Rng,
}

fn sql_ty(ty: Ty) -> &'static str {
    match ty {
        Ty::Int => "bigint",
        Ty::Float => "float8",
        Ty::Bool => "boolean",
        Ty::Timestamp => "timestamptz",
        _ => "text",
    }
}

impl<'a> Writes<'a> {
    pub fn new(set: &'a PolicySet, seed: u64) -> Self {
        Writes {
            set,
            rng: Rng::new(seed),
        }
    }

    /// One statement.
    pub fn statement(&mut self) -> String {
        match self.rng.below(24) {
            0..=2 => self.insert_values(),
            3 | 4 => self.insert_select(),
            5 | 6 => self.upsert_nothing(),
            7..=9 => self.upsert_update(),
            10..=12 => self.update(),
            13 | 14 => self.update_from(),
            15 | 16 => self.delete(),
            17 => self.delete_using(),
            18 => self.with_query(),
            19 | 20 => self.with_item_write(),
            _ => self.select_locking(),
        }
    }

    pub(crate) fn table(&mut self) -> &'a Table {
        let tables = &self.set.tables;
        &tables[self.rng.below(tables.len())]
    }

    pub(crate) fn other_columns(table: &Table) -> Vec<&Column> {
        table.columns.iter().filter(|c| c.name != "id").collect()
    }

    /// A constant of type `ty`; `null` sometimes where the column allows it.
    pub(crate) fn literal(&mut self, ty: Ty, nullable: bool) -> String {
        if (nullable && self.rng.chance(12)) || (VIOLATIONS && self.rng.chance(1)) {
            return if self.rng.chance(50) {
                "NULL".into()
            } else {
                format!("NULL::{}", sql_ty(ty))
            };
        }
        match ty {
            Ty::Int => (i64::try_from(self.rng.below(14)).unwrap() - 3).to_string(),
            Ty::Float => self
                .rng
                .pick(&["0", "1.5", "-2", "2.5", "7", "1e10"])
                .to_string(),
            Ty::Bool => self.rng.pick(&["true", "false"]).to_string(),
            Ty::Timestamp => {
                let at = self.rng.pick(&[
                    "'2026-01-01T00:00:00Z'",
                    "'2026-01-01 00:00:00.000001+00'",
                    "TIMESTAMPTZ '1970-01-01T00:00:00Z'",
                    "'1969-12-31 00:00:00+00'",
                ]);
                at.to_string()
            }
            _ => {
                let pool: &[&str] = match self.rng.below(3) {
                    0 => &TENANTS,
                    1 => &USERS,
                    _ => &TEXTS,
                };
                text_literal(pool[self.rng.below(pool.len())])
            }
        }
    }

    /// An expression of type `ty` with no column in it.
    pub(crate) fn constant_expr(&mut self, ty: Ty, nullable: bool) -> String {
        let lit = self.literal(ty, nullable);
        match (ty, self.rng.below(5)) {
            (Ty::Int, 0) => format!("{lit} + 1"),
            (Ty::Int, 1) => format!("length({})", self.literal(Ty::Text, false)),
            (Ty::Text, 0) => format!("lower({lit})"),
            (Ty::Text, 1) => format!("{lit} || {}", self.literal(Ty::Text, false)),
            (Ty::Bool, 0) => format!("NOT {lit}"),
            (Ty::Bool, 1) => format!("{} < 3", self.literal(Ty::Int, false)),
            (Ty::Float, 0) => format!("{lit} * 2"),
            (_, 2) => format!("({lit})"),
            (_, 3) => format!("CAST({lit} AS {})", sql_ty(ty)),
            _ => lit,
        }
    }

    /// A value for column `c` of a row: constant, or an expression over
    /// the row's own columns through `prefix` (`t1.`, `excluded.`).
    pub(crate) fn value_over(&mut self, c: &Column, prefix: Option<&str>, table: &Table) -> String {
        let Some(prefix) = prefix.filter(|_| self.rng.chance(55)) else {
            return self.constant_expr(c.ty.ty, c.ty.nullable);
        };
        let same: Vec<&Column> = table
            .columns
            .iter()
            .filter(|o| o.ty.ty == c.ty.ty)
            .collect();
        if same.is_empty() {
            return self.constant_expr(c.ty.ty, c.ty.nullable);
        }
        let other = same[self.rng.below(same.len())];
        let col = format!("{prefix}{}", other.name);
        if other.ty.nullable && !c.ty.nullable {
            return format!("coalesce({col}, {})", self.literal(c.ty.ty, false));
        }
        match (c.ty.ty, self.rng.below(3)) {
            (Ty::Int, 0) => format!("{col} + 1"),
            (Ty::Int, 1) => format!("{col} * -1"),
            (Ty::Text, 0) => format!("{col} || {}", self.literal(Ty::Text, false)),
            (Ty::Text, 1) => format!("upper({col})"),
            (Ty::Bool, 0) => format!("NOT {col}"),
            (Ty::Float, 0) => format!("{col} + 0.5"),
            _ => col,
        }
    }

    /// A table's name as written: sometimes quoted or `public.`-qualified.
    pub(crate) fn name(&mut self, table: &Table) -> String {
        match self.rng.below(8) {
            0 => format!("\"{}\"", table.name.name),
            1 => format!("public.{}", table.name.name),
            _ => table.name.name.clone(),
        }
    }

    /// A condition through a subquery on a table (the other one, mostly),
    /// correlated by `id` with the row `qualifier` names.
    fn subquery_atom(&mut self, qualifier: &str) -> String {
        let other = self.table();
        let name = self.name(other);
        let filter = self.where_clause(other, "q.", 60);
        match self.rng.below(4) {
            0 => format!("{qualifier}id IN (SELECT q.id FROM {name} q{filter})"),
            1 => format!("{qualifier}id NOT IN (SELECT q.id FROM {name} q{filter})"),
            2 => {
                let and = match filter.strip_prefix(" WHERE ") {
                    Some(condition) => format!(" AND ({condition})"),
                    None => String::new(),
                };
                format!("EXISTS (SELECT 1 FROM {name} q WHERE q.id = {qualifier}id{and})")
            }
            _ => format!("{qualifier}id > (SELECT count(*) FROM {name} q{filter})"),
        }
    }

    /// One condition on a column of `table`, written through `prefix`;
    /// sometimes through a subquery when `prefix` names the row.
    fn atom(&mut self, table: &Table, prefix: &str) -> String {
        if !prefix.is_empty() && self.rng.chance(12) {
            return self.subquery_atom(prefix);
        }
        let c = &table.columns[self.rng.below(table.columns.len())];
        let col = format!("{prefix}{}", c.name);
        if c.ty.nullable && self.rng.chance(20) {
            let not = if self.rng.chance(50) { " NOT" } else { "" };
            return format!("{col} IS{not} NULL");
        }
        let op = *self.rng.pick(&["=", "<>", "<", "<=", ">", ">="]);
        match (c.ty.ty, self.rng.below(4)) {
            (Ty::Bool, 0) => col,
            (Ty::Bool, 1) => format!("NOT {col}"),
            (Ty::Int, 0) => format!("{col} BETWEEN 1 AND {}", self.rng.below(12)),
            (Ty::Int | Ty::Text, 1) => {
                let items: Vec<String> = (0..1 + self.rng.below(3))
                    .map(|_| self.literal(c.ty.ty, false))
                    .collect();
                let not = if self.rng.chance(30) { " NOT" } else { "" };
                format!("{col}{not} IN ({})", items.join(", "))
            }
            (Ty::Text, 2) => {
                let pattern = self.rng.pick(&["a%", "%o%", "_%", "%'%", "%b"]);
                format!("{col} LIKE '{}'", pattern.replace('\'', "''"))
            }
            (Ty::Text, 3) => format!("length({col}) {op} {}", self.rng.below(6)),
            (ty, _) => format!("{col} {op} {}", self.literal(ty, false)),
        }
    }

    /// One to three conditions joined with AND / OR, sometimes negated.
    pub(crate) fn condition(&mut self, table: &Table, prefix: &str) -> String {
        let mut out = self.atom(table, prefix);
        for _ in 0..self.rng.below(3) {
            let op = if self.rng.chance(60) { "AND" } else { "OR" };
            let atom = self.atom(table, prefix);
            out = format!("({out}) {op} {atom}");
        }
        if self.rng.chance(15) {
            out = format!("NOT ({out})");
        }
        out
    }

    /// ` WHERE …` or nothing.
    pub(crate) fn where_clause(&mut self, table: &Table, prefix: &str, percent: usize) -> String {
        if self.rng.chance(percent) {
            format!(" WHERE {}", self.condition(table, prefix))
        } else {
            String::new()
        }
    }

    /// ` RETURNING …` or nothing.
    pub(crate) fn returning(&mut self, table: &Table, prefix: &str) -> String {
        if !self.rng.chance(40) {
            return String::new();
        }
        match self.rng.below(5) {
            0 => " RETURNING *".into(),
            1 | 2 => {
                let c = &table.columns[self.rng.below(table.columns.len())];
                format!(" RETURNING {prefix}id, {prefix}{}", c.name)
            }
            3 => format!(" RETURNING {prefix}id * 10 AS tenfold"),
            _ => {
                let other = self.table();
                let row = if prefix.is_empty() {
                    format!("{}.", table.name.name)
                } else {
                    prefix.to_string()
                };
                format!(
                    " RETURNING {prefix}id, (SELECT count(*) FROM {} q WHERE q.id <= {row}id) AS n",
                    other.name.name
                )
            }
        }
    }
}
