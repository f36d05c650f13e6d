//! Fuzz target: a policy set (generated, or text from the seeds) × rows ×
//! contexts. For every table, command and clause, `rampart::policy::combine`
//! through the interpreter admits exactly what the naive reading of
//! PostgreSQL's rules (`rampart_fuzz::naive`) admits; and each statement kind
//! meets the cells of PostgreSQL's "Policies Applied by Command Type".

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::gen::{typed, values};
use rampart::lang::model::Value;
use rampart::lang::Command;
use rampart::policy::combine::{combine, conditions, Clause, StatementKind};
use rampart::policy::interp::{admits, Env};
use rampart::policy::specialise;
use rampart_fuzz::{naive, scenario};

const KINDS: [StatementKind; 6] = [
    StatementKind::Select,
    StatementKind::SelectForUpdate,
    StatementKind::Insert,
    StatementKind::Update,
    StatementKind::Delete,
    StatementKind::InsertOnConflictUpdate,
];

fuzz_target!(|data: &[u8]| {
    let options = typed::Options {
        exists: false,
        max_policies: 6,
    };
    let Some(mut s) = scenario(data, options) else {
        return;
    };
    let set = &s.set;
    let hints = rampart_fuzz::hints(set);
    for (table, t) in set.tables.iter().enumerate() {
        for kind in KINDS {
            for reads in [false, true] {
                let mut got: Vec<_> = conditions(set, table, kind, reads)
                    .into_iter()
                    .map(|c| (c.image, c.on_fail, c.command, c.clause))
                    .collect();
                let mut want = naive::cells(kind, reads);
                got.sort_by_key(|c| format!("{c:?}"));
                want.sort_by_key(|c| format!("{c:?}"));
                assert_eq!(got, want, "{kind:?}, reads {reads}");
            }
        }
        let Ok(context) = values::context(&mut s.u, set, &hints) else {
            return;
        };
        let Ok(rows) = (0..4)
            .map(|_| values::row(&mut s.u, t, &hints))
            .collect::<Result<Vec<_>, _>>()
        else {
            return;
        };
        let known: Vec<Option<Value>> = context.iter().cloned().map(Some).collect();
        for command in Command::ALL {
            for clause in [Clause::Using, Clause::Check] {
                let combined = combine(set, table, command, clause);
                for row in &rows {
                    let env = Env {
                        row,
                        context: &context,
                    };
                    // Specialised on the whole context, as the rewriter does
                    // (the roles known, so a policy for other roles is gone
                    // before its constants are folded; see fuzz/README.md).
                    let got = specialise(&combined.expr, &known).and_then(|e| admits(&e, &env));
                    let want = naive::decide(set, table, command, clause, &env, &known);
                    let agree = match (&got, &want) {
                        (Ok(g), Ok(w)) => g == w,
                        // PostgreSQL promises no order of evaluation: with an
                        // error somewhere, any error met must be one of them.
                        (Err(e), Err(errors)) => errors.contains(e),
                        (Ok(_), Err(_)) => true,
                        (Err(_), Ok(_)) => false,
                    };
                    assert!(
                        agree,
                        "table {}, {command} {clause:?}: combined {got:?}, naive {want:?}\n\
                         row {row:?}\ncontext {context:?}\ncombined {:?}\n--- policies:\n{}",
                        t.name.name, combined.expr, s.text
                    );
                }
            }
        }
    }
});
