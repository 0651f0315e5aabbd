//! Segment files: a 32-byte header followed by records. Log segments (`*.log`) receive
//! appends and are sealed when full; compacted segments (`*.cmp`) are written whole by the
//! cleaner, fsynced under a temporary name and renamed, so they are never torn.
//!
//! Header: `magic "MPHSEG01" | format u32 | shard u32 | segment id u64 | kind u8 | 3 × 0 |
//! crc32 of the first 28 bytes`.

use std::path::{Path, PathBuf};

use crate::codec::Reader;
use crate::record::{decode_record, RecordError, RecordHeader};

/// Size of the segment header.
pub const SEGMENT_HEADER_BYTES: u64 = 32;
const MAGIC: &[u8; 8] = b"MPHSEG01";
/// Format number in every segment header; the segment layout has not changed since format
/// version 1 of the store (the store's version is the manifest's).
const SEGMENT_FORMAT: u32 = 1;

/// How a segment came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// Appended to by transactions; may carry an uncommitted tail.
    Log,
    /// Written whole by the cleaner.
    Compacted,
}

impl SegmentKind {
    fn ext(self) -> &'static str {
        match self {
            SegmentKind::Log => "log",
            SegmentKind::Compacted => "cmp",
        }
    }
}

/// Path of segment `id` in shard directory `dir`.
pub fn segment_path(dir: &Path, id: u64, kind: SegmentKind) -> PathBuf {
    dir.join(format!("{id:016}.{}", kind.ext()))
}

/// Parses a segment file name back into id and kind; `None` for other files.
pub fn parse_segment_name(name: &str) -> Option<(u64, SegmentKind)> {
    let (stem, ext) = name.split_once('.')?;
    let kind = match ext {
        "log" => SegmentKind::Log,
        "cmp" => SegmentKind::Compacted,
        _ => return None,
    };
    if stem.len() != 16 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, kind))
}

/// Encodes a segment header.
pub fn encode_header(
    shard: u32,
    id: u64,
    kind: SegmentKind,
) -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_FORMAT.to_le_bytes());
    h[12..16].copy_from_slice(&shard.to_le_bytes());
    h[16..24].copy_from_slice(&id.to_le_bytes());
    h[24] = match kind {
        SegmentKind::Log => 0,
        SegmentKind::Compacted => 1,
    };
    let crc = crc32fast::hash(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a segment header against the expected shard, id and kind.
pub fn check_header(bytes: &[u8], shard: u32, id: u64, kind: SegmentKind) -> Result<(), String> {
    if bytes.len() < SEGMENT_HEADER_BYTES as usize {
        return Err("segment shorter than its header".into());
    }
    let h = &bytes[..SEGMENT_HEADER_BYTES as usize];
    let mut r = Reader::new(h);
    let magic = r.bytes(8, "magic").map_err(|e| e.to_string())?;
    if magic != MAGIC {
        return Err("bad segment magic".into());
    }
    let stored_crc = u32::from_le_bytes(h[28..32].try_into().expect("4 bytes"));
    if crc32fast::hash(&h[..28]) != stored_crc {
        return Err("segment header CRC mismatch".into());
    }
    let want = encode_header(shard, id, kind);
    if h != want {
        return Err(format!(
            "segment header names another format, shard, id or kind (expected shard {shard}, id {id}, {kind:?})"
        ));
    }
    Ok(())
}

/// One step of a sequential scan.
pub enum ScanItem<'a> {
    /// A valid record at `offset`.
    Record {
        /// Byte offset of the record in the file.
        offset: u64,
        /// Its header.
        header: RecordHeader,
        /// Its payload.
        payload: &'a [u8],
    },
    /// The bytes at `offset` are not a valid record.
    Bad {
        /// Byte offset of the problem.
        offset: u64,
        /// Whether the record merely runs past `end` (a torn tail) rather than failing a check.
        truncated: bool,
        /// What is wrong.
        reason: String,
    },
}

/// Iterates the records of `bytes[SEGMENT_HEADER_BYTES..end]`; stops after the first bad one.
pub struct RecordScan<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    failed: bool,
}

impl<'a> RecordScan<'a> {
    /// Scans records from the end of the header up to `end` (clamped to the buffer).
    pub fn new(bytes: &'a [u8], end: u64) -> Self {
        Self::from(bytes, SEGMENT_HEADER_BYTES, end)
    }

    /// Scans records from offset `start` (a record boundary) up to `end`.
    pub fn from(bytes: &'a [u8], start: u64, end: u64) -> Self {
        let end = (end as usize).min(bytes.len());
        Self {
            bytes,
            pos: start as usize,
            end,
            failed: false,
        }
    }
}

impl<'a> Iterator for RecordScan<'a> {
    type Item = ScanItem<'a>;

    fn next(&mut self) -> Option<ScanItem<'a>> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        let offset = self.pos as u64;
        match decode_record(&self.bytes[self.pos..self.end]) {
            Ok((header, payload)) => {
                self.pos += header.record_len();
                Some(ScanItem::Record {
                    offset,
                    header,
                    payload,
                })
            }
            Err(RecordError::Truncated { needed, available }) => {
                self.failed = true;
                Some(ScanItem::Bad {
                    offset,
                    truncated: true,
                    reason: format!("record needs {needed} bytes, only {available} remain"),
                })
            }
            Err(RecordError::Invalid(e)) => {
                self.failed = true;
                Some(ScanItem::Bad {
                    offset: offset + e.offset as u64,
                    truncated: false,
                    reason: format!("invalid record: {}", e.what),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let p = segment_path(Path::new("/x"), 42, SegmentKind::Compacted);
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_segment_name(name), Some((42, SegmentKind::Compacted)));
        assert_eq!(
            parse_segment_name("0000000000000001.log"),
            Some((1, SegmentKind::Log))
        );
        assert_eq!(parse_segment_name("1.log"), None);
        assert_eq!(parse_segment_name("0000000000000001.log.tmp"), None);
    }

    #[test]
    fn header_checks() {
        let h = encode_header(3, 9, SegmentKind::Log);
        assert!(check_header(&h, 3, 9, SegmentKind::Log).is_ok());
        assert!(check_header(&h, 2, 9, SegmentKind::Log).is_err());
        assert!(check_header(&h, 3, 9, SegmentKind::Compacted).is_err());
        for i in 0..h.len() {
            let mut bad = h;
            bad[i] ^= 0x10;
            assert!(
                check_header(&bad, 3, 9, SegmentKind::Log).is_err(),
                "flip at {i}"
            );
        }
    }
}
