//! Little-endian byte codec shared by records, cells, manifests and the commit log.
//! Every read is bounds-checked: a short or malformed buffer is a [`DecodeError`], never a panic.

use std::fmt;

/// Why a byte buffer could not be decoded, and where (offset within the buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset within the decoded buffer where decoding failed.
    pub offset: usize,
    /// What was expected there.
    pub what: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over a byte slice with checked little-endian reads.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            what,
        }
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.err(what));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let b = self.bytes(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// LEB128 unsigned varint (at most 10 bytes).
    #[inline]
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.err(what));
            };
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(DecodeError {
                    offset: self.pos - 1,
                    what: "varint overflows u64",
                });
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError {
                    offset: self.pos - 1,
                    what: "varint longer than 10 bytes",
                });
            }
        }
    }

    /// A varint used as a length or count; rejects values larger than the remaining bytes
    /// could possibly hold (`min_item_bytes` each), so corrupt input cannot trigger huge
    /// allocations.
    pub(crate) fn count(
        &mut self,
        min_item_bytes: usize,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.varint(what)?;
        let max = self.remaining() / min_item_bytes.max(1);
        if n > max as u64 {
            return Err(DecodeError {
                offset: start,
                what,
            });
        }
        Ok(n as usize)
    }

    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = self.count(1, what)?;
        let start = self.pos;
        let raw = self.bytes(len, what)?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| DecodeError {
                offset: start,
                what: "invalid UTF-8 in string",
            })
    }
}

#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_string(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Zigzag mapping so small negative integers encode as short varints.
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// How a CRC-trailed file (`[magic][body][crc32 of both]`) is named in decode errors.
pub(crate) struct Framing {
    /// The file is shorter than its CRC.
    pub short: &'static str,
    /// The CRC does not match.
    pub crc: &'static str,
    /// The magic is not the expected one.
    pub magic: &'static str,
}

/// Checks the CRC trailer and the 8-byte `magic` of a framed file; returns a reader of
/// what follows the magic (the CRC excluded). Index checkpoints and segment lists share it.
pub(crate) fn framed<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    names: &Framing,
) -> Result<Reader<'a>, DecodeError> {
    let body_len = bytes.len().checked_sub(4).ok_or(DecodeError {
        offset: 0,
        what: names.short,
    })?;
    let (body, crc) = bytes.split_at(body_len);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err(DecodeError {
            offset: body_len,
            what: names.crc,
        });
    }
    let mut r = Reader::new(body);
    if r.bytes(8, "magic")? != magic {
        return Err(DecodeError {
            offset: 0,
            what: names.magic,
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varint_round_trips(v: u64) {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut r = Reader::new(&buf);
            prop_assert_eq!(r.varint("v").unwrap(), v);
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn zigzag_round_trips(v: i64) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }

        #[test]
        fn reader_never_panics_on_garbage(bytes: Vec<u8>) {
            let mut r = Reader::new(&bytes);
            let _ = r.varint("a");
            let _ = r.string("b");
            let _ = r.count(8, "c");
            let _ = r.u64("d");
        }
    }

    #[test]
    fn varint_rejects_overlong_encoding() {
        let buf = [0xffu8; 11];
        assert!(Reader::new(&buf).varint("v").is_err());
    }
}
