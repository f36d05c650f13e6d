//! Transaction control through a session: `BEGIN`, `COMMIT`, `ROLLBACK`,
//! savepoints, with PostgreSQL's answers (and its aborted-transaction rule)
//! where SQLite's differ, and change events delivered or dropped with them.

use std::sync::PoisonError;

use crate::error::{DatabaseError, Error};
use crate::sql::rewrite::Transaction;

use super::{Session, TxState};

impl Session {
    /// Transaction control, with PostgreSQL's answers where SQLite's differ.
    pub(super) fn transaction(&mut self, sql: &str, control: &Transaction) -> Result<(), Error> {
        let outside = || {
            Error::Database(DatabaseError::new(
                "25P01",
                format!(
                    "{} can only be used in transaction blocks",
                    sql_keyword(sql)
                ),
            ))
        };
        match control {
            Transaction::Begin => {
                // PostgreSQL only warns about a BEGIN inside a transaction.
                if self.tx == TxState::Idle {
                    self.backend.batch(sql)?;
                    self.tx = TxState::Open;
                }
            }
            Transaction::Commit | Transaction::Rollback => {
                if self.tx == TxState::Idle {
                    return Ok(());
                }
                let gate = self.engine.write_gate();
                let _running = gate.read().unwrap_or_else(PoisonError::into_inner);
                // A transaction that wrote does not commit once the
                // tenant's writes are stopped: it rolls back.
                if *control == Transaction::Commit && self.wrote {
                    let _ = self.refuse_if_stopped();
                }
                let commit = *control == Transaction::Commit && self.tx == TxState::Open;
                let refused = *control == Transaction::Commit
                    && self.wrote
                    && self
                        .tenant
                        .as_ref()
                        .is_some_and(|t| self.engine.writes_stopped(t));
                self.wrote = false;
                let result = self
                    .backend
                    .batch(if commit { "COMMIT" } else { "ROLLBACK" });
                let pending = std::mem::take(&mut self.pending);
                self.savepoints.clear();
                self.tx = TxState::Idle;
                if commit && result.is_ok() {
                    self.accounting.settle();
                } else {
                    self.accounting.forget(0);
                }
                result?;
                if refused {
                    return Err(Error::WritesStopped {
                        tenant: self.tenant.clone().unwrap_or_default(),
                    });
                }
                if commit {
                    self.deliver(pending);
                }
            }
            Transaction::Savepoint(name) => {
                match self.tx {
                    TxState::Idle => return Err(outside()),
                    TxState::Aborted => return Err(Error::TransactionAborted),
                    TxState::Open => {}
                }
                self.backend.batch(sql)?;
                self.savepoints.push((name.clone(), self.pending.len()));
            }
            Transaction::Release(name) | Transaction::RollbackTo(name) => {
                if self.tx == TxState::Idle {
                    return Err(outside());
                }
                let rollback = matches!(control, Transaction::RollbackTo(_));
                if self.tx == TxState::Aborted && !rollback {
                    return Err(Error::TransactionAborted);
                }
                let Some(at) = self.savepoints.iter().rposition(|(n, _)| n == name) else {
                    self.fail_in_transaction();
                    return Err(Error::Database(DatabaseError::new(
                        "3B001",
                        format!("savepoint \"{name}\" does not exist"),
                    )));
                };
                if let Err(e) = self.backend.batch(sql) {
                    self.fail_in_transaction();
                    return Err(e.into());
                }
                if rollback {
                    let pending_at = self.savepoints.get(at).map_or(0, |(_, n)| *n);
                    self.pending.truncate(pending_at);
                    // What the rolled-back part installed may be gone.
                    self.accounting.forget(0);
                    self.savepoints.truncate(at + 1);
                    self.tx = TxState::Open;
                } else {
                    self.savepoints.truncate(at);
                }
            }
        }
        Ok(())
    }
}

/// `SAVEPOINT`, `RELEASE SAVEPOINT`, `ROLLBACK TO SAVEPOINT` for messages.
fn sql_keyword(sql: &str) -> String {
    sql.split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_alphabetic()) && *w == w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}
