//! `rampart run` and `rampart demo` as a user runs them: results as tables
//! and JSON, statements in order stopping at the first error, a refused
//! statement leaving the database file unchanged, bad URLs exiting 2, and
//! the demo's whole output as a snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use assert_cmd::Command;

const SAAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas");
const ANN: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#;
const BOB: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn rampart(args: &[&str]) -> Out {
    let out = Command::cargo_bin("rampart")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `rampart run -p policies/saas -c CONTEXT --db URL ARGS…`.
fn run(context: &str, db: &str, args: &[&str]) -> Out {
    let mut all = vec!["run", "-p", SAAS, "-c", context, "--db", db];
    all.extend_from_slice(args);
    rampart(&all)
}

/// A database file with the saas tables and a few orders.
fn database(dir: &std::path::Path) -> String {
    let path = dir.join("app.db");
    let url = format!("sqlite:{}", path.display());
    let mut backend = rampart::exec::open(&url).unwrap();
    let engine = rampart::Engine::load(SAAS).unwrap();
    backend
        .batch(&rampart::sql::schema::create_tables(
            engine.policy_set(),
            rampart::Dialect::Sqlite,
        ))
        .unwrap();
    backend
        .batch(
            "INSERT INTO orders (id, tenant_id, owner, amount, status) VALUES
             (1, 'acme', 'bob', 10, 'open'), (2, 'acme', 'ann', 20, 'open'),
             (3, 'globex', 'eve', 30, 'open')",
        )
        .unwrap();
    url
}

#[test]
fn run_prints_tables_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = run(
        BOB,
        &db,
        &[
            "SELECT id, amount, note FROM orders ORDER BY id",
            "UPDATE orders SET amount = 11",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        " id | amount | note\n----+--------+------\n  1 |     10 | NULL\n(1 row)\n(1 row affected)\n"
    );
}

#[test]
fn run_prints_json_per_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = run(ANN, &db, &["--format",
        "json",
        "SELECT id FROM orders ORDER BY id; UPDATE orders SET note = 'x' WHERE id = 2 RETURNING id, note"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            serde_json::json!({"columns": ["id"], "rows": [[1], [2]], "affected": 2}),
            serde_json::json!({"columns": ["id", "note"], "rows": [[2, "x"]], "affected": 1}),
        ]
    );
}

#[test]
fn run_stops_at_the_first_error_and_keeps_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let file = dir.path().join("app.db");
    let out = run(
        BOB,
        &db,
        &[
            "UPDATE orders SET note = 'first'",
            "UPDATE orders SET amount = -1",
            "UPDATE orders SET note = 'never'",
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "(1 row affected)\n");
    assert_eq!(
        out.stderr,
        "error[42501]: new row violates row-level security policy for table \"orders\"\n"
    );
    let before = std::fs::read(&file).unwrap();
    let refused = run(BOB, &db, &["UPDATE orders SET amount = -1"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is byte-for-byte unchanged"
    );
    let notes = run(BOB, &db, &["--format", "json", "SELECT note FROM orders"]);
    assert!(notes.stdout.contains(r#"[["first"]]"#), "{}", notes.stdout);
}

#[test]
fn run_on_memory_creates_the_declared_tables() {
    let out = run(
        ANN,
        "sqlite::memory:",
        &["SELECT count(*) AS n FROM orders"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, " n\n---\n 0\n(1 row)\n");
}

#[test]
fn run_refuses_bad_urls_and_sql() {
    let out = run(ANN, "mysql://x", &["SELECT 1"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("expected `sqlite::memory:`"),
        "{}",
        out.stderr
    );
    let out = run(ANN, "postgres://nobody@127.0.0.1:1/x", &["SELECT 1"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error[08001]: cannot connect"),
        "{}",
        out.stderr
    );
    let out = run(ANN, "sqlite::memory:", &["SELEC 1"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error[42601]"), "{}", out.stderr);
    let out = run(ANN, "sqlite::memory:", &["DROP TABLE orders"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("`DROP` statements"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn demo_tours_the_saas_example() {
    let out = rampart(&["demo"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("demo", out.stdout);
}

#[test]
fn shell_runs_sql_and_meta_commands_from_stdin() {
    let input = "SELECT id FROM orders;\n\\context\n\\rewrite SELECT 1\n\\explain orders delete\n\\context {\"tenant\": {\"id\": \"globex\", \"plan\": \"free\"}, \"request\": {\"user\": \"eve\", \"roles\": []}}\nSELECT count(*) AS n\n  FROM orders;\nDELETE FROM nowhere;\n\\bogus\n\\q\nSELECT 'never';\n";
    let out = Command::cargo_bin("rampart")
        .unwrap()
        .args(["shell", "-p", SAAS, "-c", ANN])
        .env("HOME", tempfile::tempdir().unwrap().path())
        .write_stdin(input)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" id\n----\n(0 rows)"), "{stdout}");
    assert!(stdout.contains(r#""user":"ann""#), "{stdout}");
    assert!(stdout.contains("SELECT 1"), "{stdout}");
    assert!(stdout.contains("applies  orders_admin_delete"), "{stdout}");
    assert!(stdout.contains("context switched"), "{stdout}");
    assert!(stdout.contains(" n\n---\n 0\n(1 row)"), "{stdout}");
    assert!(stdout.contains("error[42P01]"), "{stdout}");
    assert!(stdout.contains("unknown command `\\bogus`"), "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
}

#[test]
fn usage_prints_limits_and_bytes_and_recomputes() {
    let dir = tempfile::tempdir().unwrap();
    // Rows written straight into the file are not counted (no triggers on
    // that connection) until a recompute.
    let db = database(dir.path());
    let out = run(
        ANN,
        &db,
        &["INSERT INTO orders (id, amount, status) VALUES (4, 5, 'open')"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);

    // 24 a row + 8 (id) + 4 ('acme') + 3 ('ann') + 8 (amount) + 4 ('open').
    let out = rampart(&["usage", "-p", SAAS, "--db", &db]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        " tenant | tier | storage_bytes | storage_limit | connections_limit | qps_limit | max_rows
--------+------+---------------+---------------+-------------------+-----------+----------
 acme   | pro  |            51 |  107374182400 |                50 |      2000 |   100000
(1 row)
"
    );

    let out = rampart(&[
        "usage",
        "-p",
        SAAS,
        "--db",
        &db,
        "--recompute",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0]["tenant"], "acme");
    assert_eq!(lines[0]["storage_bytes"], 3 * 51);
    assert_eq!(lines[0]["limits"]["qps"], 2000);
    // globex never wrote through Rampart: its limits are not known here.
    assert_eq!(lines[1]["tenant"], "globex");
    assert_eq!(lines[1]["storage_bytes"], 53);
    assert_eq!(lines[1]["limits"], serde_json::Value::Null);

    let out = rampart(&["usage", "-p", SAAS, "--db", &db, "--tenant", "globex"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(" globex | -    |            53 | unknown"),
        "{}",
        out.stdout
    );

    let out = rampart(&["usage", "-p", SAAS, "--db", "mysql://x"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}
