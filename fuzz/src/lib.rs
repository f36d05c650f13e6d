//! What the fuzz targets share: reading an input as policy text or as
//! generator bytes, SQLite helpers for the SQL oracles, and a naive
//! implementation of PostgreSQL's policy combination for `combine`.

pub mod naive;
pub mod sqlite;

use rampart::gen::{self, typed, Unstructured};
use rampart::lang::model::PolicySet;
use rampart::lang::{check, parse_file};

/// An input is either `T<policy text>\0<bytes>` (text mode: the seeds from
/// `policies/` and the test cases) or any other bytes, read by the generators.
pub enum Input<'a> {
    Text { text: &'a str, rest: &'a [u8] },
    Generated(&'a [u8]),
}

impl<'a> Input<'a> {
    pub fn split(data: &'a [u8]) -> Option<Input<'a>> {
        match data.split_first() {
            Some((b'T', tail)) => {
                let end = tail.iter().position(|b| *b == 0).unwrap_or(tail.len());
                let text = std::str::from_utf8(&tail[..end]).ok()?;
                let rest = tail.get(end + 1..).unwrap_or(&[]);
                Some(Input::Text { text, rest })
            }
            _ => Some(Input::Generated(data)),
        }
    }
}

/// A checked policy set, the text it came from, and the bytes left over for
/// generating rows, contexts and SQL.
pub struct Scenario<'a> {
    pub set: PolicySet,
    pub text: String,
    pub u: Unstructured<'a>,
    /// Whether the set was generated (then it must check clean).
    pub generated: bool,
}

/// Reads a scenario: text mode parses and checks the text (and gives up
/// quietly when it does not check); generated mode builds a well-typed set
/// with `options`, which must check clean.
pub fn scenario(data: &[u8], options: typed::Options) -> Option<Scenario<'_>> {
    match Input::split(data)? {
        Input::Text { text, rest } => {
            let file = parse_file(0, text).ok()?;
            let set = check(std::slice::from_ref(&file)).set?;
            Some(Scenario {
                set,
                text: text.to_string(),
                u: Unstructured::new(rest),
                generated: false,
            })
        }
        Input::Generated(bytes) => {
            let mut u = Unstructured::new(bytes);
            let file = typed::policy_set(&mut u, options).ok()?;
            let text = file.to_string();
            let reparsed = match parse_file(0, &text) {
                Ok(f) => f,
                Err(d) => panic!("generated policy text does not parse: {d:?}\n{text}"),
            };
            let checked = check(std::slice::from_ref(&reparsed));
            let Some(set) = checked.set else {
                panic!(
                    "generated policy set does not check: {:?}\n{text}",
                    checked.diagnostics
                );
            };
            Some(Scenario {
                set,
                text,
                u,
                generated: true,
            })
        }
    }
}

/// The values generators for this scenario's set.
pub fn hints(set: &PolicySet) -> gen::values::Hints {
    gen::values::Hints::of(set)
}
