//! Opening a shard: sorting out its segment files (see [`crate::layout`]), recovering from
//! an interrupted transaction or compaction when writable, and rebuilding the index from the
//! checkpoint and a scan of what it does not cover.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{record_counts, shard_dir, Entry, Loc, Segment, Shard};
use crate::checkpoint;
use crate::commit::ShardMark;
use crate::error::{Error, IoContext, Result};
use crate::hash::IntMap;
use crate::layout::{classify, Layout};
use crate::manifest::sync_dir;
use crate::raw;
use crate::seglist::{self, Listed};
use crate::segment::{
    check_header, encode_header, parse_segment_name, segment_path, RecordScan, ScanItem,
    SegmentKind, SEGMENT_HEADER_BYTES,
};

/// Removes `path`, which may already be gone.
fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

impl Shard {
    /// Creates an empty shard with one empty log segment (id 1) and an empty segment list.
    pub(crate) fn create(store: &Path, id: u32) -> Result<ShardMark> {
        let dir = shard_dir(store, id);
        fs::create_dir(&dir).at(&dir)?;
        let path = segment_path(&dir, 1, SegmentKind::Log);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        f.write_all(&encode_header(id, 1, SegmentKind::Log))
            .at(&path)?;
        f.sync_all().at(&path)?;
        seglist::write(&dir, id, &[])?;
        Ok(ShardMark {
            segment: 1,
            offset: SEGMENT_HEADER_BYTES,
        })
    }

    /// Lists the shard directory: segment files (id, kind, path, length; sorted by id) and
    /// temporary files. Any other file is corruption.
    fn list_dir(dir: &Path) -> Result<(Vec<(u64, SegmentKind, PathBuf, u64)>, Vec<PathBuf>)> {
        let mut found = Vec::new();
        let mut tmps = Vec::new();
        for entry in fs::read_dir(dir).at(dir)? {
            let entry = entry.at(dir)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            if name == checkpoint::CHECKPOINT_FILE || name == seglist::SEGLIST_FILE {
                continue;
            }
            if name.ends_with(".tmp") {
                // A cleaner output, checkpoint or list that was never renamed.
                tmps.push(path);
                continue;
            }
            match parse_segment_name(&name) {
                Some((seg, kind)) => {
                    let len = entry.metadata().at(&path)?.len();
                    found.push((seg, kind, path, len));
                }
                None => {
                    return Err(Error::corrupt(
                        &path,
                        0,
                        "unexpected file in shard directory",
                    ))
                }
            }
        }
        found.sort_by_key(|f| f.0);
        Ok((found, tmps))
    }

    /// Opens a shard at commit mark `mark`. The segment files must match the commit mark
    /// and, when `lists` (format version 2), the shard's segment list: committed data that
    /// is missing or of the wrong length is corruption, found before anything is changed.
    /// When `writable`, an uncommitted tail, uncommitted log segments, leftovers of an
    /// interrupted compaction and temporary files are removed, and the segment list is
    /// rewritten when stale (or written, for a version 1 store). The index is rebuilt from
    /// the checkpoint where one is usable and a CRC-checked scan of every record it does
    /// not cover.
    pub(crate) fn open(
        store: &Path,
        id: u32,
        mark: ShardMark,
        writable: bool,
        lists: bool,
    ) -> Result<Self> {
        let dir = shard_dir(store, id);
        let (found, tmps) = Self::list_dir(&dir)?;
        let listed =
            if lists {
                Some(seglist::read(&dir, id)?.ok_or_else(|| {
                    Error::corrupt(seglist::path(&dir), 0, "segment list is missing")
                })?)
            } else {
                None
            };
        let layout = classify(&dir, Some(mark), listed.as_deref(), found);
        if let Some(e) = layout.problems.into_iter().next() {
            return Err(e);
        }
        let Layout {
            committed,
            uncommitted,
            leftovers,
            active_tail,
            stale_list,
            ..
        } = layout;
        let mut shard = Shard {
            id,
            dir,
            segments: BTreeMap::new(),
            index: IntMap::default(),
            mark,
            next_segment: 1,
            uncommitted_bytes: active_tail + uncommitted.iter().map(|f| f.file_len).sum::<u64>(),
            checkpointed_bytes: 0,
        };
        for f in committed.iter().chain(&uncommitted).chain(&leftovers) {
            shard.next_segment = shard.next_segment.max(f.id + 1);
        }
        for f in &leftovers {
            tracing::warn!(
                shard = id,
                "{}: not in the segment list, left by an interrupted compaction; {}",
                f.path.display(),
                if writable {
                    "removing it"
                } else {
                    "ignoring it"
                }
            );
        }
        if writable {
            for p in tmps
                .iter()
                .chain(uncommitted.iter().map(|f| &f.path))
                .chain(leftovers.iter().map(|f| &f.path))
            {
                remove_if_present(p)?;
            }
            if active_tail > 0 {
                let active = segment_path(&shard.dir, mark.segment, SegmentKind::Log);
                let f = OpenOptions::new().write(true).open(&active).at(&active)?;
                f.set_len(mark.offset).at(&active)?;
                f.sync_all().at(&active)?;
            }
        }
        let mut kept = Vec::with_capacity(committed.len());
        for f in committed {
            let file = File::open(&f.path).at(&f.path)?;
            kept.push((f.id, f.kind, f.path, file, f.len));
        }
        let covered = shard.restore_checkpoint(&kept)?;
        if covered.is_empty() && writable {
            // An unusable checkpoint (it was logged) would only be read and rejected again.
            checkpoint::remove(&shard.dir)?;
        }
        for (seg, kind, path, file, len) in kept {
            let from = covered.get(&seg).copied().unwrap_or(0);
            if from < len {
                shard.load_segment(seg, kind, path, file, len, from)?;
            }
        }
        if writable {
            // Recovery removed the tail: nothing uncommitted remains.
            shard.uncommitted_bytes = 0;
            if stale_list || !lists {
                seglist::write(&shard.dir, id, &shard.seglist())?;
            }
            sync_dir(&shard.dir)?;
        }
        Ok(shard)
    }

    /// The segment list of the shard as it is in memory: every segment but the active one.
    pub(crate) fn seglist(&self) -> Vec<Listed> {
        self.segments
            .iter()
            .filter(|(&id, _)| id != self.mark.segment)
            .map(|(&id, s)| Listed {
                id,
                kind: s.kind,
                len: s.len,
            })
            .collect()
    }

    /// Takes the index from the shard's checkpoint when it is usable for the segments `kept`
    /// (id, kind, path, file, valid length): the covered segments enter `segments` with the
    /// checkpoint's accounting. Returns the length covered per segment id (empty without a
    /// usable checkpoint: everything is scanned).
    fn restore_checkpoint(
        &mut self,
        kept: &[(u64, SegmentKind, PathBuf, File, u64)],
    ) -> Result<IntMap<u64, u64>> {
        let mut covered = IntMap::default();
        let Some(ckpt) = checkpoint::read(&self.dir, self.id) else {
            return Ok(covered);
        };
        let on_disk: IntMap<u64, usize> = kept.iter().enumerate().map(|(i, k)| (k.0, i)).collect();
        for c in &ckpt.segments {
            let usable = on_disk.get(&c.id).is_some_and(|&i| {
                let (_, kind, _, _, len) = &kept[i];
                *kind == c.kind && c.len <= *len && c.len >= SEGMENT_HEADER_BYTES
            });
            if !usable {
                tracing::warn!(
                    shard = self.id,
                    segment = c.id,
                    "index checkpoint names a segment that is missing or shorter; \
                     rebuilding the index from the segments"
                );
                return Ok(covered);
            }
        }
        for c in &ckpt.segments {
            let (_, kind, path, file, _) = &kept[on_disk[&c.id]];
            // Headers are cheap to check, and a wrong one means the file is not the
            // segment the checkpoint describes.
            let mut header = [0u8; SEGMENT_HEADER_BYTES as usize];
            file.read_exact_at(&mut header, 0).at(path)?;
            check_header(&header, self.id, c.id, *kind).map_err(|r| Error::corrupt(path, 0, r))?;
        }
        for c in ckpt.segments {
            let (_, _, path, file, _) = &kept[on_disk[&c.id]];
            self.segments.insert(
                c.id,
                Segment {
                    kind: c.kind,
                    path: path.clone(),
                    file: file.try_clone().at(path)?,
                    len: c.len,
                    live_bytes: c.live_bytes,
                },
            );
            self.checkpointed_bytes += c.len - SEGMENT_HEADER_BYTES;
            covered.insert(c.id, c.len);
        }
        self.index = ckpt.index;
        tracing::debug!(
            shard = self.id,
            cells = self.index.len(),
            "index restored from checkpoint"
        );
        Ok(covered)
    }

    /// Scans the records of segment `seg` in `[from, len)` into the index (`from` is 0 for
    /// the whole segment, or the length a checkpoint already covers) and records the
    /// segment with its live bytes.
    fn load_segment(
        &mut self,
        seg: u64,
        kind: SegmentKind,
        path: PathBuf,
        file: File,
        len: u64,
        from: u64,
    ) -> Result<()> {
        let bytes = raw::map(&file).at(&path)?;
        check_header(&bytes, self.id, seg, kind).map_err(|r| Error::corrupt(&path, 0, r))?;
        // Net change of the segment's live bytes (records a checkpoint covers may die).
        let mut live = 0i64;
        for item in RecordScan::from(&bytes, from.max(SEGMENT_HEADER_BYTES), len) {
            match item {
                ScanItem::Bad { offset, reason, .. } => {
                    return Err(Error::corrupt(&path, offset, reason));
                }
                ScanItem::Record {
                    offset,
                    header,
                    payload,
                } => {
                    let loc = Loc {
                        segment: seg,
                        offset,
                    };
                    let counts = record_counts(&header, payload)
                        .map_err(|r| Error::corrupt(&path, offset, r))?;
                    let entry = Entry::of_record(loc, &header, counts);
                    live += i64::from(entry.record_len);
                    if let Some(old) = self.upsert(header.key, entry, seg) {
                        live -= i64::from(old);
                    }
                }
            }
        }
        drop(bytes);
        let base = self.segments.get(&seg).map_or(0, |s| s.live_bytes);
        self.segments.insert(
            seg,
            Segment {
                kind,
                path,
                file,
                len,
                live_bytes: (base as i64 + live) as u64,
            },
        );
        Ok(())
    }
}
