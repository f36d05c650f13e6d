//! Reading policy sources: files, directories of `.policy` files (sorted, so
//! that diagnostics come out in a stable order) or text from standard input,
//! into a [`SourceMap`] and parsed files, with diagnostics for what is wrong.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::ast::{FileId, PolicyFile, Span};
use super::diag::{Diagnostic, SourceMap};
use super::parse::{parse_file, MAX_FILE_BYTES};

/// The extension of policy files found in directories.
pub const POLICY_EXTENSION: &str = "policy";

/// Directories nest at most this deep below a given path (a guard against
/// runaway trees; symbolic links to directories are not followed at all).
const MAX_DIRECTORY_DEPTH: usize = 64;

/// Problems reading the input itself, before any policy text is looked at.
/// The command line reports these as I/O errors (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no `.policy` files in directory `{}`", .0.display())]
    NoPolicyFiles(PathBuf),
    #[error("no policy files given")]
    NoInput,
}

impl LoadError {
    fn io(path: &Path, source: io::Error) -> LoadError {
        LoadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A loaded policy set: its sources, the files that parsed, and every problem
/// found so far (the checker adds its own).
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    /// The files that parsed, in load order.
    pub files: Vec<PolicyFile>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// How many source files were read, parsed or not.
    pub fn file_count(&self) -> usize {
        self.sources.files().count()
    }

    fn add(&mut self, parsed: Result<PolicyFile, Vec<Diagnostic>>) {
        match parsed {
            Ok(file) => self.files.push(file),
            Err(diagnostics) => self.diagnostics.extend(diagnostics),
        }
    }

    /// A policy set that declares nothing at all is refused, naming `what`.
    fn require_declarations(&mut self, what: &str) {
        let declared = self.files.iter().map(|f| f.items.len()).sum::<usize>();
        if declared == 0 && !self.has_errors() {
            self.diagnostics.push(Diagnostic::error(
                Span::new(0, 0, 0),
                format!("no declarations found in {what}"),
            ));
        }
    }
}

/// Loads a policy set from files and directories (a directory contributes its
/// `.policy` files, recursively, sorted by path).
pub fn load(paths: &[impl AsRef<Path>]) -> Result<Loaded, LoadError> {
    let files = policy_paths(paths)?;
    let mut loaded = Loaded::default();
    for path in &files {
        let (_, parsed) = read_file(&mut loaded.sources, path)?;
        loaded.add(parsed);
    }
    let names: Vec<String> = paths
        .iter()
        .map(|p| format!("`{}`", p.as_ref().display()))
        .collect();
    loaded.require_declarations(&names.join(", "));
    Ok(loaded)
}

/// Loads a policy set from text, as read from standard input; `name` is what
/// diagnostics call it (`<stdin>`).
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    let id = loaded.sources.add(name, text);
    loaded.add(parse_file(id, text));
    loaded.require_declarations(&format!("`{name}`"));
    loaded
}

/// Like [`load_str`], for bytes that may not be UTF-8.
pub fn load_bytes(name: &str, bytes: Vec<u8>) -> Loaded {
    let mut loaded = Loaded::default();
    let (_, parsed) = add_bytes(&mut loaded.sources, name.to_string(), bytes);
    loaded.add(parsed);
    loaded.require_declarations(&format!("`{name}`"));
    loaded
}

/// The policy files that `paths` name: files as given, directories expanded
/// to their `.policy` files, recursively and sorted; each file once.
pub fn policy_paths(paths: &[impl AsRef<Path>]) -> Result<Vec<PathBuf>, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput);
    }
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|e| LoadError::io(path, e))?;
        let found = if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, 0, &mut found)?;
            if found.is_empty() {
                return Err(LoadError::NoPolicyFiles(path.to_path_buf()));
            }
            found.sort();
            found
        } else {
            vec![path.to_path_buf()]
        };
        for file in found {
            let key = fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if seen.insert(key) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    if depth > MAX_DIRECTORY_DEPTH {
        return Ok(());
    }
    let entries = fs::read_dir(dir).map_err(|e| LoadError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LoadError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| LoadError::io(&path, e))?;
        if kind.is_dir() {
            walk(&path, depth + 1, found)?;
        } else if path.extension().is_some_and(|e| e == POLICY_EXTENSION)
            // A symbolic link counts when it leads to a file.
            && (kind.is_file() || fs::metadata(&path).is_ok_and(|m| m.is_file()))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// Reads one file into `sources` and parses it. Text that is not UTF-8 or is
/// too large is added all the same (so that diagnostics can name it) and
/// reported as the parse result.
pub fn read_file(
    sources: &mut SourceMap,
    path: &Path,
) -> Result<(FileId, Result<PolicyFile, Vec<Diagnostic>>), LoadError> {
    let name = path.display().to_string();
    let file = fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
    let limit = u64::try_from(MAX_FILE_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::io(path, e))?;
    if bytes.len() > MAX_FILE_BYTES {
        let size = fs::metadata(path).map_or_else(
            |_| format!("more than {MAX_FILE_BYTES} bytes"),
            |m| format!("{} bytes", m.len()),
        );
        let id = sources.add(name, "");
        let error = Diagnostic::error(
            Span::new(id, 0, 0),
            format!("policy file is too large: {size}, the limit is {MAX_FILE_BYTES}"),
        );
        return Ok((id, Err(vec![error])));
    }
    Ok(add_bytes(sources, name, bytes))
}

/// Adds raw bytes as a source and parses them; not UTF-8 is a diagnostic at
/// the first invalid byte.
pub fn add_bytes(
    sources: &mut SourceMap,
    name: String,
    bytes: Vec<u8>,
) -> (FileId, Result<PolicyFile, Vec<Diagnostic>>) {
    match String::from_utf8(bytes) {
        Ok(text) => {
            let id = sources.add(name, text);
            let text = sources.file(id).map_or("", |f| f.text.as_str());
            (id, parse_file(id, text))
        }
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let byte = error.as_bytes().get(at).copied().unwrap_or(0);
            // The valid prefix is kept byte for byte, so offsets up to the
            // first invalid byte mean the same in the lossy text.
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let id = sources.add(name, text);
            let span = Span::new(id, at, at + char::REPLACEMENT_CHARACTER.len_utf8());
            let diagnostic = Diagnostic::error(
                span,
                format!("policy file is not valid UTF-8: invalid byte 0x{byte:02x}"),
            );
            (id, Err(vec![diagnostic]))
        }
    }
}
