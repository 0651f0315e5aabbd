//! The on-disk record: a fixed 40-byte header followed by the cell payload.
//!
//! ```text
//! 0  kind u8 | 1 target kind u8 | 2 reserved u16 | 4 payload_len u32
//! 8  cell vertex id u64 | 16 block index u32 | 20 crc32 u32
//! 24 version u64 | 32 lsn u64 | 40 payload …
//! ```
//! The CRC32 covers the header (with the CRC field taken as zero) and the payload, so a flip
//! of any byte of a record is detected.

use crate::codec::{DecodeError, Reader};

/// Size of a record header in bytes.
pub const RECORD_HEADER_BYTES: usize = 40;

/// Largest payload a record may carry (a guard against corrupt length fields).
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;

/// What kind of cell a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CellKind {
    /// A vertex with label and properties.
    Vertex,
    /// One block of a vertex's out-edges.
    EdgeBlock,
}

/// The identity of a cell: versions of the same key supersede each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    /// Vertex or edge block.
    pub kind: CellKind,
    /// The vertex id (the source vertex, for an edge block).
    pub vertex: u64,
    /// Block index within the source's edge chain; 0 for vertices.
    pub block: u32,
}

impl CellKey {
    /// Key of vertex `id`.
    pub fn vertex(id: u64) -> Self {
        Self {
            kind: CellKind::Vertex,
            vertex: id,
            block: 0,
        }
    }

    /// Key of edge block `block` of source `src`.
    pub fn edge_block(src: u64, block: u32) -> Self {
        Self {
            kind: CellKind::EdgeBlock,
            vertex: src,
            block,
        }
    }
}

/// The kind byte of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A vertex cell version.
    Vertex,
    /// An edge block cell version.
    EdgeBlock,
    /// Deletion of the cell named by the key.
    Tombstone,
}

const KIND_VERTEX: u8 = 1;
const KIND_EDGE_BLOCK: u8 = 2;
const KIND_TOMBSTONE: u8 = 3;

/// A decoded record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// What the record holds.
    pub kind: RecordKind,
    /// The cell it is a version of.
    pub key: CellKey,
    /// Per-cell version: the highest wins.
    pub version: u64,
    /// Store-wide log sequence number of the write.
    pub lsn: u64,
    /// Payload length in bytes.
    pub payload_len: u32,
}

fn cell_kind_byte(k: CellKind) -> u8 {
    match k {
        CellKind::Vertex => KIND_VERTEX,
        CellKind::EdgeBlock => KIND_EDGE_BLOCK,
    }
}

fn cell_kind_from(b: u8) -> Option<CellKind> {
    match b {
        KIND_VERTEX => Some(CellKind::Vertex),
        KIND_EDGE_BLOCK => Some(CellKind::EdgeBlock),
        _ => None,
    }
}

impl RecordHeader {
    /// Bytes the whole record occupies.
    pub fn record_len(&self) -> usize {
        RECORD_HEADER_BYTES + self.payload_len as usize
    }
}

/// Appends a complete record (header + payload) to `out`.
pub fn encode_record(
    out: &mut Vec<u8>,
    kind: RecordKind,
    key: CellKey,
    version: u64,
    lsn: u64,
    payload: &[u8],
) {
    let start = out.len();
    let kind_byte = match kind {
        RecordKind::Vertex => KIND_VERTEX,
        RecordKind::EdgeBlock => KIND_EDGE_BLOCK,
        RecordKind::Tombstone => KIND_TOMBSTONE,
    };
    debug_assert!(kind == RecordKind::Tombstone || cell_kind_byte(key.kind) == kind_byte);
    out.push(kind_byte);
    out.push(cell_kind_byte(key.kind));
    out.extend_from_slice(&0u16.to_le_bytes());
    let len = u32::try_from(payload.len()).expect("payloads are bounded by the block size");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&key.vertex.to_le_bytes());
    out.extend_from_slice(&key.block.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&lsn.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = record_crc(&out[start..start + RECORD_HEADER_BYTES], payload);
    out[start + 20..start + 24].copy_from_slice(&crc.to_le_bytes());
}

fn record_crc(header: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header[..20]);
    h.update(&[0u8; 4]);
    h.update(&header[24..RECORD_HEADER_BYTES]);
    h.update(payload);
    h.finalize()
}

/// Why the bytes at an offset are not a valid record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes remain than the header or its payload length needs: a torn write.
    Truncated {
        /// Bytes needed for the record.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The header is malformed or the CRC does not match: corruption.
    Invalid(DecodeError),
}

/// Decodes the record at the start of `buf`, checking its CRC. Returns the header and payload.
pub fn decode_record(buf: &[u8]) -> Result<(RecordHeader, &[u8]), RecordError> {
    if buf.len() < RECORD_HEADER_BYTES {
        return Err(RecordError::Truncated {
            needed: RECORD_HEADER_BYTES,
            available: buf.len(),
        });
    }
    let mut r = Reader::new(&buf[..RECORD_HEADER_BYTES]);
    let bad = |offset, what| RecordError::Invalid(DecodeError { offset, what });
    let kind_byte = r.u8("kind").map_err(RecordError::Invalid)?;
    let target = r.u8("target kind").map_err(RecordError::Invalid)?;
    let reserved = r.u16("reserved").map_err(RecordError::Invalid)?;
    let payload_len = r.u32("payload length").map_err(RecordError::Invalid)?;
    let vertex = r.u64("vertex id").map_err(RecordError::Invalid)?;
    let block = r.u32("block index").map_err(RecordError::Invalid)?;
    let crc = r.u32("crc").map_err(RecordError::Invalid)?;
    let version = r.u64("version").map_err(RecordError::Invalid)?;
    let lsn = r.u64("lsn").map_err(RecordError::Invalid)?;
    if payload_len as usize > MAX_PAYLOAD_BYTES {
        return Err(bad(4, "payload length over the 64 MiB limit"));
    }
    let total = RECORD_HEADER_BYTES + payload_len as usize;
    if buf.len() < total {
        // Check the CRC of what is there is impossible; a short record is either a torn
        // tail (the caller decides by position) or a corrupted length.
        return Err(RecordError::Truncated {
            needed: total,
            available: buf.len(),
        });
    }
    let payload = &buf[RECORD_HEADER_BYTES..total];
    if record_crc(&buf[..RECORD_HEADER_BYTES], payload) != crc {
        return Err(bad(20, "CRC mismatch"));
    }
    let kind = match kind_byte {
        KIND_VERTEX => RecordKind::Vertex,
        KIND_EDGE_BLOCK => RecordKind::EdgeBlock,
        KIND_TOMBSTONE => RecordKind::Tombstone,
        _ => return Err(bad(0, "unknown record kind")),
    };
    let cell_kind = cell_kind_from(target).ok_or_else(|| bad(1, "unknown cell kind"))?;
    if reserved != 0 {
        return Err(bad(2, "reserved bytes not zero"));
    }
    if kind != RecordKind::Tombstone && cell_kind_byte(cell_kind) != kind_byte {
        return Err(bad(1, "cell kind does not match record kind"));
    }
    if kind == RecordKind::Tombstone && payload_len != 0 {
        return Err(bad(4, "tombstone with a payload"));
    }
    if cell_kind == CellKind::Vertex && block != 0 {
        return Err(bad(16, "vertex record with a block index"));
    }
    let key = CellKey {
        kind: cell_kind,
        vertex,
        block,
    };
    Ok((
        RecordHeader {
            kind,
            key,
            version,
            lsn,
            payload_len,
        },
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn record_round_trips(
            vertex: u64, block in 0u32..10, version: u64, lsn: u64,
            payload in proptest::collection::vec(any::<u8>(), 0..300), edge: bool,
        ) {
            let (kind, key) = if edge {
                (RecordKind::EdgeBlock, CellKey::edge_block(vertex, block))
            } else {
                (RecordKind::Vertex, CellKey::vertex(vertex))
            };
            let mut buf = Vec::new();
            encode_record(&mut buf, kind, key, version, lsn, &payload);
            let (h, p) = decode_record(&buf).unwrap();
            prop_assert_eq!(h, RecordHeader { kind, key, version, lsn, payload_len: payload.len() as u32 });
            prop_assert_eq!(p, &payload[..]);
        }

        #[test]
        fn any_single_byte_flip_is_detected(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            pos in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let mut buf = Vec::new();
            encode_record(&mut buf, RecordKind::Vertex, CellKey::vertex(7), 3, 9, &payload);
            let i = pos.index(buf.len());
            buf[i] ^= 1 << bit;
            prop_assert!(decode_record(&buf).is_err());
        }
    }

    #[test]
    fn tombstone_round_trips() {
        let mut buf = Vec::new();
        encode_record(
            &mut buf,
            RecordKind::Tombstone,
            CellKey::edge_block(5, 2),
            4,
            11,
            &[],
        );
        let (h, p) = decode_record(&buf).unwrap();
        assert_eq!(h.kind, RecordKind::Tombstone);
        assert_eq!(h.key, CellKey::edge_block(5, 2));
        assert!(p.is_empty());
    }

    #[test]
    fn short_buffer_is_truncated_not_invalid() {
        let mut buf = Vec::new();
        encode_record(
            &mut buf,
            RecordKind::Vertex,
            CellKey::vertex(1),
            1,
            1,
            b"abcdef",
        );
        for cut in 0..buf.len() {
            assert!(matches!(
                decode_record(&buf[..cut]),
                Err(RecordError::Truncated { .. })
            ));
        }
    }
}
