//! Corpus files (`tests/pg_rewrite/*.sql`): a header of `-- key: value`
//! lines (the policy set, contexts, data pools), then statements ending with
//! `;` at the end of a line; `-- ordered` marks the next one as fully ordered,
//! `-- diverges: why` as a known difference from native RLS, `-- diverges
//! without defaults: why` as one of the rewriter on its own, which does not
//! know the columns' defaults (a session reads them); `-- setup: SQL` lines
//! run as the owner once the data is loaded.

use crate::data::Pools;

/// One statement to compare.
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: String,
    /// Compared as a sequence: its ORDER BY decides every row's place.
    pub ordered: bool,
    /// A known difference from native RLS (`-- diverges: why`): run and
    /// listed, not compared.
    pub diverges: Option<String>,
    /// A known difference of the rewriter without the database's column
    /// defaults (`-- diverges without defaults: why`): listed, not compared,
    /// where the statement is rewritten on its own; compared through a
    /// session.
    pub diverges_without_defaults: Option<String>,
    /// Where it came from, for reports (`saas.sql:12`, `generated, seed 7`).
    pub origin: String,
}

/// A parsed corpus file.
#[derive(Default)]
pub struct Corpus {
    /// The policy set's directory, relative to the repository.
    pub policies: String,
    /// Contexts as JSON text.
    pub contexts: Vec<String>,
    pub pools: Pools,
    /// `-- setup: SQL`: run as the owner after the data is loaded.
    pub setup: Vec<String>,
    pub statements: Vec<Statement>,
}

fn list(value: &str) -> Vec<String> {
    value.split('|').map(|s| s.trim().to_string()).collect()
}

/// Parses a corpus file's text; `file` names it in origins.
pub fn parse(file: &str, text: &str) -> Corpus {
    let mut corpus = Corpus::default();
    let mut current = String::new();
    let mut start = 0;
    let mut ordered = false;
    let mut diverges = None;
    let mut diverges_without_defaults = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix("--") {
            let comment = comment.trim();
            match comment.split_once(':') {
                Some(("policies", v)) => corpus.policies = v.trim().to_string(),
                Some(("context", v)) => corpus.contexts.push(v.trim().to_string()),
                Some(("tenants", v)) => corpus.pools.tenants = list(v),
                Some(("users", v)) => corpus.pools.users = list(v),
                Some(("words", v)) => corpus.pools.words = list(v),
                Some(("diverges", v)) => diverges = Some(v.trim().to_string()),
                Some(("diverges without defaults", v)) => {
                    diverges_without_defaults = Some(v.trim().to_string());
                }
                Some(("setup", v)) => corpus.setup.push(v.trim().to_string()),
                _ if comment == "ordered" => ordered = true,
                _ => {}
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        if current.is_empty() {
            start = n + 1;
        } else {
            current.push('\n');
        }
        current.push_str(line);
        if let Some(sql) = current.trim_end().strip_suffix(';') {
            corpus.statements.push(Statement {
                sql: sql.trim().to_string(),
                ordered: std::mem::take(&mut ordered),
                diverges: diverges.take(),
                diverges_without_defaults: diverges_without_defaults.take(),
                origin: format!("{file}:{start}"),
            });
            current.clear();
        }
    }
    assert!(current.trim().is_empty(), "{file}: statement without `;`");
    assert!(
        !corpus.policies.is_empty(),
        "{file}: no `-- policies:` line"
    );
    corpus
}
