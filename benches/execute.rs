//! `Session::execute` on in-memory SQLite against the same statements run
//! directly with `rusqlite`, in the same run: a point SELECT and a
//! single-row UPDATE … RETURNING. Ids `execute/direct/{select,update}` and
//! `execute/rampart/{select,update}`; the target is rampart ≤ 1.3× direct.
//!
//! The policy set is the saas example's orders without its quota block, so
//! the rate limit does not refuse the benchmark's millions of statements
//! (the quota check's own cost is `benches/quota.rs`). 10,000 orders over
//! 10 tenants, with an index on `id`.
//!
//! For noise-free instruction counts, `RAMPART_EXECUTE_COUNT=FORM/KIND:N`
//! (`direct/select:2000`, `rampart/update:2000`, …) runs that statement N
//! times after the same set-up and exits without criterion; run it under
//! `valgrind --tool=callgrind` with N and with 0, and divide the difference
//! by N.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, Criterion};
use rampart::exec::sqlite::SqliteBackend;
use rampart::exec::Backend;
use rampart::sql::schema::create_tables;
use rampart::{Context, Dialect, Engine, Session};

const POLICIES: &str = "
context tenant { id: text }
context request { user: text, roles: set<text> }
table orders {
  id: int
  tenant_id: text = tenant.id
  owner: text = request.user
  amount: int
  status: text
}
policy isolation on orders as restrictive using tenant_id == tenant.id check tenant_id == tenant.id;
policy admin_all on orders to admin using true check amount >= 0;
";

const CONTEXT: &str = r#"{"tenant": {"id": "t3"}, "request": {"user": "ann", "roles": ["admin"]}}"#;
const SELECT: &str = "SELECT id, amount, status FROM orders WHERE id = 4203";
const UPDATE: &str = "UPDATE orders SET amount = amount + 1 WHERE id = 4203 RETURNING id, amount";

fn load_rows() -> String {
    let mut sql = String::from("CREATE INDEX orders_id ON orders (id);\n");
    for chunk in 0..10 {
        sql.push_str("INSERT INTO orders VALUES ");
        let rows: Vec<String> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| format!("({i}, 't{}', 'u{}', {}, 'open')", i % 10, i % 7, i % 500))
            .collect();
        sql.push_str(&rows.join(", "));
        sql.push_str(";\n");
    }
    sql
}

/// The two sides, set up alike, each having answered once.
struct Sides {
    direct: rusqlite::Connection,
    session: Session,
}

fn sides() -> Sides {
    let engine = Engine::from_source("bench.policy", POLICIES).unwrap();
    let ddl = create_tables(engine.policy_set(), Dialect::Sqlite);
    let data = load_rows();

    let direct = rusqlite::Connection::open_in_memory().unwrap();
    direct.execute_batch(&ddl).unwrap();
    direct.execute_batch(&data).unwrap();

    let mut backend = SqliteBackend::in_memory().unwrap();
    backend.batch(&ddl).unwrap();
    backend.batch(&data).unwrap();
    let mut session = engine
        .connect(Context::from_json(CONTEXT).unwrap(), Box::new(backend))
        .unwrap();
    // Both sides give the same answer before they are timed.
    let ours = session.execute(SELECT).unwrap();
    assert_eq!(ours.rows.len(), 1);
    assert_eq!(direct_select(&direct).len(), 1);
    Sides { direct, session }
}

fn direct_select(direct: &rusqlite::Connection) -> Vec<(i64, i64, String)> {
    let mut stmt = direct.prepare_cached(SELECT).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn direct_update(direct: &rusqlite::Connection) -> Vec<(i64, i64)> {
    let mut stmt = direct.prepare_cached(UPDATE).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// One measured statement, by its benchmark id.
#[derive(Clone, Copy)]
enum Run {
    DirectSelect,
    RampartSelect,
    DirectUpdate,
    RampartUpdate,
}

const RUNS: [(&str, Run); 4] = [
    ("direct/select", Run::DirectSelect),
    ("rampart/select", Run::RampartSelect),
    ("direct/update", Run::DirectUpdate),
    ("rampart/update", Run::RampartUpdate),
];

/// Runs one statement of `sides` (chosen before timing, so that no lookup
/// by name is measured).
fn run_one(sides: &mut Sides, run: Run) {
    match run {
        Run::DirectSelect => drop(black_box(direct_select(&sides.direct))),
        Run::DirectUpdate => drop(black_box(direct_update(&sides.direct))),
        Run::RampartSelect => drop(black_box(sides.session.execute(SELECT).unwrap())),
        Run::RampartUpdate => drop(black_box(sides.session.execute(UPDATE).unwrap())),
    }
}

fn bench(c: &mut Criterion) {
    let mut sides = sides();
    let mut group = c.benchmark_group("execute");
    for (id, run) in RUNS {
        group.bench_function(id, |b| b.iter(|| run_one(&mut sides, run)));
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("RAMPART_EXECUTE_COUNT") {
        let (id, n) = spec
            .split_once(':')
            .unwrap_or_else(|| panic!("RAMPART_EXECUTE_COUNT={spec:?}: want FORM/KIND:N"));
        let n: u64 = n.parse().unwrap();
        let (_, run) = RUNS
            .into_iter()
            .find(|(name, _)| *name == id)
            .unwrap_or_else(|| {
                panic!(
                    "unknown statement {id:?}: one of {RUNS:?}",
                    RUNS = RUNS.map(|(name, _)| name)
                )
            });
        let mut sides = sides();
        for _ in 0..n {
            run_one(&mut sides, run);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
