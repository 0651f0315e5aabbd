//! Cells: the logical units the store versions. A vertex cell carries a label and typed
//! properties; an edge-block cell carries up to ~1 MiB of one source's out-edges, sorted by
//! destination, and the index of the next block of the same source.
//!
//! Payload layouts (all little-endian, varints are LEB128):
//! - vertex: `label: str, nprops: varint, nprops × (schema index: varint, value)`
//! - edge block: `flags: u8, next: u32 (u32::MAX = last), count: varint,
//!   [count × weight f64 if WEIGHTS], count × dst delta (varint, first absolute),
//!   [count × (label: str, nprops, props) if EXTRAS]` — weights first, so a scan reads
//!   weights and destinations in one pass.
//! - value: `tag: u8` then i64 (zigzag varint) | f64 (8 bytes) | bool (1 byte) | str.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::{put_string, put_varint, unzigzag, zigzag, DecodeError, Reader};

/// Most bytes of edges one block holds before the source's list continues in the next block.
pub const EDGE_BLOCK_TARGET_BYTES: usize = 1 << 20;

/// Sentinel for "no next block".
pub(crate) const NO_NEXT: u32 = u32::MAX;

const FLAG_WEIGHTS: u8 = 1;
const FLAG_EXTRAS: u8 = 2;

/// The type of a property, recorded once in the store's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// 64-bit signed integer.
    I64,
    /// 64-bit float.
    F64,
    /// Boolean.
    Bool,
    /// UTF-8 string.
    String,
}

impl ValueType {
    fn tag(self) -> u8 {
        match self {
            ValueType::I64 => 1,
            ValueType::F64 => 2,
            ValueType::Bool => 3,
            ValueType::String => 4,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
            ValueType::Bool => "bool",
            ValueType::String => "string",
        })
    }
}

/// A typed property value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// 64-bit signed integer.
    I64(i64),
    /// 64-bit float.
    F64(f64),
    /// Boolean.
    Bool(bool),
    /// UTF-8 string.
    String(String),
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
        }
    }

    /// Converts to `ty` where that loses nothing (an integer stored in an `f64` property),
    /// `None` otherwise.
    pub fn coerce(self, ty: ValueType) -> Option<Value> {
        match (self, ty) {
            (v, t) if v.value_type() == t => Some(v),
            (Value::I64(i), ValueType::F64) => Some(Value::F64(i as f64)),
            _ => None,
        }
    }

    /// Parses a text field as `ty`.
    pub fn parse(text: &str, ty: ValueType) -> Option<Value> {
        match ty {
            ValueType::I64 => text.trim().parse().ok().map(Value::I64),
            ValueType::F64 => text.trim().parse().ok().map(Value::F64),
            ValueType::Bool => match text.trim() {
                "true" | "TRUE" | "True" => Some(Value::Bool(true)),
                "false" | "FALSE" | "False" => Some(Value::Bool(false)),
                _ => None,
            },
            ValueType::String => Some(Value::String(text.to_owned())),
        }
    }

    /// The narrowest type every one of `texts` parses as (i64, then f64, then bool, else string).
    pub fn infer_type<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> ValueType {
        for ty in [ValueType::I64, ValueType::F64, ValueType::Bool] {
            if texts.clone().all(|t| Value::parse(t, ty).is_some()) {
                return ty;
            }
        }
        ValueType::String
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::String(v) => f.write_str(v),
        }
    }
}

/// Properties as stored: (index into the schema's property list, value), sorted by index.
pub type RawProperties = Vec<(u32, Value)>;

fn put_value(out: &mut Vec<u8>, v: &Value) {
    out.push(v.value_type().tag());
    match v {
        Value::I64(i) => put_varint(out, zigzag(*i)),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::String(s) => put_string(out, s),
    }
}

fn read_value(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let at = r.position();
    Ok(match r.u8("value tag")? {
        1 => Value::I64(unzigzag(r.varint("i64 value")?)),
        2 => Value::F64(r.f64("f64 value")?),
        3 => match r.u8("bool value")? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            _ => {
                return Err(DecodeError {
                    offset: at + 1,
                    what: "bool value not 0 or 1",
                })
            }
        },
        4 => Value::String(r.string("string value")?),
        _ => {
            return Err(DecodeError {
                offset: at,
                what: "unknown value tag",
            })
        }
    })
}

fn put_props(out: &mut Vec<u8>, props: &RawProperties) {
    put_varint(out, props.len() as u64);
    for (k, v) in props {
        put_varint(out, u64::from(*k));
        put_value(out, v);
    }
}

fn read_props(r: &mut Reader<'_>) -> Result<RawProperties, DecodeError> {
    let n = r.count(2, "property count")?;
    let mut props = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.position();
        let k = r.varint("property index")?;
        let k = u32::try_from(k).map_err(|_| DecodeError {
            offset: at,
            what: "property index",
        })?;
        props.push((k, read_value(r)?));
    }
    Ok(props)
}

/// A vertex cell's payload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VertexData {
    /// Free-form label; empty when none was given.
    pub label: String,
    /// Properties by schema index.
    pub props: RawProperties,
}

impl VertexData {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_string(out, &self.label);
        put_props(out, &self.props);
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let label = r.string("vertex label")?;
        let props = read_props(&mut r)?;
        if r.remaining() != 0 {
            return Err(r.err("trailing bytes after vertex"));
        }
        Ok(Self { label, props })
    }
}

/// Optional per-edge data beyond destination and weight.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EdgeExtra {
    /// Edge label; empty when none.
    pub label: String,
    /// Edge properties by schema index.
    pub props: RawProperties,
}

impl EdgeExtra {
    pub(crate) fn is_empty(&self) -> bool {
        self.label.is_empty() && self.props.is_empty()
    }

    fn encoded_len_hint(&self) -> usize {
        self.label.len() + 2 + self.props.len() * 12
    }
}

/// One block of a source vertex's out-edges, columnar: `dsts[i]`, `weights[i]`, `extras[i]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EdgeBlock {
    /// Index of the next block of the same source, `None` for the last one.
    pub next: Option<u32>,
    /// Destinations, ascending.
    pub dsts: Vec<u64>,
    /// Weights; empty when every weight is 1.0 (the unweighted case costs nothing).
    pub weights: Vec<f64>,
    /// Labels and properties; empty when no edge in the block has any.
    pub extras: Vec<EdgeExtra>,
}

impl EdgeBlock {
    /// Number of edges in the block.
    pub fn len(&self) -> usize {
        self.dsts.len()
    }

    /// Whether the block holds no edges.
    pub fn is_empty(&self) -> bool {
        self.dsts.is_empty()
    }

    /// Weight of edge `i` (1.0 when the block stores none).
    #[inline]
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.get(i).copied().unwrap_or(1.0)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        debug_assert!(
            self.dsts.windows(2).all(|w| w[0] <= w[1]),
            "dsts must be sorted"
        );
        let weighted = !self.weights.is_empty();
        let extras = !self.extras.is_empty();
        let flags = if weighted { FLAG_WEIGHTS } else { 0 } | if extras { FLAG_EXTRAS } else { 0 };
        out.push(flags);
        out.extend_from_slice(&self.next.unwrap_or(NO_NEXT).to_le_bytes());
        put_varint(out, self.dsts.len() as u64);
        out.reserve(self.dsts.len() * if weighted { 11 } else { 3 });
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        let mut prev = 0u64;
        for &d in &self.dsts {
            put_varint(out, d - prev);
            prev = d;
        }
        for e in &self.extras {
            put_string(out, &e.label);
            put_props(out, &e.props);
        }
    }

    pub(crate) fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let flags = r.u8("edge block flags")?;
        if flags & !(FLAG_WEIGHTS | FLAG_EXTRAS) != 0 {
            return Err(DecodeError {
                offset: 0,
                what: "unknown edge block flags",
            });
        }
        let next = match r.u32("next block")? {
            NO_NEXT => None,
            n => Some(n),
        };
        let n = r.count(1, "edge count")?;
        let mut weights = Vec::new();
        if flags & FLAG_WEIGHTS != 0 {
            let raw = r.bytes(n * 8, "weights")?;
            weights = raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("chunks_exact(8)")))
                .collect();
        }
        let mut dsts = Vec::with_capacity(n);
        let mut prev = 0u64;
        for _ in 0..n {
            let at = r.position();
            let delta = r.varint("destination")?;
            prev = prev.checked_add(delta).ok_or(DecodeError {
                offset: at,
                what: "destination overflows u64",
            })?;
            dsts.push(prev);
        }
        let mut extras = Vec::new();
        if flags & FLAG_EXTRAS != 0 {
            extras.reserve(n);
            for _ in 0..n {
                let label = r.string("edge label")?;
                let props = read_props(&mut r)?;
                extras.push(EdgeExtra { label, props });
            }
        }
        if r.remaining() != 0 {
            return Err(r.err("trailing bytes after edge block"));
        }
        Ok(Self {
            next,
            dsts,
            weights,
            extras,
        })
    }

    /// Decodes the destinations (and weights, when the block has them) into reused
    /// buffers, without the rest of the block: the bulk scan path. Returns whether the
    /// block is weighted; `weights` is left empty when not.
    pub(crate) fn decode_lists(
        buf: &[u8],
        dsts: &mut Vec<u64>,
        weights: &mut Vec<f64>,
    ) -> Result<bool, DecodeError> {
        dsts.clear();
        weights.clear();
        let mut r = Reader::new(buf);
        let flags = r.u8("edge block flags")?;
        r.u32("next block")?;
        let n = r.count(1, "edge count")?;
        let weighted = flags & FLAG_WEIGHTS != 0;
        if weighted {
            let ws = r.bytes(n * 8, "weights")?;
            weights.extend(
                ws.chunks_exact(8)
                    .map(|w| f64::from_le_bytes(w.try_into().expect("chunks_exact(8)"))),
            );
        }
        dsts.reserve(n);
        let mut prev = 0u64;
        for _ in 0..n {
            prev = prev.wrapping_add(r.varint("destination")?);
            dsts.push(prev);
        }
        Ok(weighted)
    }

    /// Calls `f(dst, weight)` for every edge without materialising the block: the scan path.
    #[inline]
    pub(crate) fn for_each_raw(
        buf: &[u8],
        mut f: impl FnMut(u64, f64),
    ) -> Result<usize, DecodeError> {
        let mut r = Reader::new(buf);
        let flags = r.u8("edge block flags")?;
        r.u32("next block")?;
        let n = r.count(1, "edge count")?;
        let mut prev = 0u64;
        if flags & FLAG_WEIGHTS != 0 {
            let ws = r.bytes(n * 8, "weights")?;
            for w in ws.chunks_exact(8) {
                prev = prev.wrapping_add(r.varint("destination")?);
                f(
                    prev,
                    f64::from_le_bytes(w.try_into().expect("chunks_exact(8)")),
                );
            }
        } else {
            for _ in 0..n {
                prev = prev.wrapping_add(r.varint("destination")?);
                f(prev, 1.0);
            }
        }
        Ok(n)
    }
}

/// Splits one source's sorted out-edges into block-sized ranges (each at most
/// [`EDGE_BLOCK_TARGET_BYTES`] of estimated payload, at least one edge).
pub(crate) fn chunk_ranges(
    n: usize,
    weighted: bool,
    extras: Option<&[EdgeExtra]>,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let fixed = 10 + if weighted { 8 } else { 0 };
    let mut start = 0;
    let mut bytes = 0usize;
    for i in 0..n {
        let cost = fixed + extras.map_or(0, |e| e[i].encoded_len_hint());
        if i > start && bytes + cost > EDGE_BLOCK_TARGET_BYTES {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += cost;
    }
    if n > start || out.is_empty() {
        out.push(start..n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::I64),
            any::<f64>()
                .prop_filter("NaN != NaN", |x| !x.is_nan())
                .prop_map(Value::F64),
            any::<bool>().prop_map(Value::Bool),
            ".{0,12}".prop_map(Value::String),
        ]
    }

    fn props() -> impl Strategy<Value = RawProperties> {
        proptest::collection::vec((0u32..1000, value()), 0..4)
    }

    proptest! {
        #[test]
        fn vertex_round_trips(label in ".{0,10}", props in props()) {
            let v = VertexData { label, props };
            let mut buf = Vec::new();
            v.encode(&mut buf);
            prop_assert_eq!(VertexData::decode(&buf).unwrap(), v);
        }

        #[test]
        fn edge_block_round_trips(
            mut dsts in proptest::collection::vec(any::<u64>(), 0..200),
            weighted: bool,
            with_extras: bool,
            next in proptest::option::of(0u32..100),
            extra in (".{0,5}", props()),
        ) {
            dsts.sort_unstable();
            let weights = if weighted { dsts.iter().map(|&d| (d % 1000) as f64 / 7.0).collect() } else { vec![] };
            let extras = if with_extras {
                dsts.iter().map(|_| EdgeExtra { label: extra.0.clone(), props: extra.1.clone() }).collect()
            } else { vec![] };
            let b = EdgeBlock { next, dsts, weights, extras };
            let mut buf = Vec::new();
            b.encode(&mut buf);
            prop_assert_eq!(&EdgeBlock::decode(&buf).unwrap(), &b);
            let mut seen = Vec::new();
            EdgeBlock::for_each_raw(&buf, |d, w| seen.push((d, w))).unwrap();
            let want: Vec<_> = (0..b.len()).map(|i| (b.dsts[i], b.weight(i))).collect();
            prop_assert_eq!(seen, want);
        }

        #[test]
        fn decoders_never_panic(bytes: Vec<u8>) {
            let _ = VertexData::decode(&bytes);
            let _ = EdgeBlock::decode(&bytes);
            let _ = EdgeBlock::for_each_raw(&bytes, |_, _| {});
        }
    }

    #[test]
    fn chunking_respects_target_and_covers_all() {
        let n = 200_000;
        let ranges = chunk_ranges(n, true, None);
        assert!(ranges.len() > 1);
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, n);
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        for r in &ranges {
            assert!(r.len() * 18 <= EDGE_BLOCK_TARGET_BYTES);
        }
        assert_eq!(chunk_ranges(0, false, None), vec![0..0]);
    }

    #[test]
    fn value_inference_picks_narrowest_type() {
        assert_eq!(Value::infer_type(["1", "-2"].into_iter()), ValueType::I64);
        assert_eq!(Value::infer_type(["1", "2.5"].into_iter()), ValueType::F64);
        assert_eq!(
            Value::infer_type(["true", "false"].into_iter()),
            ValueType::Bool
        );
        assert_eq!(Value::infer_type(["1", "x"].into_iter()), ValueType::String);
    }
}
