//! `rampart explain`, `eval` and `emit-postgres` run as a built binary on
//! tests/cli/orders.policy: output snapshots, exit codes and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use assert_cmd::Command;

const POLICY: &str = "tests/cli/orders.policy";
const MEMBER: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}"#;
const ADMIN: &str =
    r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}"#;
const ROW: &str =
    r#"{"id": 1, "tenant_id": "acme", "owner": "bob", "amount": 50, "qty": 2, "note": null}"#;

/// Runs the binary; returns (exit code, stdout, stderr).
fn rampart(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("rampart")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

fn eval(ctx: &str, command: &str, row: &str, format: &str) -> (i32, String, String) {
    rampart(&[
        "eval",
        "-p",
        POLICY,
        "-c",
        ctx,
        "--table",
        "orders",
        "--command",
        command,
        "--row",
        row,
        "--format",
        format,
    ])
}

#[test]
fn explain_shows_applied_and_skipped_policies_and_every_form() {
    for (name, ctx, command) in [
        ("member_select", MEMBER, "select"),
        ("admin_update", ADMIN, "update"),
        ("member_insert", MEMBER, "insert"),
    ] {
        let (code, stdout, stderr) = rampart(&[
            "explain",
            "-p",
            POLICY,
            "-c",
            ctx,
            "--table",
            "orders",
            "--command",
            command,
        ]);
        assert_eq!(code, 0, "{stderr}");
        insta::assert_snapshot!(format!("explain_{name}"), stdout);
    }
}

/// The verdict part of `eval`'s output: its first lines (text) or the
/// `using` / `check` keys (JSON); the evaluators' answers follow.
fn verdict(stdout: &str, format: &str) -> String {
    if format == "json" {
        let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
        let mut kept = serde_json::Map::new();
        for key in ["using", "check"] {
            if let Some(x) = v.get(key) {
                kept.insert(key.into(), x.clone());
            }
        }
        return serde_json::Value::Object(kept).to_string();
    }
    stdout
        .lines()
        .filter(|l| l.starts_with("using: ") || l.starts_with("check: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn eval_prints_each_clause_in_text_and_json() {
    let cases = [
        (MEMBER, "select", ROW.to_string(), "text", "using: true\n"),
        (
            MEMBER,
            "update",
            ROW.to_string(),
            "json",
            "{\"check\":false,\"using\":false}",
        ),
        (
            ADMIN,
            "update",
            ROW.to_string(),
            "json",
            "{\"check\":true,\"using\":true}",
        ),
        (ADMIN, "insert", ROW.to_string(), "json", "{\"check\":true}"),
        (
            ADMIN,
            "delete",
            ROW.replace("\"acme\"", "\"globex\""),
            "text",
            "using: false\n",
        ),
    ];
    for (ctx, command, row, format, expected) in cases {
        let (code, stdout, stderr) = eval(ctx, command, &row, format);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(verdict(&stdout, format), expected, "{stdout}");
    }
}

/// Both evaluators' answers, and a clause the compiler refuses (`exists`
/// over `posts`) decided by the interpreter, in text and JSON.
#[test]
fn eval_shows_both_evaluators() {
    let mut out = String::new();
    for format in ["text", "json"] {
        for (ctx, command) in [(MEMBER, "select"), (ADMIN, "update"), (ADMIN, "insert")] {
            let (code, stdout, stderr) = eval(ctx, command, ROW, format);
            assert_eq!(code, 0, "{stderr}");
            out.push_str(&format!("$ eval {command} --format {format}\n{stdout}\n"));
        }
        let blog = r#"{"tenant": {"id": "site"}, "request": {"user": "bob", "roles": []}}"#;
        let hidden = r#"{"id": 1, "site_id": "site", "post_id": 2, "author": "bob", "body": "hi", "hidden": true}"#;
        let (code, stdout, stderr) = rampart(&[
            "eval",
            "-p",
            "policies/blog",
            "-c",
            blog,
            "--table",
            "comments",
            "--command",
            "select",
            "--row",
            hidden,
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{stderr}");
        out.push_str(&format!(
            "$ eval -p policies/blog comments select --format {format}\n{stdout}\n"
        ));
    }
    insta::assert_snapshot!("eval_both_evaluators", out);
}

#[test]
fn eval_reports_null_and_evaluation_errors_with_sqlstate() {
    let null_owner = ROW.replace("\"owner\": \"bob\"", "\"owner\": null");
    // `owner` is not nullable: the row is refused, naming the column.
    let (code, _, stderr) = eval(MEMBER, "select", &null_owner, "text");
    assert_eq!(code, 1);
    assert!(stderr.contains("owner"), "{stderr}");
    let zero_qty = ROW.replace("\"qty\": 2", "\"qty\": 0");
    let (code, stdout, stderr) = eval(ADMIN, "update", &zero_qty, "text");
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr, "error[22012]: division by zero\n");
}

#[test]
fn bad_context_and_rows_are_refused_naming_the_field() {
    let cases = [
        (
            r#"{"tenant": {"id": "acme"}, "request": {"user": "bob", "roles": []}}"#,
            ROW,
            "tenant.plan: missing",
        ),
        (
            r#"{"tenant": {"id": "acme", "plan": "pro", "x": 1}, "request": {"user": "bob", "roles": []}}"#,
            ROW,
            "tenant.x: not declared",
        ),
        (
            r#"{"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": "admin"}}"#,
            ROW,
            "request.roles: expected set<text>, found string",
        ),
        (
            r#"{"tenant": {"id": 7, "plan": "pro"}, "request": {"user": "bob", "roles": []}}"#,
            ROW,
            "tenant.id: expected text, found integer",
        ),
        ("{not json", ROW, "context is not valid JSON"),
        (MEMBER, r#"{"id": 1}"#, "missing column `tenant_id`"),
        (
            MEMBER,
            &ROW.replace("\"note\": null", "\"note\": null, \"extra\": 1"),
            "unknown column `extra`",
        ),
        (
            MEMBER,
            &ROW.replace("\"amount\": 50", "\"amount\": \"50\""),
            "amount: expected int, found string",
        ),
    ];
    for (ctx, row, expected) in cases {
        let (code, stdout, stderr) = eval(ctx, "select", row, "text");
        assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in {stderr}"
        );
    }
    let (code, _, stderr) = rampart(&[
        "eval",
        "-p",
        POLICY,
        "-c",
        MEMBER,
        "--table",
        "invoices",
        "--command",
        "select",
        "--row",
        ROW,
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown table `invoices`"), "{stderr}");
    let (code, _, stderr) = rampart(&[
        "explain",
        "-p",
        POLICY,
        "-c",
        MEMBER,
        "--table",
        "orders",
        "--command",
        "merge",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown command `merge`"), "{stderr}");
    let (code, _, stderr) = rampart(&[
        "explain",
        "-p",
        POLICY,
        "-c",
        "@/nonexistent.json",
        "--table",
        "orders",
        "--command",
        "select",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn emit_postgres_prints_native_ddl() {
    let (code, stdout, stderr) = rampart(&["emit-postgres", POLICY]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("emit_postgres_orders", stdout);
}

#[test]
fn rewrite_prints_sql_or_refuses_with_exit_1() {
    let (code, stdout, stderr) = rampart(&[
        "rewrite",
        "-p",
        POLICY,
        "-c",
        MEMBER,
        // A condition that can fail keeps the policy fence.
        "SELECT id FROM orders o WHERE 10 / o.amount > 1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("OFFSET 0) o"), "{stdout}");
    let (code, stdout, stderr) = rampart(&[
        "rewrite",
        "-p",
        POLICY,
        "-c",
        MEMBER,
        "--dialect",
        "sqlite",
        "TRUNCATE orders",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("error[0A000]: "), "{stderr}");
}
