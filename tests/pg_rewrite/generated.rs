//! Generated SELECT statements over a policy set's declared tables: random
//! joins of one to three tables (self-joins included) with random column
//! predicates, set operations, and subqueries in WHERE, FROM and the SELECT
//! list. Nothing in them can fail at run time, so any error is a finding.

use rampart::lang::model::{Column, PolicySet, Table, Ty};

use crate::corpus::Statement;
use crate::data::Pools;
use crate::random_sets::Rng;

/// The generator: a policy set, its pools and a seeded random source.
pub struct Generator<'a> {
    set: &'a PolicySet,
    pools: &'a Pools,
    rng: Rng,
    seed: u64,
}

/// A FROM item in a generated query: table and alias.
struct Item<'a> {
    table: &'a Table,
    alias: String,
}

impl Item<'_> {
    fn col(&self, c: &Column) -> String {
        format!("{}.{}", self.alias, c.name)
    }
}

/// Whether values of the two types compare without a cast.
fn comparable(a: Ty, b: Ty) -> bool {
    let numeric = |t| matches!(t, Ty::Int | Ty::Float);
    a == b || (numeric(a) && numeric(b))
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl<'a> Generator<'a> {
    pub fn new(set: &'a PolicySet, pools: &'a Pools, seed: u64) -> Self {
        Generator {
            set,
            pools,
            rng: Rng::new(seed),
            seed,
        }
    }

    /// `n` statements.
    pub fn statements(&mut self, n: usize) -> Vec<Statement> {
        (0..n)
            .map(|i| {
                let (sql, ordered) = match self.rng.below(10) {
                    0..=3 => self.join_query(),
                    4 | 5 => (self.set_operation(), false),
                    _ => (self.subquery_query(), false),
                };
                Statement {
                    sql,
                    ordered,
                    diverges: None,
                    diverges_without_defaults: None,
                    origin: format!(
                        "generated #{i}, seed {} (RAMPART_PG_REWRITE_SEED={})",
                        self.seed, self.seed
                    ),
                }
            })
            .collect()
    }

    fn table(&mut self) -> &'a Table {
        let tables = &self.set.tables;
        &tables[self.rng.below(tables.len())]
    }

    /// A table's name as SQL: sometimes quoted or `public.`-qualified.
    fn table_name(&mut self, table: &Table) -> String {
        match (&table.name.schema, self.rng.below(6)) {
            (Some(schema), _) => format!("{schema}.{}", table.name.name),
            (None, 0) => format!("\"{}\"", table.name.name),
            (None, 1) => format!("public.{}", table.name.name),
            (None, _) => table.name.name.clone(),
        }
    }

    fn column<'t>(&mut self, table: &'t Table) -> &'t Column {
        &table.columns[self.rng.below(table.columns.len())]
    }

    fn literal(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Int => (i64::try_from(self.rng.below(9)).unwrap() - 1).to_string(),
            Ty::Float => self.rng.pick(&["0", "1.5", "36.6", "-2.5"]).to_string(),
            Ty::Bool => self.rng.pick(&["true", "false"]).to_string(),
            Ty::Timestamp => {
                let t = self
                    .rng
                    .pick(&["2026-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]);
                format!("'{t}'::timestamptz")
            }
            _ => {
                let pool = match self.rng.below(3) {
                    0 => &self.pools.tenants,
                    1 => &self.pools.users,
                    _ => &self.pools.words,
                };
                sql_text(self.rng.pick::<String>(pool))
            }
        }
    }

    /// One condition on a column of `item`.
    fn atom(&mut self, item: &Item<'_>) -> String {
        let c = self.column(item.table);
        let col = item.col(c);
        if c.ty.nullable && self.rng.chance(20) {
            let not = if self.rng.chance(50) { " NOT" } else { "" };
            return format!("{col} IS{not} NULL");
        }
        let op = *self.rng.pick(&["=", "<>", "<", "<=", ">", ">="]);
        match (c.ty.ty, self.rng.below(4)) {
            (Ty::Bool, 0) => col,
            (Ty::Bool, 1) => format!("NOT {col}"),
            (Ty::Int, 0) => format!("{col} BETWEEN 1 AND {}", self.literal(Ty::Int)),
            (Ty::Int | Ty::Text, 1) => {
                let items: Vec<String> = (0..1 + self.rng.below(3))
                    .map(|_| self.literal(c.ty.ty))
                    .collect();
                let not = if self.rng.chance(30) { " NOT" } else { "" };
                format!("{col}{not} IN ({})", items.join(", "))
            }
            (Ty::Text, 2) => {
                let pattern = self.rng.pick(&["a%", "%o%", "_%", "%'%", "s%"]);
                format!("{col} LIKE '{}'", pattern.replace('\'', "''"))
            }
            (Ty::Text, 3) => format!("length({col}) {op} {}", self.rng.below(6)),
            (ty, _) => format!("{col} {op} {}", self.literal(ty)),
        }
    }

    /// Up to three conditions over `items`, with AND, OR and NOT.
    fn condition(&mut self, items: &[Item<'_>]) -> Option<String> {
        let n = self.rng.below(4);
        let mut out: Option<String> = None;
        for _ in 0..n {
            let item = &items[self.rng.below(items.len())];
            let mut atom = self.atom(item);
            if self.rng.chance(15) {
                atom = format!("NOT ({atom})");
            }
            out = Some(match out {
                None => atom,
                Some(acc) => {
                    let op = if self.rng.chance(65) { "AND" } else { "OR" };
                    format!("({acc} {op} {atom})")
                }
            });
        }
        out
    }

    /// An equality between a column of `new` and a comparable column of an
    /// earlier item, if there is one.
    fn join_condition(&mut self, earlier: &[Item<'_>], new: &Item<'_>) -> Option<String> {
        let mut pairs = Vec::new();
        for e in earlier {
            for a in &e.table.columns {
                for b in &new.table.columns {
                    if comparable(a.ty.ty, b.ty.ty) && a.ty.ty != Ty::Bool {
                        pairs.push(format!("{} = {}", e.col(a), new.col(b)));
                    }
                }
            }
        }
        // Prefer columns of the same name (`tenant_id`, `id`, …).
        let same: Vec<&String> = pairs
            .iter()
            .filter(|p| {
                let (l, r) = p.split_once(" = ").unwrap();
                l.split('.').nth(1) == r.split('.').nth(1)
            })
            .collect();
        if !same.is_empty() && self.rng.chance(60) {
            return Some((*self.rng.pick(&same)).clone());
        }
        (!pairs.is_empty()).then(|| self.rng.pick(&pairs).clone())
    }

    /// FROM with one to three items and the items themselves.
    fn random_from(&mut self, max: usize) -> (String, Vec<Item<'a>>) {
        let n = 1 + self.rng.below(max);
        let mut items: Vec<Item<'a>> = Vec::new();
        let mut from = String::new();
        let mut crossed = false;
        for i in 0..n {
            let table = self.table();
            let item = Item {
                table,
                alias: format!("a{i}"),
            };
            let name = self.table_name(table);
            if i == 0 {
                from = format!("{name} {}", item.alias);
            } else {
                let on = self.join_condition(&items, &item);
                let kind = self.rng.below(6);
                let clause = match (on, kind) {
                    (None, _) | (Some(_), 5) if !crossed => {
                        crossed = true;
                        if self.rng.chance(50) {
                            format!(" CROSS JOIN {name} {}", item.alias)
                        } else {
                            format!(", {name} {}", item.alias)
                        }
                    }
                    (None, _) => format!(" JOIN {name} {} ON TRUE", item.alias),
                    (Some(on), k) => {
                        let join = [
                            "JOIN",
                            "LEFT JOIN",
                            "RIGHT JOIN",
                            "FULL JOIN",
                            "INNER JOIN",
                            "JOIN",
                        ][k];
                        format!(" {join} {name} {} ON {on}", item.alias)
                    }
                };
                from.push_str(&clause);
            }
            items.push(item);
        }
        (from, items)
    }

    /// A join query; `true` when its ORDER BY orders every output column.
    fn join_query(&mut self) -> (String, bool) {
        let (from, items) = self.random_from(3);
        let filter = self
            .condition(&items)
            .map(|c| format!(" WHERE {c}"))
            .unwrap_or_default();
        if self.rng.chance(30) {
            // Grouped: one column and aggregates.
            let item = &items[self.rng.below(items.len())];
            let g = item.col(self.column(item.table));
            let having = if self.rng.chance(40) {
                format!(" HAVING count(*) > {}", self.rng.below(3))
            } else {
                String::new()
            };
            let sql = format!(
                "SELECT {g}, count(*), count(DISTINCT {g}) FROM {from}{filter} GROUP BY {g}{having} ORDER BY {g}"
            );
            return (sql, true);
        }
        let mut cols = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            let item = &items[self.rng.below(items.len())];
            cols.push(item.col(self.column(item.table)));
        }
        let distinct = if self.rng.chance(20) { "DISTINCT " } else { "" };
        let list = cols.join(", ");
        if self.rng.chance(35) {
            let order: Vec<String> = cols
                .iter()
                .map(|c| format!("{c}{}", if self.rng.chance(30) { " DESC" } else { "" }))
                .collect();
            let limit = if self.rng.chance(50) {
                format!(
                    " LIMIT {} OFFSET {}",
                    1 + self.rng.below(8),
                    self.rng.below(3)
                )
            } else {
                String::new()
            };
            let sql = format!(
                "SELECT {distinct}{list} FROM {from}{filter} ORDER BY {}{limit}",
                order.join(", ")
            );
            return (sql, true);
        }
        if self.rng.chance(15) {
            return (format!("SELECT count(*) FROM {from}{filter}"), false);
        }
        (
            format!("SELECT {distinct}{list} FROM {from}{filter}"),
            false,
        )
    }

    /// One column of type compatible with `ty` from one table, filtered.
    fn single_column_select(&mut self, ty: Option<Ty>) -> Option<(String, Ty)> {
        let table = self.table();
        let candidates: Vec<&Column> = table
            .columns
            .iter()
            .filter(|c| ty.is_none_or(|t| comparable(t, c.ty.ty) && c.ty.ty == t))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let c = *self.rng.pick(&candidates);
        let item = Item {
            table,
            alias: format!("s{}", self.rng.below(100)),
        };
        let name = self.table_name(table);
        let filter = self
            .condition(std::slice::from_ref(&item))
            .map(|c| format!(" WHERE {c}"))
            .unwrap_or_default();
        let sql = format!("SELECT {} FROM {name} {}{filter}", item.col(c), item.alias);
        Some((sql, c.ty.ty))
    }

    fn set_operation(&mut self) -> String {
        loop {
            let Some((left, ty)) = self.single_column_select(None) else {
                continue;
            };
            let Some((right, _)) = (0..10).find_map(|_| self.single_column_select(Some(ty))) else {
                continue;
            };
            let op = self.rng.pick(&["UNION", "INTERSECT", "EXCEPT"]);
            let all = if self.rng.chance(40) { " ALL" } else { "" };
            if self.rng.chance(25) {
                if let Some((third, _)) = self.single_column_select(Some(ty)) {
                    let op2 = self.rng.pick(&["UNION", "INTERSECT", "EXCEPT"]);
                    return format!("({left} {op}{all} {right}) {op2} {third}");
                }
            }
            return format!("{left} {op}{all} {right}");
        }
    }

    /// A query with a subquery: IN, EXISTS / NOT EXISTS (correlated), a
    /// scalar subquery in the SELECT list, or a derived table in FROM.
    fn subquery_query(&mut self) -> String {
        let outer_table = self.table();
        let outer = Item {
            table: outer_table,
            alias: "o".into(),
        };
        let outer_name = self.table_name(outer_table);
        let inner_table = self.table();
        let inner = Item {
            table: inner_table,
            alias: "i".into(),
        };
        let inner_name = self.table_name(inner_table);
        let inner_filter = self.condition(std::slice::from_ref(&inner));
        let correlation = self.join_condition(std::slice::from_ref(&outer), &inner);
        let oc = outer.col(self.column(outer_table));
        let where_inner = |extra: Option<String>| {
            let parts: Vec<String> = extra.into_iter().chain(inner_filter.clone()).collect();
            if parts.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", parts.join(" AND "))
            }
        };
        match self.rng.below(5) {
            0 => {
                let c = self.column(outer_table);
                let candidates: Vec<&Column> = inner_table
                    .columns
                    .iter()
                    .filter(|ic| comparable(ic.ty.ty, c.ty.ty))
                    .collect();
                if candidates.is_empty() {
                    return format!("SELECT {oc} FROM {outer_name} o");
                }
                let ic = *self.rng.pick(&candidates);
                let not = if self.rng.chance(30) { " NOT" } else { "" };
                format!(
                    "SELECT {oc} FROM {outer_name} o WHERE {}{not} IN (SELECT {} FROM {inner_name} i{})",
                    outer.col(c),
                    inner.col(ic),
                    where_inner(None)
                )
            }
            1 | 2 => {
                let not = if self.rng.chance(40) { "NOT " } else { "" };
                format!(
                    "SELECT {oc} FROM {outer_name} o WHERE {not}EXISTS (SELECT 1 FROM {inner_name} i{})",
                    where_inner(correlation)
                )
            }
            3 => format!(
                "SELECT {oc}, (SELECT count(*) FROM {inner_name} i{}) AS n FROM {outer_name} o",
                where_inner(correlation)
            ),
            _ => {
                let ic = inner.col(self.column(inner_table));
                format!(
                    "SELECT d.x, count(*) FROM (SELECT {ic} AS x FROM {inner_name} i{}) AS d GROUP BY d.x",
                    where_inner(None)
                )
            }
        }
    }
}
