//! The edge-level change log (`EDGELOG`): for each committed transaction, the edge and
//! vertex operations it applied, so incremental consumers read a change in time that
//! follows the change (the cell-level [`crate::Store::changes_since`] names changed edge
//! blocks, whose old contents are gone).
//!
//! One frame per transaction, `[len u32][crc32 u32][payload]`, appended after the
//! transaction's commit record is durable. The log is a hint, never the source of truth:
//! it is not fsynced, a torn or missing frame only makes [`read_since`] report that it
//! cannot cover a range (callers then fall back to comparing cells), and transactions with
//! more than [`MAX_LOGGED_OPS`] operations (bulk imports) are recorded as not logged.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// File name of the edge log in a store directory.
pub const EDGELOG_FILE: &str = "EDGELOG";

/// Transactions with more operations than this are recorded without them.
pub const MAX_LOGGED_OPS: usize = 1 << 20;

/// One operation of a transaction. Within a transaction the log lists deletions (vertices,
/// then edges) before additions (vertices, then edges), the order a commit applies them in.
/// For undirected stores an edge operation stands for both directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EdgeOp {
    /// A vertex and every edge into or out of it were deleted.
    DeleteVertex(u64),
    /// Every edge `src → dst` was deleted.
    DeleteEdge(u64, u64),
    /// A vertex was created or its properties replaced.
    PutVertex(u64),
    /// One edge `src → dst` with a weight was added (its endpoints exist afterwards).
    AddEdge(u64, u64, f64),
}

/// A transaction as logged.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedTxn {
    /// Transaction number.
    pub txn: u64,
    /// First LSN it wrote.
    pub first_lsn: u64,
    /// Last LSN it wrote.
    pub last_lsn: u64,
    /// Its operations; `None` when it was too large to log.
    pub ops: Option<Vec<EdgeOp>>,
}

fn encode(t: &LoggedTxn) -> Vec<u8> {
    let mut p = Vec::with_capacity(33 + t.ops.as_ref().map_or(0, |o| o.len() * 25));
    p.extend_from_slice(&t.txn.to_le_bytes());
    p.extend_from_slice(&t.first_lsn.to_le_bytes());
    p.extend_from_slice(&t.last_lsn.to_le_bytes());
    match &t.ops {
        None => p.push(0),
        Some(ops) => {
            p.push(1);
            p.extend_from_slice(&(ops.len() as u64).to_le_bytes());
            for op in ops {
                let (tag, a, b, w) = match *op {
                    EdgeOp::DeleteVertex(v) => (0u8, v, 0, 0.0),
                    EdgeOp::DeleteEdge(s, d) => (1, s, d, 0.0),
                    EdgeOp::PutVertex(v) => (2, v, 0, 0.0),
                    EdgeOp::AddEdge(s, d, w) => (3, s, d, w),
                };
                p.push(tag);
                p.extend_from_slice(&a.to_le_bytes());
                p.extend_from_slice(&b.to_le_bytes());
                p.extend_from_slice(&w.to_bits().to_le_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(8 + p.len());
    out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
    out.extend_from_slice(&p);
    out
}

fn u64_at(p: &[u8], at: usize) -> Option<u64> {
    p.get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

/// Decodes a frame's payload; `want_ops` false skips the operations.
fn decode(p: &[u8], want_ops: bool) -> Option<LoggedTxn> {
    let (txn, first_lsn, last_lsn) = (u64_at(p, 0)?, u64_at(p, 8)?, u64_at(p, 16)?);
    let logged = *p.get(24)? == 1;
    let ops = if logged && want_ops {
        let n = u64_at(p, 25)? as usize;
        let mut ops = Vec::with_capacity(n.min(MAX_LOGGED_OPS));
        for i in 0..n {
            let at = 33 + i * 25;
            let (tag, a, b) = (*p.get(at)?, u64_at(p, at + 1)?, u64_at(p, at + 9)?);
            let w = f64::from_bits(u64_at(p, at + 17)?);
            ops.push(match tag {
                0 => EdgeOp::DeleteVertex(a),
                1 => EdgeOp::DeleteEdge(a, b),
                2 => EdgeOp::PutVertex(a),
                3 => EdgeOp::AddEdge(a, b, w),
                _ => return None,
            });
        }
        Some(ops)
    } else if logged {
        Some(Vec::new())
    } else {
        None
    };
    Some(LoggedTxn {
        txn,
        first_lsn,
        last_lsn,
        ops,
    })
}

/// Appends `t` to the log of the store in `dir` (not fsynced: see the module docs).
pub(crate) fn append(dir: &Path, t: &LoggedTxn) -> Result<()> {
    let path = dir.join(EDGELOG_FILE);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .at(&path)?;
    f.write_all(&encode(t)).at(&path)
}

/// The operations of every transaction after `lsn` up to `last_lsn` (the store's committed
/// end), in commit order; `None` when the log does not cover that range completely (a
/// missing, torn or unlogged transaction).
pub(crate) fn read_since(dir: &Path, lsn: u64, last_lsn: u64) -> Result<Option<Vec<LoggedTxn>>> {
    if lsn >= last_lsn {
        return Ok(Some(Vec::new()));
    }
    let path = dir.join(EDGELOG_FILE);
    let mut bytes = Vec::new();
    match std::fs::File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).at(&path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    }
    let mut txns: Vec<LoggedTxn> = Vec::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let Some(p) = bytes.get(at + 8..at + 8 + len) else {
            break; // torn tail
        };
        if crc32fast::hash(p) != crc {
            break;
        }
        at += 8 + len;
        // Only the header first: most frames lie before `lsn`.
        let Some(head) = decode(p, false) else { break };
        if head.last_lsn <= lsn || head.last_lsn > last_lsn {
            continue;
        }
        let Some(t) = decode(p, true) else { break };
        // A frame for a transaction number seen before replaces it (and what followed).
        while txns.last().is_some_and(|l| l.txn >= t.txn) {
            txns.pop();
        }
        txns.push(t);
    }
    let mut expect = lsn + 1;
    for t in &txns {
        if t.first_lsn != expect || t.ops.is_none() {
            return Ok(None);
        }
        expect = t.last_lsn + 1;
    }
    Ok((expect == last_lsn + 1).then_some(txns))
}
