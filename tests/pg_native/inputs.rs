//! Inputs of the differential test: policy sets from case files, and
//! context values as JSON (for reports) and as `rampart.*` settings.

use std::path::{Path, PathBuf};

use rampart::lang::model::{PolicySet, Value};
use rampart::lang::print::format_timestamp;
use rampart::lang::{check, parse_file, SourceMap};
use rampart::policy::context::context_from_value;
use serde_json::json;

/// A checked policy set and how to name it in a report.
pub struct Case {
    pub name: String,
    /// The policy text, shown in reports (files are named instead).
    pub text: Option<String>,
    pub set: PolicySet,
    /// Whether the data may hold extreme numbers (no arithmetic in the set).
    pub extremes: bool,
}

/// Parses and checks files (`(name, text)`) as one set; `None` if they do
/// not check (invalid cases are not this test's business).
pub fn checked(files: &[(String, String)]) -> Option<PolicySet> {
    let mut map = SourceMap::new();
    let mut parsed = Vec::new();
    for (name, text) in files {
        let id = map.add(name.clone(), text.clone());
        parsed.push(parse_file(id, text).ok()?);
    }
    check(&parsed).set
}

/// A case file's parts: a line `#%% name.policy` starts another file.
pub fn split_files(name: &str, text: &str) -> Vec<(String, String)> {
    let mut files = vec![(name.to_string(), String::new())];
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix("#%% ") {
            files.push((format!("{name}/{}", next.trim()), String::new()));
        } else {
            files.last_mut().unwrap().1.push_str(line);
        }
    }
    files
}

pub fn uses_arithmetic(text: &str) -> bool {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .any(|l| l.contains(" + ") || l.contains(" - ") || l.contains(" * ") || l.contains(" / "))
}

pub fn file_cases(folder: &str) -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "policy"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            let set = checked(&split_files(&name, &text))?;
            Some(Case {
                name,
                text: None,
                set,
                extremes: !uses_arithmetic(&text),
            })
        })
        .collect()
}

/// The text form of a context value in a `rampart.*` setting (INTERFACE.md).
pub fn setting_text(value: &Value) -> String {
    let element = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    match value {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Text(s) => s.clone(),
        Value::Timestamp(t) => format_timestamp(*t),
        Value::TextSet(s) => format!(
            "{{{}}}",
            s.iter().map(|e| element(e)).collect::<Vec<_>>().join(",")
        ),
        Value::IntSet(s) => format!(
            "{{{}}}",
            s.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        ),
    }
}

pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Int(i) => json!(i),
        Value::Float(x) => json!(x),
        Value::Bool(b) => json!(b),
        Value::Text(s) => json!(s),
        Value::Timestamp(t) => json!(format_timestamp(*t)),
        Value::TextSet(s) => json!(s),
        Value::IntSet(s) => json!(s),
    }
}

/// The context as JSON (for reports), read back through `context_from_value`.
pub fn context_json(set: &PolicySet, values: &[Value]) -> (String, Vec<Value>) {
    let mut doc = json!({"tenant": {}, "request": {}});
    for (f, v) in set.context.iter().zip(values) {
        doc[f.block.keyword()][&f.name] = to_json(v);
    }
    let parsed = context_from_value(set, &doc).unwrap();
    (doc.to_string(), parsed)
}
