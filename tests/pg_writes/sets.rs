//! One random policy set made ready for the write differential test: its
//! tables (re)created in the test database with `id` as primary key, filled
//! with `ROWS` random rows, under native RLS (presets as column defaults),
//! granted to the non-owner role.

use postgres::Client;
use rampart::lang::model::{PolicySet, Value};
use rampart::sql::schema::create_tables;
use rampart::sql::template::object_name;
use rampart::{Dialect, Engine};

use crate::common::pg::TestDb;
use crate::random_sets::{self, Rng, TENANTS, USERS};
use crate::writes::ROWS;

/// A loaded set: its text (for reports) and its engine.
pub struct Loaded {
    pub text: String,
    pub engine: Engine,
}

/// Drops the tables a previous set left.
fn drop_tables(su: &mut Client) {
    su.batch_execute("DROP TABLE IF EXISTS t1, t2 CASCADE")
        .unwrap();
}

/// Makes the set of seed `rng`'s next draw: `None` when its text does not
/// check (not this test's business; the generator rarely makes one).
pub fn load(db: &TestDb, su: &mut Client, rng: &mut Rng) -> Option<Loaded> {
    let text = crate::policies::policy_text(rng);
    let engine = Engine::from_source("random.policy", &text).ok()?;
    drop_tables(su);
    let set = engine.policy_set();
    su.batch_execute(&create_tables(set, Dialect::Postgres))
        .unwrap();
    for table in &set.tables {
        su.batch_execute(&format!(
            "ALTER TABLE {} ADD PRIMARY KEY (id)",
            object_name(&table.name)
        ))
        .unwrap();
        let rows: Vec<Vec<Value>> = (1..=ROWS)
            .map(|id| {
                table
                    .columns
                    .iter()
                    .map(|c| match c.name.as_str() {
                        "id" => Value::Int(i64::try_from(id).unwrap()),
                        "tenant_id" => Value::Text(rng.pick(&TENANTS).to_string()),
                        "owner" => Value::Text(rng.pick(&USERS).to_string()),
                        _ => random_sets::value(rng, c.ty, false),
                    })
                    .collect()
            })
            .collect();
        crate::data::insert(su, table, &rows);
    }
    su.batch_execute(&engine.emit_postgres().unwrap()).unwrap();
    su.batch_execute(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
        db.role
    ))
    .unwrap();
    Some(Loaded { text, engine })
}

/// The set's table names as SQL, in declaration order.
pub fn names(set: &PolicySet) -> Vec<String> {
    set.tables
        .iter()
        .map(|t| object_name(&t.name).to_string())
        .collect()
}
