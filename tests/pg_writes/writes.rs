//! Random write statements over a random policy set's tables (`t1`, `t2`,
//! each keyed by `id`): INSERT with constant and expression rows, INSERT …
//! SELECT, ON CONFLICT DO NOTHING / DO UPDATE, UPDATE (… FROM), DELETE (…
//! USING), with and without WHERE and RETURNING, and SELECT … FOR UPDATE.

use rampart::lang::model::{Column, PolicySet, Table, Ty};

use crate::random_sets::{text_literal, Rng, TENANTS, TEXTS, USERS};

/// Ids the data starts with are `1..=ROWS`; new rows take ids above it.
pub const ROWS: usize = 12;

/// Whether statements may break a NOT NULL or primary key constraint.
/// PostgreSQL checks a row's policies before its constraints, while the
/// session verifies new rows after the statement: such a statement whose
/// row also fails a policy is 42501 natively and 23502 / 23505 through a
/// session (an open disagreement, see the test's report).
const VIOLATIONS: bool = false;

/// The generator: a policy set and a seeded random source.
pub struct Writes<'a> {
    set: &'a PolicySet,
    rng: Rng,
}

fn sql_ty(ty: Ty) -> &'static str {
    match ty {
        Ty::Int => "bigint",
        Ty::Float => "float8",
        Ty::Bool => "boolean",
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
        match self.rng.below(20) {
            0..=2 => self.insert_values(),
            3 => self.insert_select(),
            4 | 5 => self.upsert_nothing(),
            6..=8 => self.upsert_update(),
            9..=11 => self.update(),
            12 | 13 => self.update_from(),
            14 | 15 => self.delete(),
            16 => self.delete_using(),
            _ => self.select_locking(),
        }
    }

    fn table(&mut self) -> &'a Table {
        let tables = &self.set.tables;
        &tables[self.rng.below(tables.len())]
    }

    fn other_columns(table: &Table) -> Vec<&Column> {
        table.columns.iter().filter(|c| c.name != "id").collect()
    }

    /// A constant of type `ty`; `null` sometimes where the column allows it.
    fn literal(&mut self, ty: Ty, nullable: bool) -> String {
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
    fn constant_expr(&mut self, ty: Ty, nullable: bool) -> String {
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
    fn value_over(&mut self, c: &Column, prefix: Option<&str>, table: &Table) -> String {
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

    /// One condition on a column of `table`, written through `prefix`.
    fn atom(&mut self, table: &Table, prefix: &str) -> String {
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
    fn condition(&mut self, table: &Table, prefix: &str) -> String {
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
    fn where_clause(&mut self, table: &Table, prefix: &str, percent: usize) -> String {
        if self.rng.chance(percent) {
            format!(" WHERE {}", self.condition(table, prefix))
        } else {
            String::new()
        }
    }

    /// ` RETURNING …` or nothing.
    fn returning(&mut self, table: &Table, prefix: &str) -> String {
        if !self.rng.chance(40) {
            return String::new();
        }
        match self.rng.below(3) {
            0 => " RETURNING *".into(),
            1 => {
                let c = &table.columns[self.rng.below(table.columns.len())];
                format!(" RETURNING {prefix}id, {prefix}{}", c.name)
            }
            _ => format!(" RETURNING {prefix}id * 10 AS tenfold"),
        }
    }

    /// The columns an INSERT names: `id`, every non-null column (rarely one
    /// left out) and some nullable ones.
    fn insert_columns(&mut self, table: &'a Table) -> Vec<&'a Column> {
        table
            .columns
            .iter()
            .filter(|c| {
                c.name == "id"
                    || if c.ty.nullable {
                        self.rng.chance(70)
                    } else {
                        !(VIOLATIONS && self.rng.chance(3))
                    }
            })
            .collect()
    }

    fn column_list(columns: &[&Column]) -> String {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }

    /// Distinct ids for `n` rows: new ones mostly, taken ones sometimes.
    fn ids(&mut self, n: usize, taken_percent: usize) -> Vec<usize> {
        let mut ids: Vec<usize> = Vec::new();
        while ids.len() < n {
            let id = if self.rng.chance(taken_percent) {
                1 + self.rng.below(ROWS)
            } else {
                100 + self.rng.below(20)
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// `(id, …), …` for `columns`, constant or expression values.
    fn rows(&mut self, columns: &[&Column], ids: &[usize]) -> String {
        let rows: Vec<String> = ids
            .iter()
            .map(|id| {
                let values: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        if c.name == "id" {
                            id.to_string()
                        } else if self.rng.chance(70) {
                            self.literal(c.ty.ty, c.ty.nullable)
                        } else {
                            self.constant_expr(c.ty.ty, c.ty.nullable)
                        }
                    })
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect();
        rows.join(", ")
    }

    fn insert_values(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let n = 1 + self.rng.below(3);
        let ids = self.ids(n, if VIOLATIONS { 8 } else { 0 });
        let rows = self.rows(&columns, &ids);
        let returning = self.returning(table, "");
        format!(
            "INSERT INTO {} ({}) VALUES {rows}{returning}",
            table.name.name,
            Self::column_list(&columns)
        )
    }

    fn insert_select(&mut self) -> String {
        let table = self.table();
        let source = self.table();
        let columns = self.insert_columns(table);
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                if c.name == "id" {
                    "s.id + 100".into()
                } else {
                    self.value_over(c, Some("s."), source)
                }
            })
            .collect();
        let filter = self.where_clause(source, "s.", 70);
        let returning = self.returning(table, "");
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {} s{filter}{returning}",
            table.name.name,
            Self::column_list(&columns),
            values.join(", "),
            source.name.name
        )
    }

    fn upsert_nothing(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let n = 1 + self.rng.below(2);
        let ids = self.ids(n, 60);
        let rows = self.rows(&columns, &ids);
        let target = if self.rng.chance(70) { " (id)" } else { "" };
        let returning = self.returning(table, "");
        format!(
            "INSERT INTO {} ({}) VALUES {rows} ON CONFLICT{target} DO NOTHING{returning}",
            table.name.name,
            Self::column_list(&columns)
        )
    }

    fn upsert_update(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let n = 1 + self.rng.below(2);
        let ids = self.ids(n, 70);
        let rows = self.rows(&columns, &ids);
        let name = &table.name.name;
        let prefix = format!("{name}.");
        let others = Self::other_columns(table);
        let mut sets = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            let c = others[self.rng.below(others.len())];
            if sets.iter().any(|(n, _)| *n == c.name) {
                continue;
            }
            let value = match self.rng.below(3) {
                0 => format!("excluded.{}", c.name),
                1 => self.value_over(c, Some(&prefix), table),
                _ => self.value_over(c, Some("excluded."), table),
            };
            sets.push((c.name.clone(), value));
        }
        let sets: Vec<String> = sets.iter().map(|(c, v)| format!("{c} = {v}")).collect();
        let filter = if self.rng.chance(40) {
            let p = if self.rng.chance(50) {
                prefix.as_str()
            } else {
                "excluded."
            };
            format!(" WHERE {}", self.condition(table, p))
        } else {
            String::new()
        };
        let returning = self.returning(table, "");
        format!(
            "INSERT INTO {name} ({}) VALUES {rows} ON CONFLICT (id) DO UPDATE SET {}{filter}{returning}",
            Self::column_list(&columns),
            sets.join(", ")
        )
    }

    /// `c = v, …` for an UPDATE of `table` (through `prefix` in values).
    fn assignments(&mut self, table: &Table, prefix: Option<&str>) -> String {
        let others = Self::other_columns(table);
        let mut names: Vec<&str> = Vec::new();
        let mut sets = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            let c = others[self.rng.below(others.len())];
            if names.contains(&c.name.as_str()) {
                continue;
            }
            names.push(&c.name);
            let value = self.value_over(c, prefix, table);
            sets.push(format!("{} = {value}", c.name));
        }
        sets.join(", ")
    }

    fn update(&mut self) -> String {
        let table = self.table();
        let name = &table.name.name;
        let (alias, prefix) = if self.rng.chance(30) {
            (" u", "u.")
        } else {
            ("", "")
        };
        let sets = self.assignments(table, Some(prefix));
        let filter = self.where_clause(table, prefix, 65);
        let returning = self.returning(table, prefix);
        format!("UPDATE {name}{alias} SET {sets}{filter}{returning}")
    }

    fn update_from(&mut self) -> String {
        let table = self.table();
        let source = self.table();
        let name = &table.name.name;
        let others = Self::other_columns(table);
        let c = others[self.rng.below(others.len())];
        let from: Vec<&Column> = source
            .columns
            .iter()
            .filter(|s| s.ty.ty == c.ty.ty)
            .collect();
        let value = if from.is_empty() || self.rng.chance(20) {
            self.constant_expr(c.ty.ty, c.ty.nullable)
        } else {
            let s = from[self.rng.below(from.len())];
            if s.ty.nullable && !c.ty.nullable {
                format!("coalesce(s.{}, {})", s.name, self.literal(c.ty.ty, false))
            } else {
                format!("s.{}", s.name)
            }
        };
        let mut filter = format!("s.id = {name}.id");
        if self.rng.chance(60) {
            filter = format!("{filter} AND {}", self.condition(source, "s."));
        }
        if self.rng.chance(30) {
            filter = format!(
                "{filter} AND {}",
                self.condition(table, &format!("{name}."))
            );
        }
        let returning = self.returning(table, &format!("{name}."));
        format!(
            "UPDATE {name} SET {} = {value} FROM {} s WHERE {filter}{returning}",
            c.name, source.name.name
        )
    }

    fn delete(&mut self) -> String {
        let table = self.table();
        let name = &table.name.name;
        let (alias, prefix) = if self.rng.chance(30) {
            (" d", "d.")
        } else {
            ("", "")
        };
        let filter = self.where_clause(table, prefix, 75);
        let returning = self.returning(table, prefix);
        format!("DELETE FROM {name}{alias}{filter}{returning}")
    }

    fn delete_using(&mut self) -> String {
        let table = self.table();
        let source = self.table();
        let name = &table.name.name;
        let mut filter = if self.rng.chance(70) {
            format!("s.id = {name}.id")
        } else {
            format!("s.id < {name}.id")
        };
        if self.rng.chance(70) {
            filter = format!("{filter} AND {}", self.condition(source, "s."));
        }
        let returning = self.returning(table, &format!("{name}."));
        format!(
            "DELETE FROM {name} USING {} s WHERE {filter}{returning}",
            source.name.name
        )
    }

    fn select_locking(&mut self) -> String {
        let table = self.table();
        let name = &table.name.name;
        // sqlparser 0.64 parses neither `FOR NO KEY UPDATE` nor `FOR KEY SHARE`.
        let strength = *self.rng.pick(&["FOR UPDATE", "FOR SHARE"]);
        let filter = self.where_clause(table, "", 60);
        if self.rng.chance(25) {
            let other = self.table();
            return format!(
                "SELECT a.id, b.id FROM {name} a JOIN {} b ON a.id = b.id{} {strength} OF a",
                other.name.name,
                self.where_clause(table, "a.", 50)
            );
        }
        format!("SELECT * FROM {name}{filter} {strength}")
    }
}
