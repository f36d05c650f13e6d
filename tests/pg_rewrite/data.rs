//! Rows for the rewriter's differential test: values drawn from the corpus
//! file's pools (tenants, users, words) by column name and type, so that
//! joins match and policies admit some rows and hide others.

use postgres::Client;
use rampart::lang::model::{Column, PolicySet, Table, Ty, Value};
use rampart::sql::template::object_name;

use crate::common::pg::{param, param_cast, quote_ident, refs};
use crate::random_sets::Rng;

/// The values a corpus file's data is drawn from.
#[derive(Default)]
pub struct Pools {
    pub tenants: Vec<String>,
    pub users: Vec<String>,
    pub words: Vec<String>,
}

/// Columns that hold the tenant (preset from `tenant.id` in the examples).
pub const TENANT_COLUMNS: [&str; 3] = ["tenant_id", "hospital_id", "site_id"];
/// Columns that hold a user id.
const USER_COLUMNS: [&str; 6] = [
    "owner",
    "user_id",
    "author",
    "clinician",
    "recorded_by",
    "actor",
];

/// The tenant id no context ever has: rows there are hidden from everyone.
pub const HIDDEN_TENANT: &str = "zz-hidden";
/// The number in every integer column of a hidden sentinel row.
pub const SENTINEL: i64 = -777;

fn pick(rng: &mut Rng, pool: &[String]) -> Value {
    Value::Text(rng.pick(pool).clone())
}

/// A random value for `column` of `table`.
pub fn value(rng: &mut Rng, pools: &Pools, table: &Table, column: &Column) -> Value {
    if column.ty.nullable && rng.chance(20) {
        return Value::Null;
    }
    let name = column.name.as_str();
    match column.ty.ty {
        Ty::Text if TENANT_COLUMNS.contains(&name) => pick(rng, &pools.tenants),
        Ty::Text
            if USER_COLUMNS.contains(&name) || (table.name.name == "users" && name == "id") =>
        {
            pick(rng, &pools.users)
        }
        Ty::Text => pick(rng, &pools.words),
        Ty::Int => Value::Int(i64::try_from(rng.below(7)).unwrap()),
        Ty::Float => Value::Float(*rng.pick(&[0.0, 1.5, 70.5, -2.0, 700.0, 36.6])),
        Ty::Bool => Value::Bool(rng.chance(50)),
        Ty::Timestamp => Value::Timestamp(*rng.pick(&[
            0,
            1_767_225_600_000_000,
            1_767_225_600_000_001,
            1_770_000_000_000_000,
        ])),
        _ => Value::Null,
    }
}

/// A row that every policy of the examples hides (another tenant), with
/// `SENTINEL` in every number column; `None` for tables without a tenant.
pub fn sentinel(table: &Table) -> Option<Vec<Value>> {
    if table.open
        || !table
            .columns
            .iter()
            .any(|c| TENANT_COLUMNS.contains(&c.name.as_str()))
    {
        return None;
    }
    let row = table
        .columns
        .iter()
        .map(|c| match c.ty.ty {
            Ty::Text if TENANT_COLUMNS.contains(&c.name.as_str()) => {
                Value::Text(HIDDEN_TENANT.into())
            }
            Ty::Text => Value::Text("sentinel".into()),
            Ty::Int => Value::Int(SENTINEL),
            // Reals convert exactly, so `x + 777` divides by zero here only.
            Ty::Float => Value::Float(-777.0),
            Ty::Bool => Value::Bool(true),
            Ty::Timestamp => Value::Timestamp(0),
            _ => Value::Null,
        })
        .collect();
    Some(row)
}

/// Inserts rows into `table` as the superuser.
pub fn insert(su: &mut Client, table: &Table, rows: &[Vec<Value>]) {
    if rows.is_empty() {
        return;
    }
    let names: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let mut params = Vec::new();
    let mut tuples = Vec::new();
    for row in rows {
        let mut slots = Vec::new();
        for (c, v) in table.columns.iter().zip(row) {
            params.push(param(v, c.ty.ty));
            slots.push(format!("${}{}", params.len(), param_cast(c.ty.ty)));
        }
        tuples.push(format!("({})", slots.join(", ")));
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        object_name(&table.name),
        names.join(", "),
        tuples.join(", ")
    );
    su.execute(&sql, &refs(&params)).unwrap();
}

/// Fills every table of `set` with `per_table` random rows.
pub fn fill(su: &mut Client, set: &PolicySet, pools: &Pools, rng: &mut Rng, per_table: usize) {
    for table in &set.tables {
        let rows: Vec<Vec<Value>> = (0..per_table)
            .map(|_| {
                table
                    .columns
                    .iter()
                    .map(|c| value(rng, pools, table, c))
                    .collect()
            })
            .collect();
        insert(su, table, &rows);
    }
}
