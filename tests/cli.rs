//! The `rampart` command, run as a built binary: exit codes, what goes to
//! stdout and stderr, and bad input that must be refused without a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use assert_cmd::Command;

const GOOD: &str = "\
context tenant { id: text }
table orders { id: int, tenant_id: text = tenant.id }
policy tenant_isolation on orders using tenant_id == tenant.id;
";

const FORMATTED: &str = "\
context tenant {
  id: text
}

table orders {
  id: int
  tenant_id: text = tenant.id
}

policy tenant_isolation on orders
  using tenant_id == tenant.id;
";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn rampart(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::cargo_bin("rampart").unwrap();
    cmd.args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let output = cmd.output().unwrap();
    let run = Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "rampart {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

// ------------------------------------------------------------ the command line

#[test]
fn version_and_help() {
    let run = rampart(&["--version"], None);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("rampart "), "{}", run.stdout);
    for sub in ["check", "fmt"] {
        let run = rampart(&[sub, "--help"], None);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.contains("Examples:"),
            "{sub} --help: {}",
            run.stdout
        );
        assert!(run.stdout.contains(&format!("rampart {sub} ")));
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(rampart(&[], None).code, 2);
    assert_eq!(rampart(&["frobnicate"], None).code, 2);
    assert_eq!(rampart(&["check"], None).code, 2);
    assert_eq!(
        rampart(&["check", "--error-format", "xml", "x"], None).code,
        2
    );
    assert_eq!(rampart(&["fmt", "-", "other.policy"], None).code, 2);
}

// ------------------------------------------------------------ check

#[test]
fn check_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.policy", GOOD);
    let run = rampart(&["check", path_str(&file)], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "checked 1 file: 1 table, 1 policy, 0 errors, 0 warnings\n"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn check_a_directory_recursively_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "context.policy",
        "context tenant { id: text }\n",
    );
    write(
        dir.path(),
        "nested/orders.policy",
        GOOD.replace("context tenant { id: text }", ""),
    );
    write(dir.path(), "notes.txt", "not a policy");
    let run = rampart(&["check", path_str(dir.path())], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("checked 2 files: 1 table, 1 policy"),
        "{}",
        run.stdout
    );

    let run = rampart(&["check", "-"], Some(GOOD.as_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("checked 1 file"));
}

#[test]
fn check_reports_a_syntax_error_with_a_caret() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.policy",
        "table t { a: int }\npolicy p on t using a == ;\n",
    );
    let run = rampart(&["check", path_str(&file)], None);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    let first = run.stderr.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "{}:2:26: error: expected an expression, found `;`",
            file.display()
        )
    );
    assert!(
        run.stderr.contains("2 │ policy p on t using a == ;"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains('^'));
}

#[test]
fn check_prints_json_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.policy", "policy p on t using ;\n");
    let b = write(dir.path(), "b.policy", "polcy q on t;\n");
    let run = rampart(
        &[
            "check",
            "--error-format",
            "json",
            path_str(&a),
            path_str(&b),
        ],
        None,
    );
    assert_eq!(run.code, 1);
    let values: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(values.len(), 2, "{}", run.stderr);
    for (value, file) in values.iter().zip([&a, &b]) {
        assert_eq!(value["severity"], "error");
        assert_eq!(value["file"], path_str(file));
        assert_eq!(value["line"], 1);
        assert!(value["column"].as_u64().unwrap() >= 1);
        assert!(value["message"].as_str().unwrap().starts_with("expected"));
    }
}

#[test]
fn check_refuses_bad_input_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "empty.policy",
            Vec::new(),
            "error: no declarations found in",
        ),
        (
            "latin1.policy",
            b"table t { a: int }\npolicy caf\xe9 on t;\n".to_vec(),
            ":2:11: error: policy file is not valid UTF-8: invalid byte 0xe9",
        ),
        (
            "garbage.policy",
            (0..=255u8).cycle().take(4096).collect(),
            "error:",
        ),
        (
            "huge.policy",
            vec![b'('; 2 << 20],
            "error: policy file is too large",
        ),
        (
            "parens.policy",
            vec![b'('; 100_000],
            "error: expression nests more than 256",
        ),
        (
            "nested.policy",
            format!(
                "policy p on t using {}1{};",
                "(".repeat(300),
                ")".repeat(300)
            )
            .into_bytes(),
            "error: expression nests more than 256",
        ),
        (
            "keyword.policy",
            b"tabel t { a: int }\n".to_vec(),
            ":1:1: error: expected",
        ),
        (
            "comments.policy",
            b"# only a comment\n".to_vec(),
            "no declarations found",
        ),
    ];
    for (name, contents, expected) in cases {
        let file = write(dir.path(), name, &contents);
        let run = rampart(&["check", path_str(&file)], None);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
        // A long line is shown as a window, never whole.
        assert!(
            run.stderr.len() < 4000,
            "{name}: {} bytes of stderr",
            run.stderr.len()
        );
        assert!(
            run.stderr.lines().all(|l| l.chars().count() < 400),
            "{name}: {}",
            run.stderr
        );
    }
}

#[test]
fn check_io_problems_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.policy");
    let run = rampart(&["check", path_str(&missing)], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
    assert!(run.stderr.contains("missing.policy"));

    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    write(&empty_dir, "readme.txt", "no policies here");
    let run = rampart(&["check", path_str(&empty_dir)], None);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: no `.policy` files in directory `{}`\n",
            empty_dir.display()
        )
    );
}

// ------------------------------------------------------------ fmt

#[test]
fn fmt_check_lists_files_that_would_change() {
    let dir = tempfile::tempdir().unwrap();
    let messy = write(dir.path(), "messy.policy", GOOD);
    let tidy = write(
        dir.path(),
        "tidy.policy",
        FORMATTED.replace("orders", "items"),
    );
    let run = rampart(&["fmt", "--check", path_str(dir.path())], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{}\n", messy.display()));
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap(),
        GOOD,
        "--check changed a file"
    );

    let run = rampart(&["fmt", "--check", path_str(&tidy)], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn fmt_rewrites_in_place_only_what_changes() {
    let dir = tempfile::tempdir().unwrap();
    let messy = write(dir.path(), "messy.policy", GOOD);
    let run = rampart(&["fmt", path_str(&messy)], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), FORMATTED);
    let run = rampart(&["fmt", "--check", path_str(&messy)], None);
    assert_eq!(run.code, 0);
}

#[test]
fn fmt_keeps_comments() {
    let source = "# header\ntable t { a: int # the a\n}\n";
    let run = rampart(&["fmt", "-"], Some(source.as_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "# header\ntable t {\n  a: int  # the a\n}\n");
}

#[test]
fn fmt_stdin_to_stdout() {
    let run = rampart(&["fmt", "-"], Some(GOOD.as_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, FORMATTED);

    let run = rampart(&["fmt", "--check", "-"], Some(GOOD.as_bytes()));
    assert_eq!(run.code, 1);
    let run = rampart(&["fmt", "--check", "-"], Some(FORMATTED.as_bytes()));
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "");
}

#[test]
fn fmt_refuses_what_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let bad = b"policy p on t using (;\n";
    let file = write(dir.path(), "bad.policy", bad);
    let run = rampart(&["fmt", path_str(&file)], None);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains(":1:22: error:"), "{}", run.stderr);
    assert!(run.stderr.contains("not formatted"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bad,
        "a refused file was changed"
    );

    let run = rampart(&["fmt", "-"], Some(b"\xff\xfe"));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    let run = rampart(&["fmt", path_str(&dir.path().join("nope"))], None);
    assert_eq!(run.code, 2);
}
