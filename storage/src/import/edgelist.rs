//! Fast, parallel parser for whitespace-separated edge lists (`src dst [weight]`), with `#`
//! and `%` comment lines, blank lines and CRLF endings. The input is split at line
//! boundaries and parsed on all cores; errors name the file and 1-based line.

use std::path::Path;

use rayon::prelude::*;

use std::io::Read;

use super::{is_stdin, open_stream, read_input, Sink};
use crate::error::{Error, Result};

const CHUNK_BYTES: usize = 4 << 20;

/// A parse failure inside one chunk: (0-based line within the chunk, message).
type ChunkError = (u64, String);

#[inline]
fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r' || b == b','
}

/// Splits a line into whitespace-separated tokens.
fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| is_space(b)).filter(|t| !t.is_empty())
}

#[inline]
pub(crate) fn parse_id(tok: &[u8]) -> std::result::Result<u64, String> {
    let mut v: u64 = 0;
    if tok.is_empty() || tok.len() > 20 {
        return Err(bad_id(tok));
    }
    for &b in tok {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(bad_id(tok));
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or_else(|| bad_id(tok))?;
    }
    Ok(v)
}

fn bad_id(tok: &[u8]) -> String {
    format!(
        "vertex id `{}` is not an unsigned 64-bit integer",
        super::quote(tok)
    )
}

pub(crate) fn parse_weight(tok: &[u8]) -> std::result::Result<f64, String> {
    let text = std::str::from_utf8(tok).map_err(|_| "weight is not UTF-8".to_string())?;
    match text.parse::<f64>() {
        Ok(w) if w.is_finite() => Ok(w),
        _ => Err(format!(
            "weight `{}` is not a finite number",
            super::quote(tok)
        )),
    }
}

/// The fields of an edge-list line: how many there are, which one holds the weight, and
/// how to describe them in an error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeFields<'a> {
    /// Fields on every line: 2 for `src dst`, more with a weight or properties.
    pub count: usize,
    /// 0-based field holding the weight, if any (at least 2).
    pub weight: Option<usize>,
    /// The line's shape, e.g. "`src dst weight`".
    pub shape: &'a str,
}

impl EdgeFields<'static> {
    /// `src dst`, or `src dst weight` when `weighted`.
    pub(crate) fn plain(weighted: bool) -> Self {
        if weighted {
            Self {
                count: 3,
                weight: Some(2),
                shape: "`src dst weight`",
            }
        } else {
            Self {
                count: 2,
                weight: None,
                shape: "`src dst` (a weight in a third field needs --weighted)",
            }
        }
    }
}

/// "1 field" / "3 fields".
fn fields_word(n: usize) -> String {
    if n == 1 {
        "1 field".into()
    } else {
        format!("{n} fields")
    }
}

/// Parses one chunk of lines into `(src, dst, weight)`. Every line must have exactly
/// `fields.count` fields.
/// Also returns the number of line breaks in the chunk.
fn parse_chunk(
    chunk: &[u8],
    fields: EdgeFields<'_>,
) -> std::result::Result<(Vec<(u64, u64, f64)>, u64), ChunkError> {
    let mut out = Vec::with_capacity(chunk.len() / 12);
    let mut pieces = 0u64;
    for (i, line) in chunk.split(|&b| b == b'\n').enumerate() {
        pieces = i as u64 + 1;
        let start = line.iter().position(|&b| !is_space(b));
        let Some(start) = start else { continue };
        let line = &line[start..];
        if line[0] == b'#' || line[0] == b'%' {
            continue;
        }
        let err = |m: String| (i as u64, m);
        let (mut src, mut dst, mut weight) = (0, 0, 1.0);
        let mut n = 0usize;
        for t in tokens(line) {
            match n {
                0 => src = parse_id(t).map_err(err)?,
                1 => dst = parse_id(t).map_err(err)?,
                c if Some(c) == fields.weight => weight = parse_weight(t).map_err(err)?,
                _ => {}
            }
            n += 1;
        }
        if n != fields.count {
            return Err(err(format!(
                "found {}, expected {}: {}",
                fields_word(n),
                fields.count,
                fields.shape
            )));
        }
        out.push((src, dst, weight));
    }
    Ok((out, pieces.saturating_sub(1)))
}

/// Splits `bytes` into chunks that end at line boundaries.
pub(crate) fn line_chunks(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + CHUNK_BYTES).min(bytes.len());
        if end < bytes.len() {
            end = match bytes[end..].iter().position(|&b| b == b'\n') {
                Some(p) => end + p + 1,
                None => bytes.len(),
            };
        }
        out.push((start, &bytes[start..end]));
        start = end;
    }
    out
}

/// Reads an edge list whose lines have `fields`, streaming: a block of lines at a time
/// (a few chunks per core) is read, parsed in parallel and handed to the sink, so memory
/// stays at one block whatever the input size. `-` reads standard input.
pub(crate) fn read_edges(path: &Path, sink: &mut Sink<'_>, fields: EdgeFields<'_>) -> Result<()> {
    let block_bytes = (CHUNK_BYTES * rayon::current_num_threads()).clamp(CHUNK_BYTES, 32 << 20);
    let mut input = open_stream(path, sink.progress)?;
    let mut buf = vec![0u8; block_bytes];
    let (mut filled, mut lines, mut eof) = (0usize, 0u64, false);
    loop {
        while !eof && filled < buf.len() {
            match input.read(&mut buf[filled..]) {
                Ok(0) => eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::input(path, None, format!("cannot read: {e}"))),
            }
        }
        let end = if eof {
            filled
        } else {
            match buf[..filled].iter().rposition(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => {
                    // One line longer than the block: grow it.
                    buf.resize(buf.len() * 2, 0);
                    continue;
                }
            }
        };
        let chunks = line_chunks(&buf[..end]);
        let parsed: Vec<_> = chunks
            .par_iter()
            .map(|(_, c)| parse_chunk(c, fields))
            .collect();
        for p in parsed {
            match p {
                Ok((edges, newlines)) => {
                    sink.add_edges(&edges)?;
                    lines += newlines;
                }
                Err((line, msg)) => return Err(Error::input(path, Some(lines + line + 1), msg)),
            }
        }
        if is_stdin(path) {
            sink.bytes += end as u64;
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
        if eof && filled == 0 {
            return Ok(());
        }
    }
}

/// Reads a vertex list: a vertex id, then `extra` more fields (ignored), per line.
pub(crate) fn read_vertices(path: &Path, sink: &mut Sink<'_>, extra: usize) -> Result<()> {
    let bytes = read_input(path, sink.progress)?;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let mut toks = tokens(line);
        let Some(first) = toks.next() else {
            continue;
        };
        if first[0] == b'#' || first[0] == b'%' {
            continue;
        }
        let at = |m: String| Error::input(path, Some(i as u64 + 1), m);
        let id = parse_id(first).map_err(at)?;
        let n = 1 + toks.count();
        if n != 1 + extra {
            return Err(at(format!(
                "found {}, expected {}: a vertex id{}",
                fields_word(n),
                1 + extra,
                if extra > 0 { " and its properties" } else { "" }
            )));
        }
        sink.vertex(id, None, Vec::new())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: EdgeFields<'static> = EdgeFields {
        count: 2,
        weight: None,
        shape: "`src dst`",
    };
    const WEIGHTED: EdgeFields<'static> = EdgeFields {
        count: 3,
        weight: Some(2),
        shape: "`src dst weight`",
    };

    #[test]
    fn parses_comments_blanks_crlf_and_weights() {
        let text = b"# header\n% other\n\n1 2\r\n  3\t4\n";
        let got = parse_chunk(text, PLAIN).unwrap();
        assert_eq!(got, (vec![(1, 2, 1.0), (3, 4, 1.0)], 5));
        let err = parse_chunk(text, WEIGHTED).unwrap_err();
        assert_eq!(err.0, 3, "line 4 (0-based 3) lacks a weight");
        assert_eq!(err.1, "found 2 fields, expected 3: `src dst weight`");
        assert_eq!(
            parse_chunk(b"3 4 0.5\n", WEIGHTED).unwrap(),
            (vec![(3, 4, 0.5)], 1)
        );
    }

    #[test]
    fn rejects_extra_and_missing_fields_with_line() {
        let err = parse_chunk(b"1 2\n1 2 3 4\n", PLAIN).unwrap_err();
        assert_eq!(err, (1, "found 4 fields, expected 2: `src dst`".into()));
        assert_eq!(parse_chunk(b"1 2 0.5\n", PLAIN).unwrap_err().0, 0);
        assert_eq!(parse_chunk(b"1 2 0.5 9\n", WEIGHTED).unwrap_err().0, 0);
        let err = parse_chunk(b"1\n2\n", PLAIN).unwrap_err();
        assert_eq!(err, (0, "found 1 field, expected 2: `src dst`".into()));
    }

    #[test]
    fn rejects_bad_ids_with_line() {
        assert_eq!(parse_chunk(b"1 2\n1 x\n", PLAIN).unwrap_err().0, 1);
        assert!(parse_chunk(b"-1 2\n", PLAIN).is_err());
        assert!(parse_chunk(b"18446744073709551616 2\n", PLAIN).is_err());
        assert!(parse_chunk(b"1\n", PLAIN).is_err());
        assert!(parse_chunk(b"1 2 nan\n", WEIGHTED).is_err());
        assert_eq!(parse_id(b"18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn chunks_cover_input_at_line_boundaries() {
        let mut text = Vec::new();
        for i in 0..400_000u64 {
            text.extend_from_slice(format!("{i} {}\n", i + 1).as_bytes());
        }
        let chunks = line_chunks(&text);
        assert!(chunks.len() > 1);
        let mut pos = 0;
        for (start, c) in &chunks {
            assert_eq!(*start, pos);
            assert_eq!(*c.last().unwrap(), b'\n');
            pos += c.len();
        }
        assert_eq!(pos, text.len());
    }
}
