//! Deterministic synthetic graphs: RMAT (Graph500 parameters a=0.57, b=0.19, c=0.19) and
//! uniform random. Edge `i` depends only on (seed, i), so output is identical for any number
//! of threads. Vertex ids of RMAT graphs are scrambled by a fixed bijection of `0..2^scale`
//! so that high-degree vertices are spread across the id space (and shards), as Graph500 does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use rayon::prelude::*;

use crate::error::{Error, IoContext, Result};

/// Which generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphKind {
    /// Recursive matrix (power-law degrees).
    Rmat,
    /// Uniformly random endpoints.
    Uniform,
}

impl FromStr for GraphKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "rmat" => Ok(GraphKind::Rmat),
            "uniform" => Ok(GraphKind::Uniform),
            _ => Err(format!(
                "unknown generator `{s}` (expected rmat or uniform)"
            )),
        }
    }
}

/// Generator settings.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Which generator.
    pub kind: GraphKind,
    /// log2 of the vertex count, 1..=40.
    pub scale: u32,
    /// Edges per vertex. Default: 16.
    pub edge_factor: u32,
    /// Random seed. Default: 1.
    pub seed: u64,
    /// Emit a weight in (0, 1] per edge.
    pub weighted: bool,
}

impl GenerateOptions {
    /// RMAT with Graph500 defaults at `scale`.
    pub fn rmat(scale: u32) -> Self {
        Self {
            kind: GraphKind::Rmat,
            scale,
            edge_factor: 16,
            seed: 1,
            weighted: false,
        }
    }

    /// Number of vertex ids (`2^scale`).
    pub fn vertices(&self) -> u64 {
        1u64 << self.scale
    }

    /// Number of edges (`edge_factor × 2^scale`).
    pub fn edges(&self) -> u64 {
        u64::from(self.edge_factor) << self.scale
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        if !(1..=40).contains(&self.scale) {
            return Err(Error::InvalidArgument(format!(
                "scale {} is out of range 1..=40",
                self.scale
            )));
        }
        if !(1..=1024).contains(&self.edge_factor) {
            return Err(Error::InvalidArgument(format!(
                "edge factor {} is out of range 1..=1024",
                self.edge_factor
            )));
        }
        Ok(())
    }
}

/// SplitMix64's output function: a fast, well-mixed bijection of `u64`, the seed source of
/// every deterministic generator here.
#[inline]
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0)
    }

    /// Uniform in [0, 1).
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A bijection of `0..2^scale` (odd multiplications and xors modulo a power of two).
#[inline]
fn scramble(v: u64, scale: u32, seed: u64) -> u64 {
    let mask = if scale == 64 {
        u64::MAX
    } else {
        (1u64 << scale) - 1
    };
    let k = splitmix(seed);
    let mut x = v.wrapping_mul(0x9e37_79b9_7f4a_7c15 | 1) & mask;
    x ^= k & mask;
    x = x.wrapping_mul(0xd6e8_feb8_6659_fd93 | 1) & mask;
    x ^ ((k >> 17) & mask)
}

/// Edge `i` of the graph described by `o`.
#[inline]
pub fn edge(o: &GenerateOptions, i: u64) -> (u64, u64, f64) {
    let mut rng = Rng(splitmix(o.seed ^ i.wrapping_mul(0xa076_1d64_78bd_642f)));
    let (src, dst) = match o.kind {
        GraphKind::Uniform => (
            rng.next() & (o.vertices() - 1),
            rng.next() & (o.vertices() - 1),
        ),
        GraphKind::Rmat => {
            let (a, b, c) = (0.57, 0.19, 0.19);
            let (mut s, mut d) = (0u64, 0u64);
            for _ in 0..o.scale {
                let r = rng.unit();
                let (sb, db) = if r < a {
                    (0, 0)
                } else if r < a + b {
                    (0, 1)
                } else if r < a + b + c {
                    (1, 0)
                } else {
                    (1, 1)
                };
                s = (s << 1) | sb;
                d = (d << 1) | db;
            }
            (scramble(s, o.scale, o.seed), scramble(d, o.scale, o.seed))
        }
    };
    let w = if o.weighted { 1.0 - rng.unit() } else { 1.0 };
    (src, dst, w)
}

const CHUNK_EDGES: u64 = 1 << 18;

/// Appends `v` in decimal: the bytes `write!("{v}")` gives, without the formatting machinery.
fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Writes the graph as a text edge list (`src dst[ weight]` lines after one `#` header line)
/// to `out`, via a temporary file renamed on success. Returns the number of edges.
pub fn write_edge_list(o: &GenerateOptions, out: &Path) -> Result<u64> {
    o.validate()?;
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).at(&tmp)?);
        let total = write_edges_to(o, &mut w).at(&tmp)?;
        let f = w
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        f.sync_all().at(&tmp)?;
        std::fs::rename(&tmp, out).at(out)?;
        Ok(total)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the graph as a text edge list to `w` (standard output, a pipe): the same bytes
/// as [`write_edge_list`]. Returns the number of edges.
pub fn write_edges_to(o: &GenerateOptions, w: &mut dyn Write) -> std::io::Result<u64> {
    o.validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    writeln!(
        w,
        "# morpheus generate {} scale={} edge_factor={} seed={} weighted={} vertices={} edges={}",
        match o.kind {
            GraphKind::Rmat => "rmat",
            GraphKind::Uniform => "uniform",
        },
        o.scale,
        o.edge_factor,
        o.seed,
        o.weighted,
        o.vertices(),
        o.edges()
    )?;
    let total = o.edges();
    let chunks = total.div_ceil(CHUNK_EDGES);
    // Format a window of chunks in parallel, write them in order.
    let window = 16u64;
    let mut c = 0;
    while c < chunks {
        let end = (c + window).min(chunks);
        let bufs: Vec<Vec<u8>> = (c..end)
            .into_par_iter()
            .map(|k| {
                let lo = k * CHUNK_EDGES;
                let hi = (lo + CHUNK_EDGES).min(total);
                let mut buf = Vec::with_capacity(((hi - lo) * 24) as usize);
                for i in lo..hi {
                    let (s, d, wt) = edge(o, i);
                    if o.weighted {
                        let _ = writeln!(buf, "{s} {d} {wt}");
                    } else {
                        push_decimal(&mut buf, s);
                        buf.push(b' ');
                        push_decimal(&mut buf, d);
                        buf.push(b'\n');
                    }
                }
                buf
            })
            .collect();
        for b in bufs {
            w.write_all(&b)?;
        }
        c = end;
    }
    w.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_display() {
        for v in [0u64, 7, 10, 99, 100, 123_456_789, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
    }

    #[test]
    fn scramble_is_a_bijection() {
        for scale in [1u32, 5, 10] {
            let mut seen = vec![false; 1 << scale];
            for v in 0..(1u64 << scale) {
                let s = scramble(v, scale, 7) as usize;
                assert!(!seen[s]);
                seen[s] = true;
            }
        }
    }

    #[test]
    fn edges_are_deterministic_and_in_range() {
        let mut o = GenerateOptions::rmat(10);
        o.weighted = true;
        for i in 0..10_000 {
            let (s, d, w) = edge(&o, i);
            assert_eq!(edge(&o, i), (s, d, w));
            assert!(s < 1024 && d < 1024);
            assert!(w > 0.0 && w <= 1.0);
        }
        let mut o2 = o.clone();
        o2.seed = 2;
        assert_ne!(
            (0..100).map(|i| edge(&o, i)).collect::<Vec<_>>(),
            (0..100).map(|i| edge(&o2, i)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rmat_is_skewed() {
        let o = GenerateOptions::rmat(12);
        let mut deg = vec![0u32; 1 << 12];
        for i in 0..o.edges() {
            deg[edge(&o, i).0 as usize] += 1;
        }
        let max = *deg.iter().max().unwrap();
        assert!(max > 16 * 20, "RMAT should have hubs, max degree {max}");
    }
}
