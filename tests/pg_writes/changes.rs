//! Generated UPDATE (… FROM, correlated subqueries, key changes), DELETE
//! (… USING), statements under WITH (a CTE read by the write, a write in a
//! CTE) and SELECT … FOR UPDATE / FOR SHARE.

use rampart::lang::model::{Column, Table};

use crate::writes::Writes;

impl Writes<'_> {
    /// How an UPDATE or DELETE names its target: `(name, alias, prefix)`,
    /// the prefix qualifying the target's columns (empty: bare names).
    fn target(&mut self, table: &Table, alias: &str) -> (String, String, String) {
        let name = self.name(table);
        match self.rng.below(3) {
            0 => (name, format!(" {alias}"), format!("{alias}.")),
            1 => (name, String::new(), format!("{}.", table.name.name)),
            _ => (name, String::new(), String::new()),
        }
    }

    /// A value for column `c` read through a correlated subquery on the
    /// other table, `None` when it has no column of that type.
    fn subquery_value(&mut self, c: &Column, qualifier: &str) -> Option<String> {
        let other = self.table();
        let same: Vec<&Column> = other
            .columns
            .iter()
            .filter(|o| o.ty.ty == c.ty.ty)
            .collect();
        if same.is_empty() {
            return None;
        }
        let o = same[self.rng.below(same.len())];
        let sub = format!(
            "(SELECT q.{} FROM {} q WHERE q.id = {qualifier}id)",
            o.name, other.name.name
        );
        Some(if c.ty.nullable {
            sub
        } else {
            format!("coalesce({sub}, {})", self.literal(c.ty.ty, false))
        })
    }

    /// `c = v, …` for an UPDATE of `table` (through `prefix` in values).
    fn assignments(&mut self, table: &Table, prefix: &str) -> String {
        if self.rng.chance(4) {
            let p = if prefix.is_empty() { "" } else { prefix };
            return format!("id = {p}id + 100");
        }
        let others = Self::other_columns(table);
        let mut names: Vec<&str> = Vec::new();
        let mut sets = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            let c = others[self.rng.below(others.len())];
            if names.contains(&c.name.as_str()) {
                continue;
            }
            names.push(&c.name);
            let qualifier = if prefix.is_empty() {
                format!("{}.", table.name.name)
            } else {
                prefix.to_string()
            };
            let value = match self.rng.chance(12) {
                true => self.subquery_value(c, &qualifier),
                false => None,
            };
            let value = value.unwrap_or_else(|| self.value_over(c, Some(prefix), table));
            sets.push(format!("{} = {value}", c.name));
        }
        sets.join(", ")
    }

    /// ` WHERE …` on the target, or sometimes one that reads only another
    /// table (the target's columns are then not read).
    fn target_filter(&mut self, table: &Table, prefix: &str, percent: usize) -> String {
        if self.rng.chance(10) {
            let other = self.table();
            let filter = self.where_clause(other, "q.", 70);
            return format!(
                " WHERE EXISTS (SELECT 1 FROM {} q{filter})",
                other.name.name
            );
        }
        self.where_clause(table, prefix, percent)
    }

    pub(crate) fn update(&mut self) -> String {
        let table = self.table();
        let (name, alias, prefix) = self.target(table, "u");
        let sets = self.assignments(table, &prefix);
        let filter = self.target_filter(table, &prefix, 65);
        let returning = self.returning(table, &prefix);
        format!("UPDATE {name}{alias} SET {sets}{filter}{returning}")
    }

    pub(crate) fn update_from(&mut self) -> String {
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
        // Sometimes one source row for every target row: the target's
        // columns are then read only where SET or RETURNING read them.
        let mut filter = if self.rng.chance(20) {
            format!("s.id = {}", 1 + self.rng.below(12))
        } else {
            format!("s.id = {name}.id")
        };
        if self.rng.chance(60) {
            filter = format!("{filter} AND ({})", self.condition(source, "s."));
        }
        if self.rng.chance(30) {
            filter = format!(
                "{filter} AND ({})",
                self.condition(table, &format!("{name}."))
            );
        }
        let returning = self.returning(table, &format!("{name}."));
        format!(
            "UPDATE {name} SET {} = {value} FROM {} s WHERE {filter}{returning}",
            c.name, source.name.name
        )
    }

    pub(crate) fn delete(&mut self) -> String {
        let table = self.table();
        let (name, alias, prefix) = self.target(table, "d");
        let filter = self.target_filter(table, &prefix, 75);
        let returning = self.returning(table, &prefix);
        format!("DELETE FROM {name}{alias}{filter}{returning}")
    }

    pub(crate) fn delete_using(&mut self) -> String {
        let table = self.table();
        let source = self.table();
        let name = &table.name.name;
        let mut filter = match self.rng.below(10) {
            0..=6 => format!("s.id = {name}.id"),
            7 | 8 => format!("s.id < {name}.id"),
            _ => format!("s.id = {}", 1 + self.rng.below(12)),
        };
        if self.rng.chance(70) {
            filter = format!("{filter} AND ({})", self.condition(source, "s."));
        }
        let returning = self.returning(table, &format!("{name}."));
        format!(
            "DELETE FROM {name} USING {} s WHERE {filter}{returning}",
            source.name.name
        )
    }

    /// A write that reads a CTE, or a write inside one.
    pub(crate) fn with_query(&mut self) -> String {
        let table = self.table();
        let source = self.table();
        let name = &table.name.name;
        let cte = format!(
            "WITH s AS (SELECT id FROM {}{})",
            source.name.name,
            self.where_clause(source, "", 70)
        );
        match self.rng.below(5) {
            4 => {
                let columns = self.insert_columns(table);
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                let values: Vec<String> = columns
                    .iter()
                    .map(|c| match c.name.as_str() {
                        "id" => "s.id + 100".to_string(),
                        _ => self.value_over(c, Some("s."), source),
                    })
                    .collect();
                let filter = self.where_clause(source, "s.", 50);
                let returning = self.returning(table, "");
                format!(
                    "WITH s AS (SELECT * FROM {}) INSERT INTO {name} ({}) SELECT {} FROM s{filter}{returning}",
                    source.name.name,
                    names.join(", "),
                    values.join(", ")
                )
            }
            0 => {
                let sets = self.assignments(table, "");
                let returning = self.returning(table, "");
                format!("{cte} UPDATE {name} SET {sets} WHERE id IN (SELECT id FROM s){returning}")
            }
            1 => {
                let returning = self.returning(table, &format!("{name}."));
                format!("{cte} DELETE FROM {name} USING s WHERE s.id = {name}.id{returning}")
            }
            2 => {
                let filter = self.where_clause(table, "", 70);
                format!(
                    "WITH d AS (DELETE FROM {name}{filter} RETURNING id) SELECT count(*) FROM d"
                )
            }
            _ => {
                let sets = self.assignments(table, "");
                format!("WITH w AS (UPDATE {name} SET {sets} RETURNING *) SELECT * FROM w")
            }
        }
    }

    /// A write of any kind inside a WITH item, the statement's query
    /// reading its RETURNING rows (or not), or a write on top reading them.
    pub(crate) fn with_item_write(&mut self) -> String {
        let write = match self.rng.below(6) {
            0 => self.insert_values(),
            1 => self.insert_select(),
            2 => self.upsert_nothing(),
            3 => self.upsert_update(),
            4 => self.update(),
            _ => self.delete(),
        };
        if !write.contains(" RETURNING ") {
            return format!("WITH w AS ({write}) SELECT 1");
        }
        match self.rng.below(3) {
            0 => format!("WITH w AS ({write}) SELECT * FROM w"),
            1 => format!("WITH w AS ({write}) SELECT count(*) FROM w"),
            _ => {
                // Another table read beside the item (as before the write).
                let other = self.table();
                let name = &other.name.name;
                format!("WITH w AS ({write}) SELECT (SELECT count(*) FROM w), count(*) FROM {name}")
            }
        }
    }

    pub(crate) fn select_locking(&mut self) -> String {
        let table = self.table();
        let name = self.name(table);
        // sqlparser 0.64 parses neither `FOR NO KEY UPDATE` nor `FOR KEY SHARE`.
        let strength = *self.rng.pick(&["FOR UPDATE", "FOR SHARE"]);
        let wait = *self.rng.pick(&["", "", "", " NOWAIT", " SKIP LOCKED"]);
        if self.rng.chance(25) {
            let other = self.table();
            let filter = self.where_clause(table, "a.", 50);
            return format!(
                "SELECT a.id, b.id FROM {name} a JOIN {} b ON a.id = b.id{filter} {strength} OF a{wait}",
                other.name.name,
            );
        }
        let filter = self.where_clause(table, &format!("{}.", table.name.name), 60);
        format!("SELECT * FROM {name}{filter} {strength}{wait}")
    }
}
