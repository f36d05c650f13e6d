//! `emit-postgres` gives every policy of a table its own name: the merged
//! permissive policy of a command (`<table>__<command>`) steps aside for a
//! policy already called so, or emitted so (`<name>__<command>`).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use rampart::Engine;

/// The names of the `CREATE POLICY` statements, in order.
fn policy_names(ddl: &str) -> Vec<String> {
    ddl.lines()
        .filter_map(|l| l.strip_prefix("CREATE POLICY \""))
        .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn merged_policies_never_take_a_name_already_emitted() {
    let engine = Engine::from_source(
        "names.policy",
        "context request { user: text }
         table orders { id: int, owner: text }
         policy orders__select on orders as restrictive for select using id > 0;
         policy orders on orders as restrictive for update, delete using id > 1;
         policy mine on orders for select, update using owner == request.user;
         policy low on orders for select, update, delete using id < 10;",
    )
    .unwrap();
    let ddl = engine.emit_postgres().unwrap();
    let names = policy_names(&ddl);
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{ddl}");
    // `orders__select` is a restrictive policy's own name, `orders__update`
    // the emitted name of the restrictive `orders` for UPDATE.
    for merged in ["orders__select_", "orders__update_"] {
        assert!(names.iter().any(|n| n == merged), "{merged} in {ddl}");
    }
    // DELETE is met by one permissive policy: it keeps its name.
    assert!(names.iter().any(|n| n == "low__delete"), "{ddl}");
    assert!(
        ddl.contains("-- select on \"orders\": \"mine\" or \"low\""),
        "{ddl}"
    );
}
