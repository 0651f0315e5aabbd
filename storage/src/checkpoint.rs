//! Index checkpoints: a shard's index (cell key → newest record) and per-segment live-byte
//! accounting, written to `index.ckpt` in the shard directory so that an open reads the
//! index instead of re-reading, CRC-checking and decoding every record.
//!
//! A checkpoint is a cache, never the source of truth:
//! - it describes committed state only, and names every segment it covers with the length
//!   covered; an open scans what was appended after that length and every segment the
//!   checkpoint does not name, exactly as it would without one;
//! - it is ignored (and the shard's index rebuilt from the segments) when it is missing,
//!   fails its CRC, belongs to another shard, or names a segment that is gone, changed kind
//!   or is shorter than the length it covers (a writable open then deletes it);
//! - it is written to a temporary name and renamed, without fsync: a torn or stale file
//!   after a crash fails one of the checks above and costs a full scan, nothing more;
//! - the cleaner deletes it before it removes any segment, so a checkpoint never outlives a
//!   segment it names (and a later segment reusing the id cannot be mistaken for it).
//!
//! Records a checkpoint covers are not CRC-checked by the open; they still are on every
//! read (point reads, scans, the cleaner), and `morpheus store verify` checks all of them.
//!
//! Format, little-endian:
//! ```text
//! magic "MPHIDX01" | shard u32 | txn u64 | segments u32
//! per segment: id u64 | kind u8 | covered length u64 | live bytes u64
//! entries u64, then per entry (varints unless noted):
//!   segment position in the table above | offset | flags u8 (bit 0 edge block,
//!   bit 1 tombstone) | vertex | block | record length | version | lsn | edges | loops
//! crc32 of everything before it, u32
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::codec::{framed, put_varint, DecodeError, Framing, Reader};
use crate::error::{IoContext, Result};
use crate::hash::IntMap;
use crate::record::{CellKey, CellKind};
use crate::replace::replace_file;
use crate::segment::SegmentKind;
use crate::shard::{Entry, Loc, Shard};

const MAGIC: &[u8; 8] = b"MPHIDX01";
/// File name of a shard's checkpoint.
pub(crate) const CHECKPOINT_FILE: &str = "index.ckpt";
/// A checkpoint is rewritten once the records it does not cover reach this many bytes and a
/// quarter of those it does (so rewriting costs O(1) per appended byte, amortised).
pub(crate) const MIN_UNCOVERED_BYTES: u64 = 8 << 20;

/// One segment as a checkpoint saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Covered {
    pub id: u64,
    pub kind: SegmentKind,
    /// Valid length (header included) the entries describe.
    pub len: u64,
    /// Live record bytes within that length.
    pub live_bytes: u64,
}

/// A decoded checkpoint.
pub(crate) struct Checkpoint {
    pub segments: Vec<Covered>,
    pub index: IntMap<CellKey, Entry>,
}

pub(crate) fn path(shard_dir: &Path) -> PathBuf {
    shard_dir.join(CHECKPOINT_FILE)
}

fn kind_byte(kind: SegmentKind) -> u8 {
    match kind {
        SegmentKind::Log => 0,
        SegmentKind::Compacted => 1,
    }
}

/// Encodes `shard`'s index and segment table as of commit `txn`.
fn encode(shard: &Shard, txn: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + shard.index.len() * 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&shard.id.to_le_bytes());
    out.extend_from_slice(&txn.to_le_bytes());
    out.extend_from_slice(&(shard.segments.len() as u32).to_le_bytes());
    for (&id, s) in &shard.segments {
        out.extend_from_slice(&id.to_le_bytes());
        out.push(kind_byte(s.kind));
        out.extend_from_slice(&s.len.to_le_bytes());
        out.extend_from_slice(&s.live_bytes.to_le_bytes());
    }
    // Segment ids are sparse; entries name a segment by its position in the table.
    let position: IntMap<u64, u64> = shard
        .segments
        .keys()
        .enumerate()
        .map(|(i, &id)| (id, i as u64))
        .collect();
    out.extend_from_slice(&(shard.index.len() as u64).to_le_bytes());
    for (key, e) in &shard.index {
        put_varint(&mut out, position[&e.loc.segment]);
        put_varint(&mut out, e.loc.offset);
        out.push(u8::from(key.kind == CellKind::EdgeBlock) | (u8::from(e.tombstone) << 1));
        put_varint(&mut out, key.vertex);
        put_varint(&mut out, u64::from(key.block));
        put_varint(&mut out, u64::from(e.record_len));
        put_varint(&mut out, e.version);
        put_varint(&mut out, e.lsn);
        put_varint(&mut out, u64::from(e.edges));
        put_varint(&mut out, u64::from(e.loops));
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn narrow(v: u64, r: &Reader<'_>, what: &'static str) -> Result<u32, DecodeError> {
    u32::try_from(v).map_err(|_| r.err(what))
}

/// Decodes a checkpoint of shard `shard`.
pub(crate) fn decode(bytes: &[u8], shard: u32) -> Result<Checkpoint, DecodeError> {
    let mut r = framed(
        bytes,
        MAGIC,
        &Framing {
            short: "checkpoint shorter than its CRC",
            crc: "checkpoint CRC mismatch",
            magic: "not an index checkpoint",
        },
    )?;
    if r.u32("shard")? != shard {
        return Err(r.err("checkpoint of another shard"));
    }
    let _txn = r.u64("txn")?;
    let n = r.u32("segment count")? as usize;
    if n > r.remaining() / 25 {
        return Err(r.err("segment count"));
    }
    let mut segments = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.u64("segment id")?;
        let kind = match r.u8("segment kind")? {
            0 => SegmentKind::Log,
            1 => SegmentKind::Compacted,
            _ => return Err(r.err("segment kind")),
        };
        let len = r.u64("covered length")?;
        let live_bytes = r.u64("live bytes")?;
        segments.push(Covered {
            id,
            kind,
            len,
            live_bytes,
        });
    }
    let entries = r.u64("entry count")?;
    // Each entry takes at least 10 bytes: bound the allocation by what the file can hold.
    if entries > (r.remaining() / 10) as u64 {
        return Err(r.err("entry count"));
    }
    let mut index = IntMap::with_capacity_and_hasher(entries as usize, Default::default());
    for _ in 0..entries {
        let seg = r.varint("segment position")?;
        let segment = segments
            .get(seg as usize)
            .ok_or_else(|| r.err("segment position"))?
            .id;
        let offset = r.varint("offset")?;
        let flags = r.u8("flags")?;
        if flags > 3 {
            return Err(r.err("flags"));
        }
        let kind = if flags & 1 == 1 {
            CellKind::EdgeBlock
        } else {
            CellKind::Vertex
        };
        let vertex = r.varint("vertex")?;
        let block = narrow(r.varint("block")?, &r, "block")?;
        let record_len = narrow(r.varint("record length")?, &r, "record length")?;
        let version = r.varint("version")?;
        let lsn = r.varint("lsn")?;
        let edges = narrow(r.varint("edges")?, &r, "edges")?;
        let loops = narrow(r.varint("loops")?, &r, "loops")?;
        let key = CellKey {
            kind,
            vertex,
            block,
        };
        let entry = Entry {
            loc: Loc { segment, offset },
            record_len,
            version,
            lsn,
            tombstone: flags & 2 == 2,
            edges,
            loops,
        };
        if index.insert(key, entry).is_some() {
            return Err(r.err("cell listed twice"));
        }
    }
    if r.remaining() != 0 {
        return Err(r.err("bytes after the last entry"));
    }
    Ok(Checkpoint { segments, index })
}

/// Writes `shard`'s checkpoint as of commit `txn` (temporary name, then rename; no fsync:
/// see the module documentation).
pub(crate) fn write(shard: &Shard, txn: u64) -> Result<()> {
    let bytes = encode(shard, txn);
    let target = path(&shard.dir);
    let tmp = target.with_extension("ckpt.tmp");
    // A failed write (a full disk) removes the temporary file at once.
    replace_file(&target, &tmp, false, |f| f.write_all(&bytes))
}

/// Reads shard `shard`'s checkpoint: `None` when there is none or it cannot be used (the
/// reason is logged; the caller rebuilds the index from the segments).
pub(crate) fn read(shard_dir: &Path, shard: u32) -> Option<Checkpoint> {
    let p = path(shard_dir);
    let bytes = match fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("ignoring index checkpoint {}: {e}", p.display());
            return None;
        }
    };
    match decode(&bytes, shard) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(
                "ignoring index checkpoint {}: {e}; rebuilding the index from the segments",
                p.display()
            );
            None
        }
    }
}

/// Removes `shard_dir`'s checkpoint, if any.
pub(crate) fn remove(shard_dir: &Path) -> Result<()> {
    let p = path(shard_dir);
    match fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).at(&p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&7u32.to_le_bytes());
        out.extend_from_slice(&3u64.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&5u64.to_le_bytes());
        out.push(1);
        out.extend_from_slice(&1000u64.to_le_bytes());
        out.extend_from_slice(&900u64.to_le_bytes());
        out.extend_from_slice(&1u64.to_le_bytes());
        for v in [0u64, 32] {
            put_varint(&mut out, v);
        }
        out.push(1);
        for v in [u64::MAX, 2, 120, 9, 1 << 40, 30, 1] {
            put_varint(&mut out, v);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn decodes_what_the_format_describes() {
        let c = decode(&sample(), 7).unwrap();
        assert_eq!(
            c.segments,
            [Covered {
                id: 5,
                kind: SegmentKind::Compacted,
                len: 1000,
                live_bytes: 900
            }]
        );
        let e = c.index[&CellKey::edge_block(u64::MAX, 2)];
        assert_eq!(
            e.loc,
            Loc {
                segment: 5,
                offset: 32
            }
        );
        assert_eq!((e.record_len, e.version, e.lsn), (120, 9, 1 << 40));
        assert_eq!((e.edges, e.loops, e.tombstone), (30, 1, false));
    }

    #[test]
    fn damage_anywhere_is_rejected_without_panicking() {
        let good = sample();
        assert!(decode(&good, 8).is_err(), "another shard's checkpoint");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            assert!(decode(&bad, 7).is_err(), "flip at byte {i}");
        }
        for n in 0..good.len() {
            assert!(decode(&good[..n], 7).is_err(), "truncated to {n} bytes");
        }
    }
}
