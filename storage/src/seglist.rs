//! A shard's segment list (`shard-NNNN/SEGMENTS`): the id, kind and committed length of every
//! segment of the shard except the active log segment (whose committed length the commit
//! log holds). With it, open and `verify` know every segment the shard must have, so a
//! missing, shortened or lengthened segment is corruption rather than silently lost edges.
//!
//! Written whole (temporary file, fsync, rename, directory fsync):
//! - by a commit whose writer sealed segments, after their data is fsynced and before the
//!   commit record is appended (a listed log segment whose id is not below the committed
//!   active segment is therefore uncommitted, and ignored);
//! - by the cleaner, after renaming its outputs and before unlinking its victims (a segment
//!   on disk that is neither listed, nor the active one, nor an uncommitted log segment is
//!   a leftover of an interrupted compaction, and ignored);
//! - by a writable open that dropped uncommitted entries or upgraded a version 1 store.
//!
//! Format, little-endian: `magic "MPHSEGLS" | version u32 | shard u32 | count u32 |
//! count × (id u64 | kind u8 | length u64) | crc32 of everything before it, u32`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::codec::{framed, DecodeError, Framing};
use crate::error::{Error, Result};
use crate::replace::replace_file;
use crate::segment::SegmentKind;

/// File name of a shard's segment list.
pub(crate) const SEGLIST_FILE: &str = "SEGMENTS";
const MAGIC: &[u8; 8] = b"MPHSEGLS";
const VERSION: u32 = 1;
const ENTRY_BYTES: usize = 17;

/// One listed segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub id: u64,
    pub kind: SegmentKind,
    /// Committed length in bytes, header included: the file's exact length.
    pub len: u64,
}

pub(crate) fn path(shard_dir: &Path) -> PathBuf {
    shard_dir.join(SEGLIST_FILE)
}

fn encode(shard: u32, list: &[Listed]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + list.len() * ENTRY_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&shard.to_le_bytes());
    out.extend_from_slice(&(list.len() as u32).to_le_bytes());
    for l in list {
        out.extend_from_slice(&l.id.to_le_bytes());
        out.push(match l.kind {
            SegmentKind::Log => 0,
            SegmentKind::Compacted => 1,
        });
        out.extend_from_slice(&l.len.to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the segment list of shard `shard`.
pub(crate) fn decode(bytes: &[u8], shard: u32) -> Result<Vec<Listed>, DecodeError> {
    let mut r = framed(
        bytes,
        MAGIC,
        &Framing {
            short: "segment list shorter than its CRC",
            crc: "segment list CRC mismatch",
            magic: "not a segment list",
        },
    )?;
    if r.u32("version")? != VERSION {
        return Err(r.err("segment list version"));
    }
    if r.u32("shard")? != shard {
        return Err(r.err("segment list of another shard"));
    }
    let n = r.u32("segment count")? as usize;
    if r.remaining() != n * ENTRY_BYTES {
        return Err(r.err("segment count"));
    }
    let mut list: Vec<Listed> = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.u64("segment id")?;
        let kind = match r.u8("segment kind")? {
            0 => SegmentKind::Log,
            1 => SegmentKind::Compacted,
            _ => return Err(r.err("segment kind")),
        };
        let len = r.u64("segment length")?;
        if list.last().is_some_and(|l| l.id >= id) {
            return Err(r.err("segment ids not ascending"));
        }
        list.push(Listed { id, kind, len });
    }
    Ok(list)
}

/// Reads shard `shard`'s segment list: `None` when the file does not exist; an unreadable
/// or damaged one is corruption.
pub(crate) fn read(shard_dir: &Path, shard: u32) -> Result<Option<Vec<Listed>>> {
    let p = path(shard_dir);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, e)),
    };
    decode(&bytes, shard)
        .map(Some)
        .map_err(|e| Error::corrupt(&p, e.offset as u64, e.what))
}

/// Replaces shard `shard`'s segment list durably (`list` sorted by id).
pub(crate) fn write(shard_dir: &Path, shard: u32, list: &[Listed]) -> Result<()> {
    let bytes = encode(shard, list);
    let target = path(shard_dir);
    let tmp = shard_dir.join(format!("{SEGLIST_FILE}.tmp"));
    replace_file(&target, &tmp, true, |f| f.write_all(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Listed> {
        vec![
            Listed {
                id: 2,
                kind: SegmentKind::Log,
                len: 4096,
            },
            Listed {
                id: 9,
                kind: SegmentKind::Compacted,
                len: 100,
            },
        ]
    }

    #[test]
    fn round_trips_and_rejects_any_damage() {
        let good = encode(3, &sample());
        assert_eq!(decode(&good, 3).unwrap(), sample());
        assert!(decode(&good, 4).is_err(), "another shard's list");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad, 3).is_err(), "flip at byte {i}");
        }
        for n in 0..good.len() {
            assert!(decode(&good[..n], 3).is_err(), "truncated to {n} bytes");
        }
        assert_eq!(decode(&encode(0, &[]), 0).unwrap(), []);
    }
}
