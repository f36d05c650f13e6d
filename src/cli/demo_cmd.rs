//! `rampart demo`: the `policies/saas` example (embedded in the binary) on
//! an in-memory SQLite database, in a short tour: two tenants, two roles, a
//! refused write, an UPDATE with RETURNING and a quota. Each step prints
//! the SQL as written, as rewritten, and its result.

use clap::Args;
use rampart::exec::open;
use rampart::sql::schema::create_tables;
use rampart::{Context, Engine, Error, Session};

use super::{output, table, EXIT_OK, EXIT_REFUSED};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart demo\n\nNo set-up, no server: everything runs in memory."
)]
pub struct DemoArgs {}

/// The `policies/saas` files, as compiled into the binary.
const SAAS: [(&str, &str); 6] = [
    (
        "context.policy",
        include_str!("../../policies/saas/context.policy"),
    ),
    (
        "tables.policy",
        include_str!("../../policies/saas/tables.policy"),
    ),
    (
        "isolation.policy",
        include_str!("../../policies/saas/isolation.policy"),
    ),
    (
        "orders.policy",
        include_str!("../../policies/saas/orders.policy"),
    ),
    (
        "people.policy",
        include_str!("../../policies/saas/people.policy"),
    ),
    (
        "quotas.policy",
        include_str!("../../policies/saas/quotas.policy"),
    ),
];

const SAMPLE_DATA: &str = "INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES
  (1, 'acme', 'bob', 1200, 'open'),
  (2, 'acme', 'bob', 800, 'paid'),
  (3, 'acme', 'ann', 4500, 'open'),
  (4, 'globex', 'eve', 990, 'open'),
  (5, 'globex', 'eve', 15000, 'shipped');";

const ACME_BOB: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#;
const ACME_ANN: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#;
const GLOBEX_EVE: &str = r#"{"tenant": {"id": "globex", "plan": "free"}, "request": {"user": "eve", "roles": ["admin"]}}"#;

pub fn run(_: &DemoArgs) -> u8 {
    match tour() {
        Ok(text) => {
            output::stdout(&text);
            EXIT_OK
        }
        Err(e) => {
            output::stderr(&format!("demo failed: error[{}]: {e}\n", e.sqlstate()));
            EXIT_REFUSED
        }
    }
}

/// The whole tour as text.
fn tour() -> Result<String, Error> {
    let source: String = SAAS
        .iter()
        .map(|(name, text)| format!("# ---- policies/saas/{name}\n{text}\n"))
        .collect();
    let engine = Engine::from_source("policies/saas", &source)?;
    // One in-memory database shared by the tour's connections; it lives as
    // long as one of them is open.
    let url = format!(
        "sqlite:file:rampart-demo-{}?mode=memory&cache=shared",
        std::process::id()
    );
    tour_on(&engine, &url)
}

struct Tour<'a> {
    engine: &'a Engine,
    url: &'a str,
    out: String,
}

impl Tour<'_> {
    fn connect(&self, ctx: &str) -> Result<Session, Error> {
        self.engine
            .connect(Context::from_json(ctx)?, open(self.url)?)
    }

    fn heading(&mut self, text: &str) {
        self.out.push_str(&format!("\n== {text}\n"));
    }

    fn say(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Runs `sql` as `who`, showing it as written, as rewritten and its
    /// result (or its error).
    fn step(&mut self, session: &mut Session, who: &str, sql: &str) -> Result<(), Error> {
        self.out.push_str(&format!("\n{who} runs:\n    {sql}\n"));
        match session.rewritten(sql) {
            Ok(rewritten) => {
                self.out
                    .push_str(&format!("rewritten to:\n    {}\n", rewritten.sql));
            }
            Err(e) => {
                self.out.push_str(&format!(
                    "refused while rewriting, before the database saw it:\n    error[{}]: {e}\n",
                    e.sqlstate()
                ));
                return Ok(());
            }
        }
        match session.execute(sql) {
            Ok(result) => self.out.push_str(&indent(&table::render(&result))),
            Err(e) => self
                .out
                .push_str(&format!("error[{}]: {e}\n", e.sqlstate())),
        }
        Ok(())
    }

    /// Every order, as the database's owner sees it.
    fn all_orders(&mut self) -> Result<(), Error> {
        let mut backend = open(self.url)?;
        let raw = backend.run(
            "SELECT id, tenant_id, owner, amount, status FROM orders ORDER BY id",
            true,
        )?;
        let result = rampart::QueryResult::from(raw);
        self.out.push_str(&indent(&table::render(&result)));
        Ok(())
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn tour_on(engine: &Engine, url: &str) -> Result<String, Error> {
    let mut backend = open(url)?;
    backend.batch(&create_tables(engine.policy_set(), backend.dialect()))?;
    backend.batch(SAMPLE_DATA)?;
    let mut t = Tour {
        engine,
        url,
        out: String::new(),
    };
    t.say("Rampart demo: the policies/saas example on an in-memory SQLite database.");
    t.say("Two tenants, acme and globex, share one `orders` table. Members see their");
    t.say("own orders, admins every order of their tenant; nobody crosses tenants.");
    t.say("\nThe table, as its owner sees it (no policies):");
    t.all_orders()?;

    t.heading("1. Two tenants run the same query and see their own rows");
    let mut ann = t.connect(ACME_ANN)?;
    let mut eve = t.connect(GLOBEX_EVE)?;
    let query = "SELECT id, owner, amount, status FROM orders ORDER BY id";
    t.step(&mut ann, "ann (acme, admin)", query)?;
    t.step(&mut eve, "eve (globex, admin)", query)?;

    t.heading("2. A member and an admin of one tenant see different rows");
    let mut bob = t.connect(ACME_BOB)?;
    t.step(&mut bob, "bob (acme, member)", query)?;
    t.say("(ann, an admin of acme, saw orders 1 to 3 above.)");

    t.heading("3. Writes: presets fill in the tenant; a write into another tenant is refused");
    t.step(
        &mut bob,
        "bob (acme, member)",
        "INSERT INTO orders (id, amount, status) VALUES (6, 250, 'open') RETURNING id, tenant_id, owner",
    )?;
    t.step(
        &mut bob,
        "bob (acme, member)",
        "INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES (7, 'globex', 'bob', 100, 'open')",
    )?;
    t.step(
        &mut bob,
        "bob (acme, member)",
        "UPDATE orders SET tenant_id = 'globex' WHERE id = 1",
    )?;
    t.say("\nThe table afterwards:");
    t.all_orders()?;

    t.heading("4. An UPDATE with RETURNING: only the rows the policies let bob change");
    t.step(
        &mut bob,
        "bob (acme, member)",
        "UPDATE orders SET amount = amount + 100 RETURNING id, amount",
    )?;
    t.say("(Order 2 is paid and order 3 is ann's: bob's UPDATE policy skips them.)");

    t.heading("5. A quota: globex is on the free tier, 5 connections at most");
    let mut held = Vec::new();
    let mut refused = None;
    for _ in 0..6 {
        match t.connect(GLOBEX_EVE) {
            Ok(session) => held.push(session),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    t.say(&format!(
        "eve already holds 1 session; opening more: {} more opened, then",
        held.len()
    ));
    match refused {
        Some(e) => t.say(&format!("    error[{}]: {e}", e.sqlstate())),
        None => t.say("    (no refusal: the quota did not apply)"),
    }
    drop(held);
    drop(eve);
    t.say("Dropping the sessions gives the slots back:");
    let mut eve = t.connect(GLOBEX_EVE)?;
    t.step(
        &mut eve,
        "eve (globex, admin)",
        "SELECT count(*) AS orders FROM orders",
    )?;

    t.say("\nNext: `rampart explain`, `rampart rewrite` and `rampart run` on your own policies; see README.md.");
    drop(backend);
    Ok(t.out)
}
