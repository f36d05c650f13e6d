//! Criterion benchmarks of compiled predicates (to come; see the jit branch).
fn main() {}
