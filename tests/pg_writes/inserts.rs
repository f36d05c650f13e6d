//! Generated INSERTs: constant and expression rows (with and without a
//! column list, `DEFAULT`, presets left out or given), INSERT … SELECT (from
//! a table or a CTE), and ON CONFLICT DO NOTHING / DO UPDATE (with `WHERE`,
//! `excluded`, ON CONSTRAINT, a SELECT source).

use rampart::lang::model::{Column, Table};

use crate::writes::{Writes, ROWS, VIOLATIONS};

impl<'a> Writes<'a> {
    /// The columns an INSERT names: `id`, every non-null column (rarely one
    /// left out), some nullable ones, presets sometimes.
    pub(crate) fn insert_columns(&mut self, table: &'a Table) -> Vec<&'a Column> {
        table
            .columns
            .iter()
            .filter(|c| {
                if c.name == "id" {
                    true
                } else if c.preset.is_some() {
                    self.rng.chance(30)
                } else if c.ty.nullable {
                    self.rng.chance(70)
                } else {
                    !(VIOLATIONS && self.rng.chance(3))
                }
            })
            .collect()
    }

    /// ` (a, b, …)`, or nothing (every column, in order) when `columns` are
    /// all of them and the dice say so.
    fn column_list(&mut self, table: &Table, columns: &[&Column]) -> String {
        if columns.len() == table.columns.len() && self.rng.chance(50) {
            return String::new();
        }
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        format!(" ({})", names.join(", "))
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

    /// One value of a VALUES row for column `c`.
    fn row_value(&mut self, c: &Column) -> String {
        if (c.preset.is_some() || c.ty.nullable) && self.rng.chance(8) {
            return "DEFAULT".into();
        }
        if self.rng.chance(70) {
            self.literal(c.ty.ty, c.ty.nullable)
        } else {
            self.constant_expr(c.ty.ty, c.ty.nullable)
        }
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
                        } else {
                            self.row_value(c)
                        }
                    })
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect();
        rows.join(", ")
    }

    pub(crate) fn insert_values(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let n = 1 + self.rng.below(3);
        let ids = self.ids(n, if VIOLATIONS { 8 } else { 0 });
        let rows = self.rows(&columns, &ids);
        let returning = self.returning(table, "");
        let list = self.column_list(table, &columns);
        let name = self.name(table);
        format!("INSERT INTO {name}{list} VALUES {rows}{returning}")
    }

    /// `SELECT … FROM <source> s …` giving rows for `columns`, ids
    /// `s.id + shift`.
    fn select_source(&mut self, columns: &[&Column], shift: usize) -> String {
        let source = self.table();
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                if c.name == "id" {
                    format!("s.id + {shift}")
                } else {
                    self.value_over(c, Some("s."), source)
                }
            })
            .collect();
        let filter = self.where_clause(source, "s.", 70);
        let tail = if self.rng.chance(20) {
            format!(" ORDER BY s.id LIMIT {}", 1 + self.rng.below(5))
        } else {
            String::new()
        };
        if self.rng.chance(20) {
            let inner = self.where_clause(source, "", 50);
            return format!(
                "WITH s AS (SELECT * FROM {}{inner}) SELECT {} FROM s{filter}{tail}",
                source.name.name,
                values.join(", ")
            );
        }
        let name = self.name(source);
        format!("SELECT {} FROM {name} s{filter}{tail}", values.join(", "))
    }

    pub(crate) fn insert_select(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let source = self.select_source(&columns, 100);
        let returning = self.returning(table, "");
        let list = self.column_list(table, &columns);
        format!("INSERT INTO {}{list} {source}{returning}", table.name.name)
    }

    /// The rows an ON CONFLICT INSERT proposes: VALUES mostly, a SELECT
    /// (ids that clash, or not) sometimes.
    fn proposed(&mut self, columns: &[&Column], taken: usize) -> String {
        if self.rng.chance(20) {
            let shift = if self.rng.chance(60) { 0 } else { 100 };
            return self.select_source(columns, shift);
        }
        let n = 1 + self.rng.below(2);
        let ids = self.ids(n, taken);
        format!("VALUES {}", self.rows(columns, &ids))
    }

    pub(crate) fn upsert_nothing(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let rows = self.proposed(&columns, 60);
        let target = match self.rng.below(5) {
            0 => "",
            1 => " ON CONSTRAINT {name}_pkey",
            _ => " (id)",
        };
        let target = target.replace("{name}", &table.name.name);
        let returning = self.returning(table, "");
        let list = self.column_list(table, &columns);
        format!(
            "INSERT INTO {}{list} {rows} ON CONFLICT{target} DO NOTHING{returning}",
            table.name.name
        )
    }

    pub(crate) fn upsert_update(&mut self) -> String {
        let table = self.table();
        let columns = self.insert_columns(table);
        let rows = self.proposed(&columns, 70);
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
        let target = if self.rng.chance(20) {
            format!("ON CONSTRAINT {name}_pkey")
        } else {
            "(id)".into()
        };
        let returning = self.returning(table, "");
        let list = self.column_list(table, &columns);
        format!(
            "INSERT INTO {name}{list} {rows} ON CONFLICT {target} DO UPDATE SET {}{filter}{returning}",
            sets.join(", ")
        )
    }
}
