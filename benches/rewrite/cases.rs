//! The statements of the rewrite benchmark (`benches/rewrite.rs`) and their
//! baseline, shared with `examples/rewrite_count.rs`, which runs them under
//! callgrind: one tenant of `policies/saas` and three statements.

#![allow(clippy::unwrap_used)]

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

pub const CONTEXT: &str = r#"{"tenant": {"id": "acme", "plan": "pro"},
    "request": {"user": "bob", "roles": ["member"]}}"#;

pub const CASES: [(&str, &str); 3] = [
    (
        "simple",
        "SELECT id, amount FROM orders WHERE status = 'open'",
    ),
    (
        "join",
        "SELECT u.name, p.name, m.org_id FROM users u \
         JOIN memberships m ON m.user_id = u.id \
         JOIN projects p ON p.org_id = m.org_id WHERE u.email LIKE '%@acme.test'",
    ),
    (
        "update",
        "UPDATE orders SET amount = amount + 1 WHERE status = 'open' RETURNING id, amount",
    ),
];

/// sqlparser's parse + print of `sql`: the baseline.
pub fn parse_print(sql: &str) -> String {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
    statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";\n")
}
