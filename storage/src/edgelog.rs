//! The edge-level change log (`EDGELOG`): for each committed transaction, the edge and
//! vertex operations it applied, so incremental consumers read a change in time that
//! follows the change (the cell-level [`crate::Store::changes_since`] names changed edge
//! blocks, whose old contents are gone).
//!
//! One frame per transaction, `[len u32][crc32 u32][payload]`, appended after the
//! transaction's commit record is durable. The log is a hint, never the source of truth:
//! it is not fsynced, a torn or missing frame only makes [`crate::Store::edge_changes_since`] report that it
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

/// Length of the prefix of `bytes` made of whole frames with good checksums.
fn valid_prefix(bytes: &[u8]) -> usize {
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        match bytes.get(at + 8..at + 8 + len) {
            Some(p) if crc32fast::hash(p) == crc => at += 8 + len,
            _ => break,
        }
    }
    at
}

/// Where the log in `dir` stops being readable, if it does before its end: the offset of
/// the first bad frame and why. Frames from there on are not read, so incremental runs
/// over their transactions fall back to comparing cells (see [`crate::verify`]).
pub(crate) fn check(dir: &Path) -> Result<Option<(u64, String)>> {
    let path = dir.join(EDGELOG_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let at = valid_prefix(&bytes);
    let rest = bytes.len() - at;
    if rest == 0 {
        return Ok(None);
    }
    let len = bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize);
    let what = match len {
        Some(len) if at + 8 + len <= bytes.len() => "damaged frame (checksum mismatch)",
        _ => "damaged or torn frame (its length passes the end of the file)",
    };
    let why = format!(
        "{what}: the {rest} bytes from here are not read, so incremental runs over these \
         transactions fall back to comparing cells (a writable open cuts them)"
    );
    Ok(Some((at as u64, why)))
}

/// The transaction number of the last whole frame of the log in `dir` (`None` without a
/// log or a whole frame). Walks the frame headers and checks only the last frame's CRC, so
/// it reads a few bytes per transaction, not the operations.
fn last_frame_txn(dir: &Path) -> Result<Option<u64>> {
    use std::os::unix::fs::FileExt;
    let path = dir.join(EDGELOG_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let size = file.metadata().at(&path)?.len();
    let mut frames = Vec::new();
    let mut at = 0u64;
    let mut head = [0u8; 8];
    while at + 8 <= size {
        file.read_exact_at(&mut head, at).at(&path)?;
        let len = u64::from(u32::from_le_bytes(head[..4].try_into().expect("4 bytes")));
        if at + 8 + len > size {
            break;
        }
        frames.push((
            at,
            len,
            u32::from_le_bytes(head[4..].try_into().expect("4 bytes")),
        ));
        at += 8 + len;
    }
    // The last frame whose checksum holds (a damaged frame's length may be wrong too, so
    // only a frame that checks out counts as evidence).
    for &(at, len, crc) in frames.iter().rev() {
        let mut payload = vec![0u8; len as usize];
        file.read_exact_at(&mut payload, at + 8).at(&path)?;
        if crc32fast::hash(&payload) == crc {
            return Ok(decode(&payload, false).map(|t| t.txn));
        }
    }
    Ok(None)
}

/// Fails when the edge log records a transaction past `last_txn`, the commit log's last.
/// A frame is appended only after its transaction's commit record is durable, so such a
/// frame means committed transactions are missing from the commit log (it was cut or
/// replaced): opening at the earlier commit would silently drop them.
pub(crate) fn check_commits_cover(dir: &Path, last_txn: u64) -> Result<()> {
    match last_frame_txn(dir)? {
        Some(logged) if logged > last_txn => Err(Error::corrupt(
            dir.join(crate::commit::COMMIT_FILE),
            0,
            format!(
                "the commit log ends at transaction {last_txn}, but the edge log records \
                 transaction {logged}: committed transactions are missing from the commit log"
            ),
        )),
        _ => Ok(()),
    }
}

/// Cuts the log after its last whole frame (a write torn by a crash), so frames appended
/// later can be read. Called when a store is opened for writing.
pub(crate) fn repair(dir: &Path) -> Result<()> {
    let path = dir.join(EDGELOG_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let valid = valid_prefix(&bytes);
    if valid < bytes.len() {
        tracing::warn!(
            "{}: cutting a torn tail of {} bytes",
            path.display(),
            bytes.len() - valid
        );
        let f = OpenOptions::new().write(true).open(&path).at(&path)?;
        f.set_len(valid as u64).at(&path)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreOptions, WriteBatch};

    #[test]
    fn the_log_covers_committed_ranges_and_reports_gaps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store =
            Store::create(dir.path().join("g"), &StoreOptions::default()).expect("store");
        let mut b = WriteBatch::new();
        b.add_edge(1, 2, 1.0);
        b.add_edge(2, 3, 1.0);
        let first = store.commit(b).expect("commit");
        let mut b = WriteBatch::new();
        b.delete_edge(1, 2);
        b.delete_vertex(3);
        b.put_vertex(9, None, Vec::new());
        b.add_edge(4, 1, 0.5);
        let second = store.commit(b).expect("commit");
        let all = store.edge_changes_since(0).expect("read").expect("covered");
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[1].ops.as_deref(),
            Some(
                &[
                    EdgeOp::DeleteVertex(3),
                    EdgeOp::DeleteEdge(1, 2),
                    EdgeOp::PutVertex(9),
                    EdgeOp::AddEdge(4, 1, 0.5)
                ][..]
            )
        );
        let since = store
            .edge_changes_since(first.last_lsn)
            .expect("read")
            .expect("covered");
        assert_eq!(since.len(), 1);
        assert_eq!(since[0].last_lsn, second.last_lsn);
        assert_eq!(
            store.edge_changes_since(second.last_lsn).expect("read"),
            Some(Vec::new())
        );
        // A torn last frame: the range it held is no longer covered; the earlier one is.
        let path = dir.path().join("g").join(EDGELOG_FILE);
        let len = std::fs::metadata(&path).expect("log").len();
        let f = OpenOptions::new().write(true).open(&path).expect("open");
        f.set_len(len - 3).expect("truncate");
        assert_eq!(store.edge_changes_since(0).expect("read"), None);
        assert_eq!(
            store.edge_changes_since(first.last_lsn).expect("read"),
            None
        );
        // Opening for writing cuts the torn frame, so frames appended later are read.
        drop(store);
        let store = Store::open(dir.path().join("g")).expect("reopen");
        assert!(std::fs::metadata(&path).expect("log").len() < len - 3);
        // A frame for a transaction number already seen replaces the old one.
        append(
            &dir.path().join("g"),
            &LoggedTxn {
                txn: second.txn,
                first_lsn: second.first_lsn,
                last_lsn: second.last_lsn,
                ops: Some(vec![EdgeOp::PutVertex(7)]),
            },
        )
        .expect("append");
        let since = store
            .edge_changes_since(first.last_lsn)
            .expect("read")
            .expect("covered");
        assert_eq!(since[0].ops.as_deref(), Some(&[EdgeOp::PutVertex(7)][..]));
        // An unlogged (bulk) transaction is a gap too.
        append(
            &dir.path().join("g"),
            &LoggedTxn {
                txn: second.txn,
                first_lsn: second.first_lsn,
                last_lsn: second.last_lsn,
                ops: None,
            },
        )
        .expect("append");
        assert_eq!(
            store.edge_changes_since(first.last_lsn).expect("read"),
            None
        );
        // No log at all.
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(store.edge_changes_since(0).expect("read"), None);
    }
}
