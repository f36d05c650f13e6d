//! Cases the fuzz targets (`fuzz/`) found, each kept as a test: the policy
//! text, row and context from the failure message, and what the oracle says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rampart::lang::model::{PolicySet, Value};
use rampart::lang::{check, parse_file, Command};
use rampart::policy::combine::{combine, Clause};
use rampart::policy::interp::{admits, Env};

fn policy_set(text: &str) -> PolicySet {
    let file = parse_file(0, text).unwrap();
    check(std::slice::from_ref(&file)).set.unwrap()
}

/// `combine`: with `request.roles` null, no `to` role matches, so a
/// restrictive policy for roles does not apply (as PostgreSQL, whose role
/// test is never unknown); the guard must not turn null and deny the row.
#[test]
fn null_roles_do_not_apply_restrictive_role_policies() {
    let set = policy_set(
        "context request { roles: set<text>? }
         table t { id: int }
         policy everyone on t using true;
         policy admins_only on t as restrictive to admin using id > 5;",
    );
    let combined = combine(&set, 0, Command::Select, Clause::Using);
    let env = Env {
        row: &[Value::Int(1)],
        context: &[Value::Null],
    };
    assert!(admits(&combined.expr, &env).unwrap(), "{:?}", combined.expr);
}
