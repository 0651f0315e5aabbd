//! The store manifest (`MANIFEST.json`): format version, shard count, directed and weighted
//! flags, segment size and the property schema. Rewritten atomically (temp file, fsync, rename).
//!
//! A `"checksum"` key holds the CRC32 of the canonical form of every other field (keys sorted,
//! compact JSON), so an edited or damaged manifest is corruption, not a different graph. A
//! manifest without one (written before it existed) opens; a writable open adds it.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cell::ValueType;
use crate::error::{Error, IoContext, Result};
use crate::replace::replace_file;

/// Current on-disk format version: 2 adds each shard's segment list (`SEGMENTS`). Version 1
/// stores open too (read-only trusting the segment files on disk; a writable open lists
/// them and saves the manifest as version 2).
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version this build opens.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

const CHECKSUM_KEY: &str = "checksum";

/// File name of the manifest inside a store directory.
pub const MANIFEST_FILE: &str = "MANIFEST.json";

/// A named, typed property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyDef {
    /// Property name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ValueType,
}

/// Vertex and edge property schema; records refer to properties by index into these lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Vertex properties.
    pub vertex: Vec<PropertyDef>,
    /// Edge properties.
    pub edge: Vec<PropertyDef>,
}

impl Schema {
    /// Index of property `name` in `defs`, adding it with type `ty` when absent.
    /// Fails when it exists with another type (an `i64` value for an `f64` property is fine).
    pub(crate) fn resolve(
        defs: &mut Vec<PropertyDef>,
        name: &str,
        ty: ValueType,
    ) -> std::result::Result<(u32, ValueType), String> {
        if let Some(i) = defs.iter().position(|d| d.name == name) {
            let have = defs[i].ty;
            if have == ty || (have == ValueType::F64 && ty == ValueType::I64) {
                return Ok((i as u32, have));
            }
            return Err(format!(
                "property `{name}` is {have} in the store, not {ty}"
            ));
        }
        defs.push(PropertyDef {
            name: name.to_owned(),
            ty,
        });
        Ok(((defs.len() - 1) as u32, ty))
    }
}

/// The manifest's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// On-disk format version.
    pub format_version: u32,
    /// Number of shards; vertex `v` lives in shard `shard_of(v, shards)`.
    pub shards: u32,
    /// Whether edges are directed; undirected stores keep each edge in both directions.
    pub directed: bool,
    /// Whether any imported edge carried a weight.
    pub weighted: bool,
    /// Size at which a log segment is sealed and a new one started.
    pub segment_bytes: u64,
    /// Property schema.
    pub schema: Schema,
    /// A random identity given at creation, so state derived from a store (incremental
    /// results) can tell it from another store at the same path. 0 for stores created
    /// before the field existed.
    #[serde(default)]
    pub id: u64,
}

/// The canonical text a manifest checksum covers: `v` without its checksum key, objects'
/// keys sorted, compact.
fn canonical(v: &serde_json::Value) -> String {
    let mut v = v.clone();
    if let serde_json::Value::Object(m) = &mut v {
        m.remove(CHECKSUM_KEY);
    }
    // Keys are written sorted whether or not serde_json preserves insertion order.
    let mut text = String::new();
    write_sorted(&v, &mut text);
    text
}

fn write_sorted(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_sorted(&m[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A manifest as read, with what a writable open must bring up to date.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub manifest: Manifest,
    /// Whether the file carried a checksum (legacy manifests do not).
    pub checksummed: bool,
}

impl Manifest {
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        Ok(Self::load_checked(dir)?.manifest)
    }

    /// Reads and checks the manifest: its checksum when it has one, the format version,
    /// and the ranges of its fields.
    pub(crate) fn load_checked(dir: &Path) -> Result<Loaded> {
        let path = dir.join(MANIFEST_FILE);
        let text = fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotAStore {
                    path: dir.to_owned(),
                    reason: format!("no {MANIFEST_FILE}"),
                }
            } else {
                Error::io(&path, e)
            }
        })?;
        let invalid =
            |e: serde_json::Error| Error::corrupt(&path, 0, format!("manifest is not valid: {e}"));
        let value: serde_json::Value = serde_json::from_str(&text).map_err(invalid)?;
        let checksummed = match value.get(CHECKSUM_KEY) {
            None => false,
            Some(c) => {
                let want = c
                    .as_u64()
                    .ok_or_else(|| Error::corrupt(&path, 0, "manifest checksum is not a number"))?;
                let got = u64::from(crc32fast::hash(canonical(&value).as_bytes()));
                if want != got {
                    return Err(Error::corrupt(
                        &path,
                        0,
                        format!(
                            "checksum mismatch: the file says {want}, its contents hash to {got}"
                        ),
                    ));
                }
                true
            }
        };
        let mut value = value;
        if let serde_json::Value::Object(m) = &mut value {
            m.remove(CHECKSUM_KEY);
        }
        let m: Manifest = serde_json::from_value(value).map_err(invalid)?;
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&m.format_version) {
            return Err(Error::corrupt(
                &path,
                0,
                format!(
                    "format version {} is not supported (this build reads \
                     {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})",
                    m.format_version
                ),
            ));
        }
        if m.shards == 0 || m.segment_bytes < 1024 {
            return Err(Error::corrupt(
                &path,
                0,
                "shard count or segment size out of range",
            ));
        }
        if m.format_version >= 2 && !checksummed {
            return Err(Error::corrupt(&path, 0, "manifest checksum missing"));
        }
        Ok(Loaded {
            manifest: m,
            checksummed,
        })
    }

    /// Whether the store keeps segment lists (format version 2 and later).
    pub(crate) fn lists_segments(&self) -> bool {
        self.format_version >= 2
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let mut value = serde_json::to_value(self).expect("manifest serialises");
        let crc = crc32fast::hash(canonical(&value).as_bytes());
        if let serde_json::Value::Object(m) = &mut value {
            m.insert(CHECKSUM_KEY.into(), crc.into());
        }
        let mut text = serde_json::to_string_pretty(&value).expect("manifest serialises");
        text.push('\n');
        replace_file(&path, &tmp, true, |f| f.write_all(text.as_bytes()))
    }
}

/// Fsyncs a directory so renames and new files in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).at(dir)
}
