//! `rampart migrate` as a user runs it, between two SQLite files: start,
//! `--verify` side by side (exit 1 on a difference), `--cutover`,
//! `--rollback`, the test hook's stop and a rerun, and usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use assert_cmd::Command;

const SAAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/saas");
const ACME: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn migrate(args: &[&str], stop_after: Option<&str>) -> Out {
    let mut command = Command::cargo_bin("rampart").unwrap();
    command.arg("migrate").args(args);
    match stop_after {
        Some(step) => command.env("RAMPART_MIGRATE_STOP_AFTER", step),
        None => command.env_remove("RAMPART_MIGRATE_STOP_AFTER"),
    };
    let out = command.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Two files with the saas tables (the source with rows of two tenants).
fn files(dir: &std::path::Path) -> (String, String) {
    let engine = rampart::Engine::load(SAAS).unwrap();
    let urls: Vec<String> = ["source.db", "target.db"]
        .iter()
        .map(|f| format!("sqlite:{}", dir.join(f).display()))
        .collect();
    for url in &urls {
        let mut backend = rampart::exec::open(url).unwrap();
        let ddl = rampart::sql::schema::create_tables(engine.policy_set(), backend.dialect());
        backend.batch(&ddl).unwrap();
    }
    rampart::exec::open(&urls[0])
        .unwrap()
        .batch(
            "INSERT INTO users VALUES ('ann', 'acme', 'ann@acme', 'Ann'), ('eve', 'globex', 'eve@globex', 'Eve');
             INSERT INTO orders VALUES (1, 'acme', 'ann', 10, 'open', NULL, NULL),
                                       (2, 'globex', 'eve', 20, 'open', 'x', 1700000000000000)",
        )
        .unwrap();
    (urls[0].clone(), urls[1].clone())
}

#[test]
fn migrate_verify_cutover_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = files(dir.path());
    let common = [
        "-p", SAAS, "--tenant", "acme", "-c", ACME, "--from", &from, "--to", &to,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |extra: &[&str], stop: Option<&str>| {
        let args = with(extra);
        migrate(&args.iter().map(String::as_str).collect::<Vec<_>>(), stop)
    };

    let out = run(&[], Some("recorded"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("stopped after step `recorded`"),
        "{}",
        out.stderr
    );
    let out = run(&[], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("copied"), "{}", out.stdout);
    // Not a terminal: no progress bar.
    assert_eq!(out.stderr, "");

    let out = run(&["--verify"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("table"), "{}", out.stdout);
    assert!(
        out.stdout.contains("orders") && out.stdout.contains(" ok"),
        "{}",
        out.stdout
    );

    // A change on the source after the snapshot: --verify shows it.
    rampart::exec::open(&from)
        .unwrap()
        .batch("UPDATE orders SET amount = 11 WHERE id = 1")
        .unwrap();
    let out = run(&["--verify"], None);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("DIFFERS"), "{}", out.stdout);
    // …and cutover refuses to switch.
    let out = run(&["--cutover"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("differ"), "{}", out.stderr);

    let out = run(&["--rollback"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("rolled back"), "{}", out.stdout);
    let out = run(&["--rollback"], None);
    assert!(
        out.stdout.contains("nothing to roll back"),
        "{}",
        out.stdout
    );

    let out = run(&["--cutover"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("cut over"), "{}", out.stdout);
    let out = run(&["--rollback"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("rollback refused"), "{}", out.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (from, _) = files(dir.path());
    let missing = format!("sqlite:{}", dir.path().join("missing.db").display());
    let out = migrate(
        &[
            "-p", SAAS, "--tenant", "acme", "-c", ACME, "--from", &from, "--to", &missing,
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("target database")
            && out.stderr.contains("no such SQLite database file"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("missing.db").exists());
    let out = migrate(
        &[
            "-p", SAAS, "--tenant", "acme", "--from", &from, "--to", &from,
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = migrate(
        &[
            "-p", SAAS, "--tenant", "acme", "--from", &from, "--to", &missing,
        ],
        Some("nonsense"),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown step"), "{}", out.stderr);
    let out = migrate(
        &[
            "-p",
            SAAS,
            "--tenant",
            "acme",
            "--from",
            &from,
            "--to",
            &missing,
            "--verify",
            "--rollback",
        ],
        None,
    );
    assert_eq!(out.code, 2);
}
