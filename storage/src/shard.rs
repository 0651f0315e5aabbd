//! A shard: its segment files, the in-memory index (cell key → newest record) rebuilt on
//! open, per-segment live/dead accounting, and the append path used by transactions.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::cell::{EdgeBlock, VertexData};
use crate::checkpoint;
use crate::commit::ShardMark;
use crate::error::{Error, IoContext, Result};
use crate::hash::IntMap;
use crate::manifest::sync_dir;
use crate::raw::{self, FileBytes};
use crate::record::{decode_record, encode_record, CellKey, CellKind, RecordHeader, RecordKind};
use crate::segment::{
    check_header, encode_header, parse_segment_name, segment_path, RecordScan, ScanItem,
    SegmentKind, SEGMENT_HEADER_BYTES,
};

/// Placement of vertex `id`: a fixed 64-bit mix (murmur3's finalizer) modulo the shard count.
/// Part of the on-disk format: never change it.
#[inline]
pub fn shard_of(id: u64, shards: u32) -> u32 {
    let mut h = id;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % u64::from(shards)) as u32
}

/// Where a record lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    pub segment: u64,
    pub offset: u64,
}

/// The index's view of a cell: its newest record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub loc: Loc,
    pub record_len: u32,
    pub version: u64,
    pub lsn: u64,
    pub tombstone: bool,
    /// Edges in the block (edge blocks only).
    pub edges: u32,
    /// Self-loops among them.
    pub loops: u32,
}

/// A segment file known to the shard.
pub(crate) struct Segment {
    /// Log or compacted (kept for diagnostics and `Debug`).
    #[allow(dead_code)]
    pub kind: SegmentKind,
    pub path: PathBuf,
    pub file: File,
    /// Valid (committed) length in bytes.
    pub len: u64,
    /// Bytes of records that are the newest version of their cell.
    pub live_bytes: u64,
}

impl Segment {
    pub(crate) fn record_bytes(&self) -> u64 {
        self.len - SEGMENT_HEADER_BYTES
    }
}

pub(crate) struct Shard {
    pub id: u32,
    pub dir: PathBuf,
    pub segments: BTreeMap<u64, Segment>,
    pub index: IntMap<CellKey, Entry>,
    /// Active log segment and its committed length.
    pub mark: ShardMark,
    pub next_segment: u64,
    /// Bytes past the commit mark found on open (ignored; removed when opened writable).
    pub uncommitted_bytes: u64,
    /// Record bytes the index checkpoint on disk covers (0 without one).
    pub checkpointed_bytes: u64,
}

pub(crate) fn shard_dir(store: &Path, shard: u32) -> PathBuf {
    store.join(format!("shard-{shard:04}"))
}

/// Counts edges and self-loops of an edge-block payload.
fn block_counts(src: u64, payload: &[u8]) -> std::result::Result<(u32, u32), String> {
    let mut loops = 0u32;
    let n = EdgeBlock::for_each_raw(payload, |d, _| loops += u32::from(d == src))
        .map_err(|e| format!("edge block payload: {e}"))?;
    Ok((n as u32, loops))
}

/// Edges and self-loops of a record: counted for an edge block, (0, 0) otherwise.
pub(crate) fn record_counts(
    header: &RecordHeader,
    payload: &[u8],
) -> std::result::Result<(u32, u32), String> {
    if header.kind == RecordKind::EdgeBlock {
        block_counts(header.key.vertex, payload)
    } else {
        Ok((0, 0))
    }
}

impl Entry {
    /// The index entry of the record at `loc` with `header`, and `(edges, loops)` from
    /// [`record_counts`].
    pub(crate) fn of_record(loc: Loc, header: &RecordHeader, (edges, loops): (u32, u32)) -> Entry {
        Entry {
            loc,
            record_len: header.record_len() as u32,
            version: header.version,
            lsn: header.lsn,
            tombstone: header.kind == RecordKind::Tombstone,
            edges,
            loops,
        }
    }
}

impl Shard {
    /// Creates an empty shard with one empty log segment (id 1).
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
        sync_dir(&dir)?;
        Ok(ShardMark {
            segment: 1,
            offset: SEGMENT_HEADER_BYTES,
        })
    }

    /// Opens a shard at commit mark `mark`: drops uncommitted log segments and tails (when
    /// `writable`), and rebuilds the index: from the checkpoint where one is usable, by a
    /// CRC-checked scan of every record it does not cover.
    pub(crate) fn open(store: &Path, id: u32, mark: ShardMark, writable: bool) -> Result<Self> {
        let dir = shard_dir(store, id);
        let mut found: Vec<(u64, SegmentKind, PathBuf)> = Vec::new();
        for entry in fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            if name == checkpoint::CHECKPOINT_FILE {
                continue;
            }
            if name.ends_with(".tmp") {
                // A cleaner output or checkpoint that was never renamed: not part of the
                // store.
                if writable {
                    fs::remove_file(&path).at(&path)?;
                }
                continue;
            }
            match parse_segment_name(&name) {
                Some((seg, kind)) => found.push((seg, kind, path)),
                None => {
                    return Err(Error::corrupt(
                        &path,
                        0,
                        "unexpected file in shard directory",
                    ))
                }
            }
        }
        found.sort_by_key(|(seg, _, _)| *seg);
        let mut shard = Shard {
            id,
            dir,
            segments: BTreeMap::new(),
            index: IntMap::default(),
            mark,
            next_segment: 1,
            uncommitted_bytes: 0,
            checkpointed_bytes: 0,
        };
        let mut saw_active = false;
        let mut kept = Vec::with_capacity(found.len());
        for (seg, kind, path) in found {
            shard.next_segment = shard.next_segment.max(seg + 1);
            if kind == SegmentKind::Log && seg > mark.segment {
                // Started by a transaction that never committed.
                shard.uncommitted_bytes += fs::metadata(&path).map_or(0, |m| m.len());
                if writable {
                    fs::remove_file(&path).at(&path)?;
                }
                continue;
            }
            let file = OpenOptions::new()
                .read(true)
                .write(writable)
                .open(&path)
                .at(&path)?;
            let file_len = file.metadata().at(&path)?.len();
            let len = if kind == SegmentKind::Log && seg == mark.segment {
                saw_active = true;
                if file_len < mark.offset {
                    return Err(Error::corrupt(
                        &path,
                        file_len,
                        format!(
                            "committed data missing: file is {file_len} bytes, commit log says {}",
                            mark.offset
                        ),
                    ));
                }
                shard.uncommitted_bytes += file_len - mark.offset;
                if file_len > mark.offset && writable {
                    file.set_len(mark.offset).at(&path)?;
                    file.sync_all().at(&path)?;
                }
                mark.offset
            } else {
                file_len
            };
            kept.push((seg, kind, path, file, len));
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
        if !saw_active {
            let path = segment_path(&shard.dir, mark.segment, SegmentKind::Log);
            return Err(Error::corrupt(
                &path,
                0,
                "active log segment named by the commit log is missing",
            ));
        }
        if writable {
            // Recovery removed the tail: nothing uncommitted remains.
            shard.uncommitted_bytes = 0;
            sync_dir(&shard.dir)?;
        }
        Ok(shard)
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

    /// Record bytes appended since the checkpoint on disk (all of them without one).
    pub(crate) fn uncheckpointed_bytes(&self) -> u64 {
        let total: u64 = self.segments.values().map(Segment::record_bytes).sum();
        total.saturating_sub(self.checkpointed_bytes)
    }

    /// Whether enough has been appended since the last checkpoint to write a new one.
    pub(crate) fn wants_checkpoint(&self) -> bool {
        let uncovered = self.uncheckpointed_bytes();
        uncovered >= checkpoint::MIN_UNCOVERED_BYTES && uncovered >= self.checkpointed_bytes / 4
    }

    /// Writes this shard's checkpoint as of commit `txn`.
    pub(crate) fn write_checkpoint(&mut self, txn: u64) -> Result<()> {
        checkpoint::write(self, txn)?;
        self.checkpointed_bytes = self.segments.values().map(Segment::record_bytes).sum();
        Ok(())
    }

    /// Deletes this shard's checkpoint (before segments it names are removed).
    pub(crate) fn drop_checkpoint(&mut self) -> Result<()> {
        checkpoint::remove(&self.dir)?;
        self.checkpointed_bytes = 0;
        Ok(())
    }

    /// Inserts `entry` if it is newer than the indexed one. Returns the record length that
    /// became dead, or `None` when nothing did. When the dead record lives in segment
    /// `loading` (being scanned, not yet in `segments`) the caller adjusts that total;
    /// otherwise the dead bytes are subtracted from their segment here.
    fn upsert(&mut self, key: CellKey, entry: Entry, loading: u64) -> Option<u32> {
        let old = match self.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                // Older record (or a duplicate left by an interrupted compaction).
                if o.get().version >= entry.version {
                    return Some(entry.record_len);
                }
                o.insert(entry)
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(entry);
                return None;
            }
        };
        if old.loc.segment == loading {
            return Some(old.record_len);
        }
        if let Some(s) = self.segments.get_mut(&old.loc.segment) {
            s.live_bytes -= u64::from(old.record_len);
        }
        None
    }

    /// Reads and CRC-checks the record `entry` points at; returns its payload.
    pub(crate) fn read_payload(&self, entry: &Entry) -> Result<Vec<u8>> {
        let seg = self.segments.get(&entry.loc.segment).ok_or_else(|| {
            Error::corrupt(
                &self.dir,
                entry.loc.offset,
                format!("segment {} missing", entry.loc.segment),
            )
        })?;
        let mut buf = vec![0u8; entry.record_len as usize];
        seg.file
            .read_exact_at(&mut buf, entry.loc.offset)
            .at(&seg.path)?;
        let (_, payload) = decode_record(&buf)
            .map_err(|e| Error::corrupt(&seg.path, entry.loc.offset, format!("{e:?}")))?;
        Ok(payload.to_vec())
    }

    /// The newest live vertex data, if the vertex exists.
    pub(crate) fn vertex(&self, id: u64) -> Result<Option<(Entry, VertexData)>> {
        match self.index.get(&CellKey::vertex(id)) {
            Some(e) if !e.tombstone => {
                let payload = self.read_payload(e)?;
                let data = VertexData::decode(&payload).map_err(|err| self.decode_err(e, err))?;
                Ok(Some((*e, data)))
            }
            _ => Ok(None),
        }
    }

    /// Whether vertex `id` exists.
    pub(crate) fn has_vertex(&self, id: u64) -> bool {
        self.index
            .get(&CellKey::vertex(id))
            .is_some_and(|e| !e.tombstone)
    }

    pub(crate) fn decode_err(&self, e: &Entry, err: crate::codec::DecodeError) -> Error {
        let path = self
            .segments
            .get(&e.loc.segment)
            .map_or(self.dir.clone(), |s| s.path.clone());
        Error::corrupt(path, e.loc.offset, err.to_string())
    }

    /// Live edge blocks of `src`, in chain order: (block index, entry).
    pub(crate) fn chain(&self, src: u64) -> Vec<(u32, Entry)> {
        let mut out = Vec::new();
        let mut b = 0u32;
        while let Some(e) = self.index.get(&CellKey::edge_block(src, b)) {
            if e.tombstone {
                break;
            }
            out.push((b, *e));
            b += 1;
        }
        out
    }

    /// Decodes edge block `entry`.
    pub(crate) fn edge_block(&self, entry: &Entry) -> Result<EdgeBlock> {
        let payload = self.read_payload(entry)?;
        EdgeBlock::decode(&payload).map_err(|err| self.decode_err(entry, err))
    }

    /// Maps every segment for a sequential scan.
    pub(crate) fn map_segments(&self) -> Result<Vec<(u64, &Segment, FileBytes)>> {
        self.segments
            .iter()
            .map(|(&id, s)| Ok((id, s, raw::map(&s.file).at(&s.path)?)))
            .collect()
    }

    /// Calls `f(header key, payload)` for every live record of `kind` (tombstones excluded),
    /// reading segments sequentially.
    pub(crate) fn for_each_live(
        &self,
        kind: CellKind,
        mut f: impl FnMut(CellKey, &[u8]) -> Result<()>,
    ) -> Result<()> {
        for (seg, s, bytes) in self.map_segments()? {
            // A segment whose record bytes are all live needs no index lookups.
            let all_live = s.live_bytes == s.record_bytes();
            for item in RecordScan::new(&bytes, s.len) {
                match item {
                    ScanItem::Bad { offset, reason, .. } => {
                        return Err(Error::corrupt(&s.path, offset, reason))
                    }
                    ScanItem::Record {
                        offset,
                        header,
                        payload,
                    } => {
                        if header.key.kind != kind || header.kind == RecordKind::Tombstone {
                            continue;
                        }
                        let live = all_live
                            || self.index.get(&header.key).is_some_and(|e| {
                                e.loc
                                    == Loc {
                                        segment: seg,
                                        offset,
                                    }
                            });
                        if live {
                            f(header.key, payload)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies committed writes to the index and segment accounting.
    pub(crate) fn apply(&mut self, w: ShardWrites) {
        for (id, seg) in w.new_segments {
            self.segments.insert(id, seg);
        }
        for (id, len) in w.segment_lens {
            if let Some(s) = self.segments.get_mut(&id) {
                s.len = len;
            }
        }
        for (key, entry) in w.entries {
            // Transactions only write versions above the indexed ones, so this record is
            // live; `upsert` moves the superseded record's bytes to dead.
            debug_assert!(self
                .index
                .get(&key)
                .is_none_or(|o| o.version < entry.version));
            if let Some(s) = self.segments.get_mut(&entry.loc.segment) {
                s.live_bytes += u64::from(entry.record_len);
            }
            self.upsert(key, entry, u64::MAX);
        }
        self.mark = w.mark;
        self.next_segment = w.next_segment;
    }
}

/// What a transaction wrote to one shard, applied to the index once the commit is durable.
pub(crate) struct ShardWrites {
    pub entries: Vec<(CellKey, Entry)>,
    pub new_segments: Vec<(u64, Segment)>,
    pub segment_lens: Vec<(u64, u64)>,
    pub mark: ShardMark,
    pub next_segment: u64,
}

/// Appends records to a shard's log, rolling to a new segment when the current one is full.
/// Nothing becomes visible until [`ShardWriter::finish`] and the store's commit.
pub(crate) struct ShardWriter<'a> {
    shard: &'a Shard,
    segment_bytes: u64,
    seg: u64,
    path: PathBuf,
    file: File,
    len: u64,
    buf: Vec<u8>,
    payload: Vec<u8>,
    lsn: u64,
    writes: ShardWrites,
    /// Files written (to fsync) other than new ones (fsynced when sealed).
    start: ShardMark,
}

const FLUSH_BYTES: usize = 4 << 20;

impl<'a> ShardWriter<'a> {
    pub(crate) fn new(shard: &'a Shard, segment_bytes: u64, first_lsn: u64) -> Result<Self> {
        let active = shard
            .segments
            .get(&shard.mark.segment)
            .ok_or_else(|| Error::corrupt(&shard.dir, 0, "active segment missing from shard"))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&active.path)
            .at(&active.path)?;
        Ok(Self {
            shard,
            segment_bytes,
            seg: shard.mark.segment,
            path: active.path.clone(),
            file,
            len: shard.mark.offset,
            buf: Vec::with_capacity(FLUSH_BYTES + (1 << 20)),
            payload: Vec::new(),
            lsn: first_lsn,
            writes: ShardWrites {
                entries: Vec::new(),
                new_segments: Vec::new(),
                segment_lens: Vec::new(),
                mark: shard.mark,
                next_segment: shard.next_segment,
            },
            start: shard.mark,
        })
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf).at(&self.path)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<()> {
        self.flush()?;
        self.file.sync_data().at(&self.path)?;
        let finished_len = self.len;
        if self.seg == self.start.segment {
            self.writes.segment_lens.push((self.seg, finished_len));
        } else if let Some((_, s)) = self.writes.new_segments.last_mut() {
            s.len = finished_len;
        }
        let id = self.writes.next_segment;
        self.writes.next_segment += 1;
        let path = segment_path(&self.shard.dir, id, SegmentKind::Log);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        file.write_all(&encode_header(self.shard.id, id, SegmentKind::Log))
            .at(&path)?;
        let read = File::open(&path).at(&path)?;
        self.writes.new_segments.push((
            id,
            Segment {
                kind: SegmentKind::Log,
                path: path.clone(),
                file: read,
                len: SEGMENT_HEADER_BYTES,
                live_bytes: 0,
            },
        ));
        self.seg = id;
        self.path = path;
        self.file = file;
        self.len = SEGMENT_HEADER_BYTES;
        Ok(())
    }

    fn append(
        &mut self,
        kind: RecordKind,
        key: CellKey,
        version: u64,
        counts: (u32, u32),
    ) -> Result<()> {
        let record_len = (crate::record::RECORD_HEADER_BYTES + self.payload.len()) as u64;
        if self.len + record_len > self.segment_bytes && self.len > SEGMENT_HEADER_BYTES {
            self.roll()?;
        }
        let lsn = self.lsn;
        self.lsn += 1;
        encode_record(&mut self.buf, kind, key, version, lsn, &self.payload);
        self.writes.entries.push((
            key,
            Entry {
                loc: Loc {
                    segment: self.seg,
                    offset: self.len,
                },
                record_len: record_len as u32,
                version,
                lsn,
                tombstone: kind == RecordKind::Tombstone,
                edges: counts.0,
                loops: counts.1,
            },
        ));
        self.len += record_len;
        if self.buf.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn put_vertex(&mut self, id: u64, version: u64, data: &VertexData) -> Result<()> {
        self.payload.clear();
        data.encode(&mut self.payload);
        self.append(RecordKind::Vertex, CellKey::vertex(id), version, (0, 0))
    }

    pub(crate) fn put_edge_block(
        &mut self,
        src: u64,
        block: u32,
        version: u64,
        data: &EdgeBlock,
    ) -> Result<()> {
        self.payload.clear();
        data.encode(&mut self.payload);
        let loops = data.dsts.iter().filter(|&&d| d == src).count() as u32;
        self.append(
            RecordKind::EdgeBlock,
            CellKey::edge_block(src, block),
            version,
            (data.len() as u32, loops),
        )
    }

    pub(crate) fn tombstone(&mut self, key: CellKey, version: u64) -> Result<()> {
        self.payload.clear();
        self.append(RecordKind::Tombstone, key, version, (0, 0))
    }

    /// Flushes and fsyncs everything written; returns the pending index changes.
    pub(crate) fn finish(mut self) -> Result<ShardWrites> {
        self.flush()?;
        self.file.sync_data().at(&self.path)?;
        if self.seg == self.start.segment {
            self.writes.segment_lens.push((self.seg, self.len));
        } else {
            if let Some((_, s)) = self.writes.new_segments.last_mut() {
                s.len = self.len;
            }
            sync_dir(&self.shard.dir)?;
        }
        self.writes.mark = ShardMark {
            segment: self.seg,
            offset: self.len,
        };
        Ok(self.writes)
    }
}

/// Undoes an uncommitted transaction's bytes on one shard: truncates the active segment back
/// to `start` and removes segments created after it. Used when a commit fails part-way.
pub(crate) fn rollback(shard: &Shard, start: ShardMark) {
    let active = segment_path(&shard.dir, start.segment, SegmentKind::Log);
    if let Ok(f) = OpenOptions::new().write(true).open(&active) {
        let _ = f.set_len(start.offset);
        let _ = f.sync_all();
    }
    if let Ok(entries) = fs::read_dir(&shard.dir) {
        for e in entries.flatten() {
            if let Some((seg, SegmentKind::Log)) =
                parse_segment_name(&e.file_name().to_string_lossy())
            {
                if seg > start.segment && !shard.segments.contains_key(&seg) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}
