//! Server time on PostgreSQL of four forms of the same statements over
//! `policies/saas`: tenant filters written by hand (as the owner), native RLS
//! loaded from `emit-postgres` (as a non-owner role), native RLS written by
//! hand with the context read once (as another non-owner role; see
//! `pg_speed/hand_rls.rs`), and Rampart's rewrite (as the owner).
//! `cargo bench --bench pg_speed` with `RAMPART_PG_URL` set; skipped, saying
//! so, without it.
//!
//! Data: 100 tenants, 20 users, 2,000 orders (200,000 in all), 50 projects
//! and 5 organisations each. Indexes a careful team would make: orders on
//! (tenant_id, owner), (tenant_id, status) and (tenant_id, amount); users on
//! (tenant_id, id); memberships on (tenant_id, user_id, org_id); projects on
//! (tenant_id, org_id). Each form of each statement runs inside a
//! transaction that is rolled back; its server time is the planning plus
//! execution time that `EXPLAIN (ANALYZE, FORMAT JSON)` reports, the median
//! of `RUNS` runs after `WARMUP`, the four forms taking turns. The four
//! forms must return the same rows.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::str::FromStr;

use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use rampart::sql::rewrite::StatementPlan;
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine};

#[path = "pg_speed/hand_rls.rs"]
mod hand_rls;

const RUNS: usize = 31;
const WARMUP: usize = 3;
const TENANT: &str = "t42";
const MEMBER: &str = "u42_3";

const DATA: &str = "
INSERT INTO users (id, tenant_id, email, name)
SELECT 'u' || t || '_' || i, 't' || t, 'u' || t || '_' || i || '@example.test', 'user ' || i
FROM generate_series(0, 99) t, generate_series(0, 19) i;

INSERT INTO orders (id, tenant_id, owner, amount, status, note, created)
SELECT n, 't' || (n % 100), 'u' || (n % 100) || '_' || ((n / 100) % 20), (n * 7919) % 1000,
       (ARRAY['open', 'paid', 'shipped', 'cancelled'])[1 + ((n * 13) / 7) % 4],
       CASE WHEN n % 2 = 0 THEN 'note ' || n END,
       timestamptz '2024-01-01 00:00:00+00' + n * interval '1 minute'
FROM generate_series(0, 199999) n;

INSERT INTO memberships (user_id, org_id, tenant_id)
SELECT 'u' || t || '_' || i, o, 't' || t
FROM generate_series(0, 99) t, generate_series(0, 19) i, generate_series(0, 4) o
WHERE o = i % 5 OR (i % 2 = 0 AND o = (i + 1) % 5);

INSERT INTO projects (id, tenant_id, org_id, name, archived)
SELECT n, 't' || (n % 100), (n / 100) % 5, 'project ' || n, n % 7 = 0
FROM generate_series(0, 4999) n;

CREATE INDEX ON orders (tenant_id, owner);
CREATE INDEX ON orders (tenant_id, status);
CREATE INDEX ON orders (tenant_id, amount);
CREATE INDEX ON users (tenant_id, id);
CREATE INDEX ON memberships (tenant_id, user_id, org_id);
CREATE INDEX ON projects (tenant_id, org_id);
ANALYZE;
";

/// Who runs a statement.
#[derive(Clone, Copy)]
enum Who {
    Admin,
    Member,
}

impl Who {
    fn context(self) -> String {
        let (user, role) = match self {
            Who::Admin => ("u42_0", "admin"),
            Who::Member => (MEMBER, "member"),
        };
        format!(
            r#"{{"tenant": {{"id": "{TENANT}", "plan": "pro"}},
                "request": {{"user": "{user}", "roles": ["{role}"]}}}}"#
        )
    }
}

struct Statement {
    name: &'static str,
    who: Who,
    /// What the application sends.
    app: &'static str,
    /// The same with the tenant's filters written by hand.
    hand: String,
}

fn statements() -> Vec<Statement> {
    let t = TENANT;
    let u = MEMBER;
    let s = |name, who, app, hand: String| Statement {
        name,
        who,
        app,
        hand,
    };
    vec![
        s(
            "count",
            Who::Admin,
            "SELECT count(*) FROM orders WHERE status = 'open'",
            format!("SELECT count(*) FROM orders WHERE tenant_id = '{t}' AND status = 'open'"),
        ),
        s(
            "count (member)",
            Who::Member,
            "SELECT count(*) FROM orders",
            format!("SELECT count(*) FROM orders WHERE tenant_id = '{t}' AND owner = '{u}'"),
        ),
        s(
            "top-10",
            Who::Admin,
            "SELECT id, amount FROM orders WHERE status = 'paid' ORDER BY amount DESC, id LIMIT 10",
            format!(
                "SELECT id, amount FROM orders WHERE tenant_id = '{t}' AND status = 'paid' \
                 ORDER BY amount DESC, id LIMIT 10"
            ),
        ),
        s(
            "join",
            Who::Admin,
            "SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.owner WHERE o.amount > 990",
            format!(
                "SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.owner \
                 WHERE o.tenant_id = '{t}' AND u.tenant_id = '{t}' AND o.amount > 990"
            ),
        ),
        s(
            "exists policy",
            Who::Member,
            "SELECT id, name FROM projects WHERE archived = false",
            format!(
                "SELECT id, name FROM projects p WHERE p.tenant_id = '{t}' AND EXISTS \
                 (SELECT 1 FROM memberships m WHERE m.tenant_id = '{t}' AND m.user_id = '{u}' \
                 AND m.org_id = p.org_id) AND archived = false"
            ),
        ),
        s(
            "group-by",
            Who::Admin,
            "SELECT status, count(*), sum(amount) FROM orders GROUP BY status",
            format!(
                "SELECT status, count(*), sum(amount) FROM orders WHERE tenant_id = '{t}' \
                 GROUP BY status"
            ),
        ),
        s(
            "IN subquery",
            Who::Admin,
            "SELECT id, amount FROM orders WHERE owner IN (SELECT id FROM users WHERE name = 'user 3')",
            format!(
                "SELECT id, amount FROM orders WHERE tenant_id = '{t}' AND owner IN \
                 (SELECT id FROM users WHERE tenant_id = '{t}' AND name = 'user 3')"
            ),
        ),
        s(
            "UPDATE",
            Who::Admin,
            "UPDATE orders SET note = 'checked' WHERE status = 'open' AND amount > 900",
            format!(
                "UPDATE orders SET note = 'checked' WHERE tenant_id = '{t}' AND status = 'open' \
                 AND amount > 900"
            ),
        ),
        s(
            "DELETE RETURNING",
            Who::Admin,
            "DELETE FROM orders WHERE status = 'cancelled' AND amount < 200 RETURNING id",
            format!(
                "DELETE FROM orders WHERE tenant_id = '{t}' AND status = 'cancelled' \
                 AND amount < 200 RETURNING id"
            ),
        ),
    ]
}

/// Rows as text, and the count of the last command.
type Output = (Vec<Vec<Option<String>>>, u64);

fn run(client: &mut Client, setup: &[String], sql: &str) -> Vec<SimpleQueryMessage> {
    client.batch_execute("BEGIN").unwrap();
    for s in setup {
        client.batch_execute(s).unwrap();
    }
    let out = client
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    client.batch_execute("ROLLBACK").unwrap();
    out
}

fn output(messages: &[SimpleQueryMessage]) -> Output {
    let mut rows = Vec::new();
    let mut count = 0;
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => rows.push(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            SimpleQueryMessage::CommandComplete(n) => count = *n,
            _ => {}
        }
    }
    (rows, count)
}

/// Planning plus execution time in milliseconds of one run.
fn server_ms(client: &mut Client, setup: &[String], sql: &str) -> f64 {
    let (rows, _) = output(&run(
        client,
        setup,
        &format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"),
    ));
    let text = rows[0][0].clone().unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let plan = &json[0];
    plan["Planning Time"].as_f64().unwrap() + plan["Execution Time"].as_f64().unwrap()
}

/// The median server time of each form over `RUNS` rounds (after
/// `WARMUP`), the forms taking turns within a round so that a change in
/// the machine's load falls on all of them alike.
fn medians(client: &mut Client, forms: &[(&[String], &str); 4]) -> [f64; 4] {
    let mut times: [Vec<f64>; 4] = Default::default();
    for round in 0..WARMUP + RUNS {
        for (form, (setup, sql)) in forms.iter().enumerate() {
            let ms = server_ms(client, setup, sql);
            if round >= WARMUP {
                times[form].push(ms);
            }
        }
    }
    times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[RUNS / 2]
    })
}

/// The rewritten statement's output as the user sees it: appended check
/// columns verified and stripped, rows dropped when the user asked none.
fn user_output(plan: &StatementPlan, (rows, count): Output) -> Output {
    let mut kept = Vec::new();
    for mut row in rows {
        let checks = row.split_off(row.len() - plan.checks.len());
        assert!(
            checks.iter().all(|c| c.as_deref() == Some("t")),
            "a check failed"
        );
        kept.push(row);
    }
    if plan.table.is_some() && !plan.had_returning {
        kept.clear();
    }
    (kept, count)
}

fn sorted((mut rows, count): Output) -> Output {
    rows.sort();
    (rows, count)
}

struct Database {
    admin: Config,
    name: String,
    /// Under the policies from `emit-postgres`.
    role: String,
    /// Under the hand-written policies.
    hand_role: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.connect(NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
            for role in [&self.role, &self.hand_role] {
                let _ = c.batch_execute(&format!("DROP ROLE IF EXISTS {role}"));
            }
        }
    }
}

fn setup(url: &str, engine: &Engine) -> (Database, Client) {
    let admin = Config::from_str(url).expect("RAMPART_PG_URL is not a PostgreSQL URL");
    let suffix = std::process::id();
    let db = Database {
        admin: admin.clone(),
        name: format!("rampart_pg_speed_{suffix}"),
        role: format!("rampart_pg_speed_u_{suffix}"),
        hand_role: format!("rampart_pg_speed_h_{suffix}"),
    };
    let mut c = admin
        .connect(NoTls)
        .expect("cannot connect to RAMPART_PG_URL");
    c.batch_execute(&format!("CREATE DATABASE {}", db.name))
        .unwrap();
    for role in [&db.role, &db.hand_role] {
        c.batch_execute(&format!("CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
            .unwrap();
    }
    let mut config = admin.clone();
    config.dbname(&db.name);
    let mut client = config.connect(NoTls).unwrap();
    let set = engine.policy_set();
    client
        .batch_execute(&create_tables(set, Dialect::Postgres))
        .unwrap();
    client.batch_execute(DATA).unwrap();
    // As after any bulk load: hint bits and the visibility map set now, so
    // that no form pays for them (or for autovacuum) in the middle of a run.
    client.batch_execute("VACUUM ANALYZE").unwrap();
    let emitted = engine.emit_postgres().unwrap();
    client
        .batch_execute(&hand_rls::emitted_for_role(&emitted, &db.role))
        .unwrap();
    client
        .batch_execute(&hand_rls::policies(&db.hand_role))
        .unwrap();
    client
        .batch_execute(&format!(
            "GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}, {}",
            db.role, db.hand_role
        ))
        .unwrap();
    (db, client)
}

/// `SET LOCAL ROLE` and the context's settings, for native RLS.
fn native_setup(engine: &Engine, ctx: &Context, role: &str) -> Vec<String> {
    let values = engine.context_values(ctx).unwrap();
    let mut out = vec![format!("SET LOCAL ROLE {role}")];
    for (field, value) in engine.policy_set().context.iter().zip(&values) {
        let text = match value {
            rampart::lang::model::Value::Text(s) => s.clone(),
            rampart::lang::model::Value::TextSet(items) => format!(
                "{{{}}}",
                items.iter().cloned().collect::<Vec<_>>().join(",")
            ),
            other => panic!("no setting text for {other:?}"),
        };
        out.push(format!(
            "SELECT set_config('rampart.{}_{}', '{}', true)",
            field.block.keyword(),
            field.name,
            text.replace('\'', "''")
        ));
    }
    out
}

/// With `RAMPART_PG_SPEED_PLANS` set: each form's SQL and plan.
fn print_plans(
    client: &mut Client,
    [native, hand_native]: [&[String]; 2],
    statement: &Statement,
    rewritten: &str,
) {
    for (form, setup, sql) in [
        ("hand", &[][..], statement.hand.as_str()),
        ("native", native, statement.app),
        ("hand-native", hand_native, statement.app),
        ("rampart", &[][..], rewritten),
    ] {
        println!("-- {} / {form}: {sql}", statement.name);
        let (rows, _) = output(&run(client, setup, &format!("EXPLAIN ANALYZE {sql}")));
        for row in rows {
            println!("   {}", row[0].as_deref().unwrap_or(""));
        }
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs this too: only `cargo bench` measures.
        println!("pg_speed: skipped (run it with `cargo bench --bench pg_speed`)");
        return;
    }
    let url = match std::env::var("RAMPART_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            println!(
                "pg_speed: skipped: RAMPART_PG_URL is not set (for a throwaway server: \
                 source .ci/services.sh && rampart_services_start)"
            );
            return;
        }
    };
    let engine = Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas")).unwrap();
    let (db, mut client) = setup(&url, &engine);
    println!(
        "{:<18} {:>9} {:>10} {:>12} {:>11} {:>13} {:>15} {:>19}",
        "statement",
        "hand ms",
        "native ms",
        "hnative ms",
        "rampart ms",
        "rampart/hand",
        "rampart/native",
        "native/hand-native"
    );
    let mut totals = [0.0; 4];
    for statement in statements() {
        let ctx = Context::from_json(&statement.who.context()).unwrap();
        let rewritten = engine
            .rewrite_planned(&ctx, Dialect::Postgres, statement.app)
            .unwrap();
        let plan = &rewritten.plan[0];
        let native = native_setup(&engine, &ctx, &db.role);
        let hand_native = native_setup(&engine, &ctx, &db.hand_role);
        let hand_out = sorted(output(&run(&mut client, &[], &statement.hand)));
        let native_out = sorted(output(&run(&mut client, &native, statement.app)));
        let hand_native_out = sorted(output(&run(&mut client, &hand_native, statement.app)));
        let rampart_out = sorted(user_output(
            plan,
            output(&run(&mut client, &[], &rewritten.sql)),
        ));
        assert_eq!(
            hand_out, native_out,
            "{}: native RLS differs",
            statement.name
        );
        assert_eq!(
            hand_out, hand_native_out,
            "{}: hand-written native RLS differs",
            statement.name
        );
        assert_eq!(hand_out, rampart_out, "{}: rewrite differs", statement.name);
        if std::env::var_os("RAMPART_PG_SPEED_PLANS").is_some() {
            print_plans(
                &mut client,
                [&native, &hand_native],
                &statement,
                &rewritten.sql,
            );
        }
        let times = medians(
            &mut client,
            &[
                (&[], &statement.hand),
                (&native, statement.app),
                (&hand_native, statement.app),
                (&[], &rewritten.sql),
            ],
        );
        for (total, ms) in totals.iter_mut().zip(times) {
            *total += ms;
        }
        print_row(statement.name, times);
    }
    print_row("total", totals);
}

/// One line of the table: the four times and the three ratios.
fn print_row(name: &str, [hand, native, hand_native, rampart]: [f64; 4]) {
    println!(
        "{name:<18} {hand:>9.3} {native:>10.3} {hand_native:>12.3} {rampart:>11.3} {:>13.2} {:>15.2} {:>19.2}",
        rampart / hand,
        rampart / native,
        native / hand_native
    );
}
