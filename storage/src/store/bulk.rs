//! The commit of an external-sort import: each shard's sorted runs are merged and streamed
//! into its log (rolling segments as the in-memory commit does), then one commit record
//! makes the whole import durable. Memory is a read buffer per run, one source's edges and
//! the index entries of the cells written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::{
    block_edges, emit_chain, emit_fresh, next_version, write_op, EdgeRec, Op, PendingEdge, NO_EXTRA,
};
use crate::cell::VertexData;
use crate::error::Result;
use crate::import::external::{run_path, EdgeMerge, IdMerge};
use crate::record::CellKey;
use crate::shard::{Shard, ShardWriter, ShardWrites};
use crate::store::{CommitInfo, Store};

/// The sorted runs of an import, as `import::external::Spool` wrote them.
#[derive(Debug)]
pub(crate) struct BulkRuns {
    /// Directory holding the run files.
    pub tmp: PathBuf,
    /// Number of runs (each with one edge file and one id file per shard).
    pub runs: u32,
    /// Whether the inputs carried weights (recorded in the manifest).
    pub weighted: bool,
}

impl Store {
    /// Adds the edges and vertices of `runs` in one transaction: sources that already have
    /// edges get the new ones merged into their last block (as [`Store::commit`] does), new
    /// sources get fresh chains, and every id in the id runs that is not a live vertex gets
    /// a vertex cell. A failure leaves the store at its last commit.
    pub(crate) fn commit_runs(&mut self, runs: &BulkRuns) -> Result<CommitInfo> {
        self.check_writable()?;
        if runs.weighted && !self.manifest.weighted {
            let mut manifest = self.manifest.clone();
            manifest.weighted = true;
            manifest.save(&self.dir)?;
            self.manifest = manifest;
        }
        let first_lsn = self.last.last_lsn + 1;
        let lsns = AtomicU64::new(first_lsn);
        let segment_bytes = self.manifest.segment_bytes;
        let t = std::time::Instant::now();
        let written: Vec<Result<ShardWrites>> = self
            .shards
            .par_iter()
            .map(|sh| write_shard_runs(sh, segment_bytes, &lsns, runs))
            .collect();
        let next = lsns.load(Ordering::Relaxed);
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            records = next - first_lsn,
            "commit: runs merged, written and fsynced"
        );
        self.finish_commit(written, first_lsn, next - 1, None)
    }
}

/// Merges shard `sh`'s runs into its log: edge blocks in source order, then vertex cells
/// in id order (the order of [`Store::commit`]'s plan).
fn write_shard_runs(
    sh: &Shard,
    segment_bytes: u64,
    lsns: &AtomicU64,
    runs: &BulkRuns,
) -> Result<ShardWrites> {
    let mut w = ShardWriter::with_shared_lsn(sh, segment_bytes, lsns)?;
    let paths = |what| {
        (0..runs.runs)
            .map(|r| run_path(&runs.tmp, r, sh.id, what))
            .collect::<Vec<_>>()
    };
    let mut merge = EdgeMerge::open(paths("edges"))?;
    let mut adds: Vec<EdgeRec> = Vec::new();
    let mut ops = Vec::new();
    let mut cur = merge.next()?;
    while let Some((src, _, _)) = cur {
        adds.clear();
        while let Some((s, dst, weight)) = cur {
            if s != src {
                break;
            }
            adds.push(EdgeRec {
                src,
                dst,
                weight,
                extra: NO_EXTRA,
            });
            cur = merge.next()?;
        }
        plan_source(sh, src, &adds, &mut ops)?;
        for op in ops.drain(..) {
            write_op(&mut w, &op)?;
        }
    }
    drop(merge);
    let mut ids = IdMerge::open(paths("verts"))?;
    let empty = VertexData::default();
    while let Some(id) = ids.next()? {
        if !sh.has_vertex(id) {
            w.put_vertex(id, next_version(sh, &CellKey::vertex(id)), &empty)?;
        }
    }
    w.finish()
}

/// The blocks that add `adds` (sorted by destination) to `src`'s chain.
fn plan_source(sh: &Shard, src: u64, adds: &[EdgeRec], ops: &mut Vec<Op>) -> Result<()> {
    let chain = sh.chain(src);
    if let Some(&(last, entry)) = chain.last() {
        let mut edges = Vec::new();
        block_edges(sh, &entry, &mut edges)?;
        edges.extend(adds.iter().map(|e| PendingEdge {
            dst: e.dst,
            weight: e.weight,
            extra: None,
        }));
        edges.sort_by_key(|e| e.dst);
        emit_chain(sh, src, last, chain.len() as u32, &edges, ops);
    } else {
        emit_fresh(sh, src, adds, ops);
    }
    Ok(())
}
