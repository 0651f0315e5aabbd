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
use crate::seglist::{self, Listed};
use crate::segment::{
    encode_header, parse_segment_name, segment_path, RecordScan, ScanItem, SegmentKind,
    SEGMENT_HEADER_BYTES,
};

mod open;

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
    /// Log or compacted (recorded in the segment list).
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
        // One resize up front: growing by doubling would hold two tables at once.
        self.index.reserve(w.entries.len());
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
    /// Store-wide LSN counter shared by the shards of a streamed transaction, whose
    /// per-shard record counts are not known in advance.
    shared_lsn: Option<&'a std::sync::atomic::AtomicU64>,
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
            shared_lsn: None,
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

    /// A writer that takes each record's LSN from `lsns` (dense across the shards of the
    /// transaction, increasing within each shard).
    pub(crate) fn with_shared_lsn(
        shard: &'a Shard,
        segment_bytes: u64,
        lsns: &'a std::sync::atomic::AtomicU64,
    ) -> Result<Self> {
        let mut w = Self::new(shard, segment_bytes, 0)?;
        w.shared_lsn = Some(lsns);
        Ok(w)
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
        let lsn = match self.shared_lsn {
            Some(a) => a.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            None => {
                self.lsn += 1;
                self.lsn - 1
            }
        };
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
            // Segments were sealed: list them (their data is durable) before the commit
            // record names the new active segment.
            seglist::write(&self.shard.dir, self.shard.id, &self.sealed_list())?;
        }
        self.writes.mark = ShardMark {
            segment: self.seg,
            offset: self.len,
        };
        Ok(self.writes)
    }

    /// The shard's segment list once this transaction commits: the segments listed before,
    /// the formerly active segment and every segment sealed since, each at its final length.
    fn sealed_list(&self) -> Vec<Listed> {
        let mut list = self.shard.seglist();
        for &(id, len) in &self.writes.segment_lens {
            list.push(Listed {
                id,
                kind: SegmentKind::Log,
                len,
            });
        }
        for (id, s) in &self.writes.new_segments {
            if *id != self.seg {
                list.push(Listed {
                    id: *id,
                    kind: SegmentKind::Log,
                    len: s.len,
                });
            }
        }
        list.sort_by_key(|l| l.id);
        list
    }
}

/// Undoes an uncommitted transaction's bytes on one shard: truncates the active segment back
/// to `start`, removes segments created after it and restores the segment list. Used when a
/// commit fails part-way; best effort (open treats whatever is left as uncommitted).
pub(crate) fn rollback(shard: &Shard, start: ShardMark) {
    if let Err(e) = seglist::write(&shard.dir, shard.id, &shard.seglist()) {
        tracing::warn!("segment list of shard {} not restored: {e}", shard.id);
    }
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
