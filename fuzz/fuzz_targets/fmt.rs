//! Fuzz target: policy text (from the seeds, or a generated well-typed set
//! with comments sprinkled in) → format. Formatting never reports an internal
//! error, is idempotent, keeps the checker's verdict, and keeps the meaning:
//! every policy evaluates the same before and after on generated rows.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::gen::{typed, values, Unstructured};
use rampart::lang::fmt::{format_source, FmtError};
use rampart::lang::model::PolicySet;
use rampart::lang::{check, parse_file};
use rampart::policy::interp::{evaluate, Env};
use rampart_fuzz::Input;

/// The generated set's text with comments after some lines and on lines of
/// their own, never inside a quoted text or name (which may span lines).
fn with_comments(u: &mut Unstructured<'_>, text: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for line in text.split_inclusive('\n') {
        if quote.is_none() && u.ratio(1u8, 6).unwrap_or(false) {
            out.push_str("# a comment line\n");
        }
        for c in line.chars() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                _ => {}
            }
        }
        let body = line.strip_suffix('\n').unwrap_or(line);
        out.push_str(body);
        if quote.is_none() && u.ratio(1u8, 4).unwrap_or(false) {
            out.push_str("  # trailing, with 'quotes' and ; {}");
        }
        if body.len() < line.len() {
            out.push('\n');
        }
    }
    out
}

fn checked(text: &str) -> Option<PolicySet> {
    let file = parse_file(0, text).ok()?;
    check(std::slice::from_ref(&file)).set
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::split(data) else {
        return;
    };
    let (text, rest, generated) = match input {
        Input::Text { text, rest } => (text.to_string(), rest, false),
        Input::Generated(bytes) => {
            let mut u = Unstructured::new(bytes);
            let options = typed::Options {
                exists: true,
                max_policies: 3,
            };
            let Ok(file) = typed::policy_set(&mut u, options) else {
                return;
            };
            let text = with_comments(&mut u, &file.to_string());
            let len = bytes.len() - u.len();
            (text, &bytes[len..], true)
        }
    };
    let formatted = match format_source(0, &text) {
        Ok(f) => f,
        Err(FmtError::Parse(d)) => {
            assert!(!generated, "generated text does not parse: {d:?}\n{text}");
            return;
        }
        Err(FmtError::Unstable) => panic!("the formatter is unstable on\n{text}"),
    };
    match format_source(0, &formatted) {
        Ok(again) => assert!(
            again == formatted,
            "formatting is not idempotent\n--- once:\n{formatted}\n--- twice:\n{again}"
        ),
        Err(e) => panic!("formatted text does not format: {e}\n--- formatted:\n{formatted}"),
    }
    let before = checked(&text);
    let after = checked(&formatted);
    assert_eq!(
        before.is_some(),
        after.is_some(),
        "the checker's verdict changed\n--- before:\n{text}\n--- after:\n{formatted}"
    );
    let (Some(before), Some(after)) = (before, after) else {
        return;
    };
    assert_eq!(before.tables.len(), after.tables.len());
    let mut u = Unstructured::new(rest);
    let hints = rampart_fuzz::hints(&before);
    let Ok(context) = values::context(&mut u, &before, &hints) else {
        return;
    };
    for (t, (a, b)) in before.tables.iter().zip(&after.tables).enumerate() {
        assert_eq!(a.policies.len(), b.policies.len(), "table {t}");
        let Ok(row) = values::row(&mut u, a, &hints) else {
            return;
        };
        for (p, q) in a.policies.iter().zip(&b.policies) {
            assert_eq!(
                (&p.name, p.permissive, &p.commands, &p.roles),
                (&q.name, q.permissive, &q.commands, &q.roles)
            );
            let env = Env {
                row: &row,
                context: &context,
            };
            for (x, y) in [(&p.using, &q.using), (&p.check, &q.check)] {
                let (x, y) = match (x, y) {
                    (Some(x), Some(y)) => (evaluate(x, &env), evaluate(y, &env)),
                    (None, None) => continue,
                    _ => panic!("policy `{}` lost or gained a clause\n{formatted}", p.name),
                };
                assert_eq!(
                    x, y,
                    "policy `{}` changed meaning\n--- before:\n{text}\n--- after:\n{formatted}",
                    p.name
                );
            }
        }
    }
});
