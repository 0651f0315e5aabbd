//! The store manifest (`MANIFEST.json`): format version, shard count, directed and weighted
//! flags, segment size and the property schema. Rewritten atomically (temp file, fsync, rename).

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cell::ValueType;
use crate::error::{Error, IoContext, Result};

/// Current on-disk format version.
pub const FORMAT_VERSION: u32 = 1;

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

impl Manifest {
    pub(crate) fn load(dir: &Path) -> Result<Self> {
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
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt(&path, 0, format!("manifest is not valid: {e}")))?;
        if m.format_version != FORMAT_VERSION {
            return Err(Error::corrupt(
                &path,
                0,
                format!(
                    "format version {} is not supported (this build reads {FORMAT_VERSION})",
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
        Ok(m)
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let mut text = serde_json::to_string_pretty(self).expect("manifest serialises");
        text.push('\n');
        let mut f = fs::File::create(&tmp).at(&tmp)?;
        f.write_all(text.as_bytes()).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        fs::rename(&tmp, &path).at(&path)?;
        sync_dir(dir)
    }
}

/// Fsyncs a directory so renames and new files in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).at(dir)
}
