//! The leak test: a user condition that divides by zero only on rows the
//! policies hide must fail neither under native RLS (PostgreSQL's security
//! barrier) nor through the rewriter; unrewritten, as the owner, it fails.

use postgres::Client;
use rampart::lang::model::{Table, Ty};
use rampart::{Context, Dialect, Engine};

use crate::data::{insert, sentinel, SENTINEL};
use crate::{agree, answer, brief, Report};

/// Queries whose condition `1 / (c + 777)` fails on the sentinel row only.
fn queries(table: &Table, other: &str) -> Vec<String> {
    let name = match &table.name.schema {
        Some(s) => format!("{s}.{}", table.name.name),
        None => table.name.name.clone(),
    };
    let Some(c) = table.columns.iter().find(|c| c.ty.ty == Ty::Int) else {
        return Vec::new();
    };
    let c = &c.name;
    let fail = |q: &str| format!("1 / ({q}{c} - ({SENTINEL})) >= 0");
    vec![
        format!("SELECT * FROM {name} WHERE {}", fail("")),
        format!("SELECT x.{c} FROM {name} x WHERE x.{c} > -1000 AND {}", fail("x.")),
        format!("SELECT count(*) FROM (SELECT * FROM {name}) s WHERE {}", fail("s.")),
        format!(
            "SELECT count(*) FROM {name} x WHERE NOT EXISTS \
             (SELECT 1 FROM {name} y WHERE 1 / (y.{c} - ({SENTINEL})) < 0)"
        ),
        format!("SELECT x.{c} FROM {name} x JOIN {name} y ON {} AND x.{c} = y.{c}", fail("y.")),
        format!("SELECT x.{c} FROM {other} z LEFT JOIN {name} x ON {}", fail("x.")),
        format!("SELECT {c}, count(*) FROM {name} GROUP BY {c} HAVING sum(1 / ({c} - ({SENTINEL}))) >= 0"),
        format!("SELECT 1 / ({c} - ({SENTINEL})) FROM {name}"),
        format!("SELECT {c} FROM {name} WHERE {c} > -1000 ORDER BY 1 / ({c} - ({SENTINEL}))"),
        format!(
            "SELECT {c} FROM {name} WHERE {c} IN (SELECT {c} FROM {name} WHERE {})",
            fail("")
        ),
        format!("WITH w AS (SELECT * FROM {name}) SELECT count(*) FROM w WHERE {}", fail("w.")),
        format!("SELECT {c} FROM {name} WHERE {} FOR UPDATE", fail("")),
    ]
}

/// Adds a hidden sentinel row to each tenant table, runs the leak queries
/// under each context and returns how many were compared.
pub fn run(
    engine: &Engine,
    contexts: &[String],
    user: &mut Client,
    su: &mut Client,
    report: &mut Report,
) -> usize {
    let set = engine.policy_set();
    let mut all = Vec::new();
    let other = set
        .tables
        .iter()
        .find(|t| t.open)
        .or(set.tables.first())
        .map(|t| t.name.to_string())
        .unwrap();
    for table in &set.tables {
        let Some(row) = sentinel(table) else {
            continue;
        };
        insert(su, table, &[row]);
        all.extend(queries(table, &other));
    }
    for sql in &all {
        let unprotected = answer(su, sql);
        if !matches!(&unprotected, Err(e) if e.starts_with("22012")) {
            report.mismatches.push(format!(
                "leak test: `{sql}` should divide by zero without policies, gave {}",
                brief(&unprotected)
            ));
        }
    }
    let mut compared = 0;
    for ctx_json in contexts {
        let ctx = Context::from_json(ctx_json).unwrap();
        crate::set_context(user, engine, &ctx);
        for sql in &all {
            let native = answer(user, sql);
            let rewritten = match engine.rewrite(&ctx, Dialect::Postgres, sql) {
                Ok(r) => r,
                Err(e) => {
                    report
                        .mismatches
                        .push(format!("leak test: `{sql}` refused: {e}"));
                    continue;
                }
            };
            let got = answer(su, &rewritten);
            compared += 1;
            if native.is_err() || got.is_err() || !agree(&native, &got, false) {
                report.mismatches.push(format!(
                    "leak test, context {ctx_json}\nstatement: {sql}\nrewritten: {rewritten}\n\
                     native RLS: {}\nrewriter:   {}",
                    brief(&native),
                    brief(&got)
                ));
            }
        }
    }
    compared
}
