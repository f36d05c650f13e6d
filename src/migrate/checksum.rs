//! The consistency check: per table, the number of the tenant's rows and an
//! order-independent checksum of them (the wrapping sum of each row's
//! SHA-256, first 128 bits), on both sides.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::exec::Backend;

use super::tables::TenantTable;
use super::values::encode;

/// The tenant's rows of one table on one side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    /// The wrapping sum of the rows' hashes: equal multisets of rows give
    /// equal sums whatever their order.
    pub sum: u128,
}

/// One table on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCheck {
    pub table: String,
    pub source: Checksum,
    pub target: Checksum,
}

impl TableCheck {
    pub fn matches(&self) -> bool {
        self.source == self.target
    }
}

/// The checksum of the tenant's rows of `table` in `backend`.
pub fn checksum(backend: &mut dyn Backend, table: &TenantTable) -> Result<Checksum, Error> {
    let raw = backend.run(&table.select_sql(backend.dialect()), true)?;
    let mut sum = Checksum::default();
    let mut bytes = Vec::new();
    for row in &raw.rows {
        bytes.clear();
        for ((_, ty), value) in table.columns.iter().zip(row) {
            encode(value, *ty, &mut bytes);
        }
        let digest = Sha256::digest(&bytes);
        let mut first = [0u8; 16];
        first.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
        sum.sum = sum.sum.wrapping_add(u128::from_le_bytes(first));
        sum.rows += 1;
    }
    Ok(sum)
}

/// Every table side by side: rows and checksum on the source and the
/// target, and whether they match.
pub fn render(checks: &[TableCheck]) -> String {
    let width = checks
        .iter()
        .map(|c| c.table.len())
        .chain(std::iter::once(5))
        .max()
        .unwrap_or(5);
    let mut out = format!(
        "{:<width$}  {:>11}  {:<32}  {:>11}  {:<32}  status\n",
        "table", "source rows", "source checksum", "target rows", "target checksum"
    );
    for c in checks {
        let _ = writeln!(
            out,
            "{:<width$}  {:>11}  {:032x}  {:>11}  {:032x}  {}",
            c.table,
            c.source.rows,
            c.source.sum,
            c.target.rows,
            c.target.sum,
            if c.matches() { "ok" } else { "DIFFERS" }
        );
    }
    out
}
