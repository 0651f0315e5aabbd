//! The cleaner: rewrites segments whose dead share passes a threshold, keeping only the
//! newest version of each cell (tombstones included, so a delete is never undone and the
//! change log keeps it). Several segments are rewritten in parallel.
//!
//! Crash safety, step by step (each step is atomic on POSIX file systems):
//! 1. live records are copied byte-for-byte (CRCs unchanged) into `ID.cmp.tmp`, fsynced;
//!    a crash here leaves a `.tmp` file that the next open deletes (a failed write, such
//!    as a full disk, deletes it at once);
//! 2. `ID.cmp.tmp` is renamed to `ID.cmp` and the directory fsynced; a crash here leaves
//!    an output the segment list does not name, which open ignores (and a writable open
//!    deletes) as a leftover;
//! 3. the shard's segment list is rewritten with the outputs in place of the victims; a
//!    crash here leaves victims the list does not name: leftovers again;
//! 4. the old segments are unlinked and the directory fsynced.
//!
//! The active log segment is never compacted, so commit marks stay valid throughout.

use std::fs::{self, File};
use std::io::Write;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{IoContext, Result};
use crate::manifest::sync_dir;
use crate::raw;
use crate::record::CellKey;
use crate::replace::replace_file;
use crate::seglist;
use crate::segment::{
    encode_header, segment_path, RecordScan, ScanItem, SegmentKind, SEGMENT_HEADER_BYTES,
};
use crate::shard::{Loc, Segment, Shard};
use crate::store::Store;

/// Knobs for [`Store::compact`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CompactOptions {
    /// Rewrite a sealed segment when dead bytes make up at least this share of its records.
    /// Default: 0.5. Must lie in [0, 1]; 0 rewrites every sealed segment with any dead bytes.
    pub dead_ratio: f64,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self { dead_ratio: 0.5 }
    }
}

/// What a compaction did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CompactReport {
    /// Segments examined (sealed ones only).
    pub segments_examined: u64,
    /// Segments rewritten or removed.
    pub segments_compacted: u64,
    /// New compacted segments written.
    pub segments_written: u64,
    /// Record bytes before, in compacted segments.
    pub bytes_before: u64,
    /// Record bytes after.
    pub bytes_after: u64,
}

struct Rewritten {
    shard: usize,
    victim: u64,
    output: Option<(u64, Segment, Vec<(CellKey, Loc)>)>,
    before: u64,
}

fn rewrite(sh: &Shard, shard: usize, victim: u64, new_id: u64) -> Result<Rewritten> {
    let seg = &sh.segments[&victim];
    let bytes = raw::map(&seg.file).at(&seg.path)?;
    let mut out = Vec::with_capacity(seg.live_bytes as usize + SEGMENT_HEADER_BYTES as usize);
    out.extend_from_slice(&encode_header(sh.id, new_id, SegmentKind::Compacted));
    let mut moved = Vec::new();
    for item in RecordScan::new(&bytes, seg.len) {
        match item {
            ScanItem::Bad { offset, reason, .. } => {
                return Err(crate::Error::corrupt(&seg.path, offset, reason))
            }
            ScanItem::Record { offset, header, .. } => {
                let live = sh.index.get(&header.key).is_some_and(|e| {
                    e.loc
                        == Loc {
                            segment: victim,
                            offset,
                        }
                });
                if live {
                    let new_offset = out.len() as u64;
                    out.extend_from_slice(
                        &bytes[offset as usize..offset as usize + header.record_len()],
                    );
                    moved.push((
                        header.key,
                        Loc {
                            segment: new_id,
                            offset: new_offset,
                        },
                    ));
                }
            }
        }
    }
    let before = seg.record_bytes();
    if moved.is_empty() {
        return Ok(Rewritten {
            shard,
            victim,
            output: None,
            before,
        });
    }
    let path = segment_path(&sh.dir, new_id, SegmentKind::Compacted);
    let tmp = path.with_extension("cmp.tmp");
    // A failed write (a full disk) removes the temporary file at once.
    replace_file(&path, &tmp, true, |f| f.write_all(&out))?;
    let file = File::open(&path).at(&path)?;
    let len = out.len() as u64;
    let segment = Segment {
        kind: SegmentKind::Compacted,
        path,
        file,
        len,
        live_bytes: len - SEGMENT_HEADER_BYTES,
    };
    Ok(Rewritten {
        shard,
        victim,
        output: Some((new_id, segment, moved)),
        before,
    })
}

impl Store {
    /// Rewrites sealed segments whose dead share is at least `options.dead_ratio`.
    pub fn compact(&mut self, options: &CompactOptions) -> Result<CompactReport> {
        if !(0.0..=1.0).contains(&options.dead_ratio) {
            return Err(crate::Error::InvalidArgument(format!(
                "dead ratio {} is outside [0, 1]",
                options.dead_ratio
            )));
        }
        if !self.is_writable() {
            return Err(crate::Error::ReadOnly {
                path: self.dir.clone(),
            });
        }
        let mut report = CompactReport::default();
        let mut jobs = Vec::new();
        for (si, sh) in self.shards.iter_mut().enumerate() {
            let victims: Vec<u64> = sh
                .segments
                .iter()
                .filter(|(&id, _)| id != sh.mark.segment)
                .inspect(|_| report.segments_examined += 1)
                .filter(|(_, s)| {
                    let total = s.record_bytes();
                    let dead = total - s.live_bytes;
                    dead > 0 && dead as f64 >= options.dead_ratio * total as f64
                })
                .map(|(&id, _)| id)
                .collect();
            for v in victims {
                jobs.push((si, v, sh.next_segment));
                sh.next_segment += 1;
            }
        }
        let shards = &self.shards;
        let results = jobs
            .par_iter()
            .map(|&(si, victim, new_id)| rewrite(&shards[si], si, victim, new_id))
            .collect::<Vec<Result<Rewritten>>>();
        // Apply what succeeded (each rewrite is complete and durable on its own), then report
        // the first failure.
        let mut first_err = None;
        let mut victims: Vec<Vec<std::path::PathBuf>> = vec![Vec::new(); self.shards.len()];
        for r in results {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            let sh = &mut self.shards[r.shard];
            // The checkpoint names the victim: it goes first (see `checkpoint`).
            sh.drop_checkpoint()?;
            report.segments_compacted += 1;
            report.bytes_before += r.before;
            if let Some((id, seg, moved)) = r.output {
                report.segments_written += 1;
                report.bytes_after += seg.record_bytes();
                for (key, loc) in moved {
                    if let Some(e) = sh.index.get_mut(&key) {
                        e.loc = loc;
                    }
                }
                sh.segments.insert(id, seg);
            }
            if let Some(old) = sh.segments.remove(&r.victim) {
                victims[r.shard].push(old.path);
            }
        }
        for (sh, victims) in self.shards.iter().zip(victims) {
            if victims.is_empty() {
                continue;
            }
            // Outputs are listed (durably, with the checkpoint's removal) before any victim
            // is unlinked: a victim left by a crash is then an unlisted leftover.
            sync_dir(&sh.dir)?;
            seglist::write(&sh.dir, sh.id, &sh.seglist())?;
            for v in victims {
                fs::remove_file(&v).at(&v)?;
            }
            sync_dir(&sh.dir)?;
        }
        self.refresh_checkpoints();
        tracing::info!(
            compacted = report.segments_compacted,
            before = report.bytes_before,
            after = report.bytes_after,
            "compaction finished"
        );
        match first_err {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}
