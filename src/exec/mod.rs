//! Running rewritten statements: the embedded SQLite backend (and, later,
//! PostgreSQL). `rusqlite` types do not leave this module.

pub mod sqlite_functions;
