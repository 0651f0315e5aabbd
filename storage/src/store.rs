//! The store: a directory of shards, a manifest and a commit log. Opening rebuilds each
//! shard's index in parallel (from its checkpoint where usable, see `checkpoint`); writes go through a [`WriteBatch`] committed atomically
//! across shards (records appended and fsynced, then one commit record fsynced).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::cell::{chunk_ranges, EdgeBlock, EdgeExtra, RawProperties, Value, VertexData};
use crate::commit::{self, Commit, CommitLog};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{Manifest, PropertyDef, Schema, FORMAT_VERSION, MANIFEST_FILE};
use crate::record::{CellKey, CellKind};
use crate::shard::{rollback, shard_of, Entry, Shard, ShardWriter, ShardWrites};

/// Default size of a log segment: 8 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 8 << 20;
/// Default shard count.
pub const DEFAULT_SHARDS: u32 = 8;
const LOCK_FILE: &str = "LOCK";
/// Directory of an import's sorted runs inside the store (removed by a writable open when
/// a killed import left it).
pub(crate) const IMPORT_TMP: &str = "import-tmp";

mod bulk;
pub(crate) use bulk::BulkRuns;

/// Options for [`Store::create`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Number of shards, 1..=4096. Default: 8.
    pub shards: u32,
    /// Log segment size in bytes, at least 1 KiB. Default: 8 MiB.
    pub segment_bytes: u64,
    /// Whether edges are directed. Default: true.
    pub directed: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            shards: DEFAULT_SHARDS,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            directed: true,
        }
    }
}

impl StoreOptions {
    /// Checks the options' ranges.
    pub fn validate(&self) -> Result<()> {
        if !(1..=4096).contains(&self.shards) {
            return Err(Error::InvalidArgument(format!(
                "shard count {} is out of range 1..=4096",
                self.shards
            )));
        }
        if self.segment_bytes < 1024 || self.segment_bytes > u64::from(u32::MAX) {
            return Err(Error::InvalidArgument(format!(
                "segment size {} B is out of range 1 KiB..4 GiB",
                self.segment_bytes
            )));
        }
        Ok(())
    }
}

/// A vertex as users see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vertex {
    /// Vertex id.
    pub id: u64,
    /// Label (empty when none).
    pub label: String,
    /// Named properties.
    pub properties: BTreeMap<String, Value>,
}

/// An edge as users see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Source vertex.
    pub src: u64,
    /// Destination vertex.
    pub dst: u64,
    /// Weight (1.0 for unweighted edges).
    pub weight: f64,
    /// Label (empty when none).
    pub label: String,
    /// Named properties.
    pub properties: BTreeMap<String, Value>,
}

const NO_EXTRA: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct EdgeRec {
    src: u64,
    dst: u64,
    weight: f64,
    extra: u32,
}

#[derive(Clone, Debug, Default)]
struct VertexPut {
    label: Option<String>,
    props: Vec<(String, Value)>,
}

/// A set of writes committed atomically by [`Store::commit`]. Within a batch, deletions
/// apply before additions: deleting and re-adding an edge or vertex in one batch leaves it
/// present. Adding an edge creates its endpoints when they do not exist.
#[derive(Debug, Default)]
pub struct WriteBatch {
    edges: Vec<EdgeRec>,
    extras: Vec<(String, Vec<(String, Value)>)>,
    edge_deletes: Vec<(u64, u64)>,
    vertex_puts: HashMap<u64, VertexPut>,
    vertex_deletes: HashSet<u64>,
    weighted: bool,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
            && self.edge_deletes.is_empty()
            && self.vertex_puts.is_empty()
            && self.vertex_deletes.is_empty()
    }

    /// Number of edges added.
    pub fn added_edges(&self) -> usize {
        self.edges.len()
    }

    /// Marks the batch's edges as weighted (recorded in the manifest).
    pub fn set_weighted(&mut self) {
        self.weighted = true;
    }

    /// Reserves room for `n` more edges.
    pub fn reserve_edges(&mut self, n: usize) {
        self.edges.reserve(n);
    }

    /// Adds many `(src, dst, weight)` edges at once.
    pub fn add_edges(&mut self, edges: &[(u64, u64, f64)]) {
        self.edges
            .extend(edges.iter().map(|&(src, dst, weight)| EdgeRec {
                src,
                dst,
                weight,
                extra: NO_EXTRA,
            }));
    }

    /// Deletes many `(src, dst)` edges at once.
    pub fn delete_edges(&mut self, edges: impl IntoIterator<Item = (u64, u64)>) {
        self.edge_deletes.extend(edges);
    }

    /// Adds edge `src → dst` (for undirected stores, also `dst → src`).
    pub fn add_edge(&mut self, src: u64, dst: u64, weight: f64) {
        self.edges.push(EdgeRec {
            src,
            dst,
            weight,
            extra: NO_EXTRA,
        });
    }

    /// Adds an edge with a label and properties.
    pub fn add_edge_with(
        &mut self,
        src: u64,
        dst: u64,
        weight: f64,
        label: &str,
        properties: Vec<(String, Value)>,
    ) {
        if label.is_empty() && properties.is_empty() {
            return self.add_edge(src, dst, weight);
        }
        let extra =
            u32::try_from(self.extras.len()).expect("fewer than 4G labelled edges per batch");
        self.extras.push((label.to_owned(), properties));
        self.edges.push(EdgeRec {
            src,
            dst,
            weight,
            extra,
        });
    }

    /// Deletes every edge `src → dst` (for undirected stores, both directions).
    pub fn delete_edge(&mut self, src: u64, dst: u64) {
        self.edge_deletes.push((src, dst));
    }

    /// Creates or updates a vertex: a given label replaces the old one, given properties
    /// replace same-named ones, and other properties are kept.
    pub fn put_vertex(&mut self, id: u64, label: Option<&str>, properties: Vec<(String, Value)>) {
        let put = self.vertex_puts.entry(id).or_default();
        if let Some(l) = label {
            put.label = Some(l.to_owned());
        }
        put.props.extend(properties);
    }

    /// Deletes a vertex with its out- and in-edges.
    pub fn delete_vertex(&mut self, id: u64) {
        self.vertex_deletes.insert(id);
    }
}

/// What a commit wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Transaction number.
    pub txn: u64,
    /// LSN of the first record written (when any).
    pub first_lsn: u64,
    /// Last LSN after the commit.
    pub last_lsn: u64,
    /// Records written.
    pub records: u64,
}

/// One cell changed since a given LSN (its newest state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Vertex or edge block.
    #[serde(serialize_with = "ser_kind")]
    pub kind: CellKind,
    /// Vertex id (the source, for edge blocks).
    pub vertex: u64,
    /// Edge block index (0 for vertices).
    pub block: u32,
    /// LSN of the newest write.
    pub lsn: u64,
    /// Its version.
    pub version: u64,
    /// Whether the newest write deleted the cell.
    pub deleted: bool,
}

fn ser_kind<S: serde::Serializer>(k: &CellKind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(match k {
        CellKind::Vertex => "vertex",
        CellKind::EdgeBlock => "edge_block",
    })
}

/// Per-shard figures in [`StoreStats`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct ShardStats {
    /// Shard number.
    pub shard: u32,
    /// Live vertices.
    pub vertices: u64,
    /// Stored out-edge entries.
    pub edge_entries: u64,
    /// Segment files.
    pub segments: u64,
    /// Bytes of newest-version records.
    pub live_bytes: u64,
    /// Bytes of superseded records.
    pub dead_bytes: u64,
}

/// Store-wide figures, as printed by `morpheus store stats`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StoreStats {
    /// Live vertices.
    pub vertices: u64,
    /// Edges (undirected stores count each stored pair once).
    pub edges: u64,
    /// Stored out-edge entries (twice the edges, less self-loops, when undirected).
    pub edge_entries: u64,
    /// Self-loop entries.
    pub self_loops: u64,
    /// Shards.
    pub shards: u32,
    /// Segment files.
    pub segments: u64,
    /// Bytes of newest-version records.
    pub live_bytes: u64,
    /// Bytes of superseded records (reclaimed by `compact`).
    pub dead_bytes: u64,
    /// Bytes of all segment files, headers included.
    pub total_bytes: u64,
    /// Last committed LSN.
    pub last_lsn: u64,
    /// Committed transactions (the store's creation is 0).
    pub last_txn: u64,
    /// Whether edges are directed.
    pub directed: bool,
    /// Whether edges carry weights.
    pub weighted: bool,
    /// Bytes of an interrupted transaction, ignored (and removed on the next writable open).
    pub uncommitted_bytes: u64,
    /// Property schema.
    pub schema: Schema,
    /// Per-shard breakdown.
    pub per_shard: Vec<ShardStats>,
}

/// An open store. Readers share it (`&self`, `Sync`); writes take `&mut self`.
pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) shards: Vec<Shard>,
    log: Option<CommitLog>,
    last: Commit,
    _lock: File,
    poisoned: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("shards", &self.manifest.shards)
            .field("last_lsn", &self.last.last_lsn)
            .finish_non_exhaustive()
    }
}

/// Takes a shared lock on the store in `dir` (excludes writers while held).
pub(crate) fn lock_shared(dir: &Path) -> Result<File> {
    lock(dir, false)
}

fn lock(dir: &Path, exclusive: bool) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path);
    // A read-only open of a store on read-only media has no lock file to create.
    let f = match f {
        Ok(f) => f,
        Err(_) if !exclusive => File::open(dir).at(dir)?,
        Err(e) => return Err(Error::io(&path, e)),
    };
    let res = if exclusive {
        f.try_lock()
    } else {
        f.try_lock_shared()
    };
    match res {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
            path: dir.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

impl Store {
    /// Creates a new, empty store in `dir` (which must not exist or be empty).
    pub fn create(dir: impl AsRef<Path>, options: &StoreOptions) -> Result<Self> {
        options.validate()?;
        let dir = dir.as_ref();
        if dir.join(MANIFEST_FILE).exists() {
            return Err(Error::NotAStore {
                path: dir.to_owned(),
                reason: "a store already exists here".into(),
            });
        }
        fs::create_dir_all(dir).at(dir)?;
        if fs::read_dir(dir).at(dir)?.next().is_some() {
            return Err(Error::NotAStore {
                path: dir.to_owned(),
                reason: "directory is not empty and holds no store".into(),
            });
        }
        let lock_file = lock(dir, true)?;
        let marks = (0..options.shards)
            .map(|s| Shard::create(dir, s))
            .collect::<Result<Vec<_>>>()?;
        CommitLog::create(
            dir,
            options.shards,
            &Commit {
                txn: 0,
                last_lsn: 0,
                marks,
            },
        )?;
        // The manifest is written last: its presence is what makes the directory a store.
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            shards: options.shards,
            directed: options.directed,
            weighted: false,
            segment_bytes: options.segment_bytes,
            schema: Schema::default(),
            id: new_store_id(dir),
        };
        manifest.save(dir)?;
        drop(lock_file);
        Self::open(dir)
    }

    /// Opens an existing store for reading and writing, recovering from a crash: an
    /// uncommitted tail is removed, and any corruption in committed data the open scans is
    /// an error (records an index checkpoint covers are CRC-checked when read instead).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_inner(dir.as_ref(), true)
    }

    /// Opens an existing store for reading only; changes nothing on disk (an uncommitted tail
    /// is ignored, not removed). Several read-only opens may coexist.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_inner(dir.as_ref(), false)
    }

    /// Opens the store in `dir`, creating it with `options` when there is none.
    pub fn open_or_create(dir: impl AsRef<Path>, options: &StoreOptions) -> Result<Self> {
        let dir = dir.as_ref();
        if dir.join(MANIFEST_FILE).exists() {
            Self::open(dir)
        } else {
            Self::create(dir, options)
        }
    }

    fn open_inner(dir: &Path, writable: bool) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::NotAStore {
                path: dir.to_owned(),
                reason: "no such directory".into(),
            });
        }
        let loaded = Manifest::load_checked(dir)?;
        let mut manifest = loaded.manifest;
        let lock_file = lock(dir, writable)?;
        let state = commit::read(dir, manifest.shards)?;
        // Before a writable open cuts anything: a commit log that lost transactions.
        crate::edgelog::check_commits_cover(dir, state.last.txn)?;
        let log = if writable {
            // Run files of an import that was killed: the lock says it is not running.
            crate::import::external::remove_tmp(dir);
            // New frames must follow whole ones: cut a torn edge-log tail first.
            crate::edgelog::repair(dir)?;
            Some(CommitLog::open(dir, state.valid_len)?)
        } else {
            None
        };
        let last = state.last;
        let lists = manifest.lists_segments();
        let shards = last
            .marks
            .par_iter()
            .enumerate()
            .map(|(i, &mark)| Shard::open(dir, i as u32, mark, writable, lists))
            .collect::<Result<Vec<_>>>()?;
        if writable && (!lists || !loaded.checksummed) {
            // Every shard now has its segment list: the store is of the current format.
            tracing::info!(store = %dir.display(), "manifest upgraded to format {FORMAT_VERSION}");
            manifest.format_version = FORMAT_VERSION;
            manifest.save(dir)?;
        }
        tracing::debug!(store = %dir.display(), txn = last.txn, lsn = last.last_lsn, "store opened");
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            shards,
            log,
            last,
            _lock: lock_file,
            poisoned: false,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest (shards, directedness, schema).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of shards.
    pub fn shard_count(&self) -> u32 {
        self.manifest.shards
    }

    /// The shard vertex `id` lives in.
    pub fn shard_of(&self, id: u64) -> u32 {
        shard_of(id, self.manifest.shards)
    }

    /// Last committed LSN.
    pub fn last_lsn(&self) -> u64 {
        self.last.last_lsn
    }

    fn shard(&self, id: u64) -> &Shard {
        &self.shards[shard_of(id, self.manifest.shards) as usize]
    }

    fn shard_checked(&self, shard: u32) -> Result<&Shard> {
        self.shards.get(shard as usize).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "shard {shard} does not exist (store has {})",
                self.shards.len()
            ))
        })
    }

    fn named(
        defs: &[PropertyDef],
        raw: RawProperties,
        at: &Path,
    ) -> Result<BTreeMap<String, Value>> {
        raw.into_iter()
            .map(|(k, v)| {
                let def = defs.get(k as usize).ok_or_else(|| {
                    Error::corrupt(at, 0, format!("property index {k} is not in the schema"))
                })?;
                Ok((def.name.clone(), v))
            })
            .collect()
    }

    fn to_vertex(&self, id: u64, data: VertexData) -> Result<Vertex> {
        let properties = Self::named(&self.manifest.schema.vertex, data.props, &self.dir)?;
        Ok(Vertex {
            id,
            label: data.label,
            properties,
        })
    }

    /// Reads vertex `id`.
    pub fn vertex(&self, id: u64) -> Result<Option<Vertex>> {
        match self.shard(id).vertex(id)? {
            Some((_, data)) => Ok(Some(self.to_vertex(id, data)?)),
            None => Ok(None),
        }
    }

    /// Reads the out-edges of `src`, ordered by destination.
    pub fn out_edges(&self, src: u64) -> Result<Vec<Edge>> {
        let shard = self.shard(src);
        let mut out = Vec::new();
        for (_, entry) in shard.chain(src) {
            let block = shard.edge_block(&entry)?;
            self.push_edges(src, block, &mut out)?;
        }
        Ok(out)
    }

    fn push_edges(&self, src: u64, block: EdgeBlock, out: &mut Vec<Edge>) -> Result<()> {
        let weights = block.weights;
        let mut extras = block.extras.into_iter();
        for (i, dst) in block.dsts.into_iter().enumerate() {
            let weight = weights.get(i).copied().unwrap_or(1.0);
            let (label, properties) = match extras.next() {
                Some(e) => (
                    e.label,
                    Self::named(&self.manifest.schema.edge, e.props, &self.dir)?,
                ),
                None => (String::new(), BTreeMap::new()),
            };
            out.push(Edge {
                src,
                dst,
                weight,
                label,
                properties,
            });
        }
        Ok(())
    }

    /// Calls `f(src, dst, weight)` for every edge stored in `shard` (the sources placed
    /// there), reading its segments sequentially through memory maps: the loading path.
    /// Returns the number of edges.
    pub fn scan_edges(&self, shard: u32, mut f: impl FnMut(u64, u64, f64)) -> Result<u64> {
        let sh = self.shard_checked(shard)?;
        let mut n = 0u64;
        sh.for_each_live(CellKind::EdgeBlock, |key, payload| {
            let src = key.vertex;
            let count = EdgeBlock::for_each_raw(payload, |d, w| f(src, d, w))
                .map_err(|e| Error::corrupt(&sh.dir, 0, format!("edge block of {src}: {e}")))?;
            n += count as u64;
            Ok(())
        })?;
        Ok(n)
    }

    /// Calls `f(src, dsts, weights)` for every edge block stored in `shard`: a run of one
    /// source's destinations in ascending order, with their weights (`None` when the block
    /// has none: all 1.0). Blocks of one source's chain come in chain order. Same records
    /// as [`Store::scan_edges`], a block at a time, so callers can work on whole slices.
    /// Returns the number of edges.
    pub fn scan_edge_lists(
        &self,
        shard: u32,
        mut f: impl FnMut(u64, &[u64], Option<&[f64]>),
    ) -> Result<u64> {
        let sh = self.shard_checked(shard)?;
        let (mut dsts, mut weights) = (Vec::new(), Vec::new());
        let mut n = 0u64;
        sh.for_each_live(CellKind::EdgeBlock, |key, payload| {
            let src = key.vertex;
            let weighted = EdgeBlock::decode_lists(payload, &mut dsts, &mut weights)
                .map_err(|e| Error::corrupt(&sh.dir, 0, format!("edge block of {src}: {e}")))?;
            f(src, &dsts, weighted.then_some(weights.as_slice()));
            n += dsts.len() as u64;
            Ok(())
        })?;
        Ok(n)
    }

    /// Calls `f(edge)` for every edge of `shard`, with labels and properties.
    pub fn for_each_edge(&self, shard: u32, mut f: impl FnMut(Edge)) -> Result<()> {
        let sh = self.shard_checked(shard)?;
        sh.for_each_live(CellKind::EdgeBlock, |key, payload| {
            let block = EdgeBlock::decode(payload).map_err(|e| {
                Error::corrupt(&sh.dir, 0, format!("edge block of {}: {e}", key.vertex))
            })?;
            let mut edges = Vec::with_capacity(block.len());
            self.push_edges(key.vertex, block, &mut edges)?;
            edges.into_iter().for_each(&mut f);
            Ok(())
        })
    }

    /// Calls `f(vertex)` for every vertex of `shard`.
    pub fn for_each_vertex(&self, shard: u32, mut f: impl FnMut(Vertex)) -> Result<()> {
        let sh = self.shard_checked(shard)?;
        sh.for_each_live(CellKind::Vertex, |key, payload| {
            let data = VertexData::decode(payload)
                .map_err(|e| Error::corrupt(&sh.dir, 0, format!("vertex {}: {e}", key.vertex)))?;
            f(self.to_vertex(key.vertex, data)?);
            Ok(())
        })
    }

    /// Out-edge entries stored in `shard` (from the index; no I/O): what a scan of it
    /// delivers, for sizing buffers.
    pub fn edge_entries(&self, shard: u32) -> Result<u64> {
        let sh = self.shard_checked(shard)?;
        Ok(sh
            .index
            .iter()
            .filter(|(k, e)| k.kind == CellKind::EdgeBlock && !e.tombstone)
            .map(|(_, e)| u64::from(e.edges))
            .sum())
    }

    /// Ids of the vertices of `shard` (from the index; no I/O).
    pub fn vertex_ids(&self, shard: u32) -> Result<Vec<u64>> {
        let sh = self.shard_checked(shard)?;
        Ok(sh
            .index
            .iter()
            .filter(|(k, e)| k.kind == CellKind::Vertex && !e.tombstone)
            .map(|(k, _)| k.vertex)
            .collect())
    }

    /// Cells changed by transactions after `lsn`, ordered by LSN: the change log that
    /// incremental pipelines read. Each cell appears once, with its newest state.
    pub fn changes_since(&self, lsn: u64) -> Vec<Change> {
        let mut out: Vec<Change> = self
            .shards
            .par_iter()
            .flat_map_iter(|sh| {
                sh.index
                    .iter()
                    .filter(move |(_, e)| e.lsn > lsn)
                    .map(|(k, e)| Change {
                        kind: k.kind,
                        vertex: k.vertex,
                        block: k.block,
                        lsn: e.lsn,
                        version: e.version,
                        deleted: e.tombstone,
                    })
            })
            .collect();
        out.sort_unstable_by_key(|c| c.lsn);
        out
    }

    /// The edge and vertex operations of every transaction after `lsn`, in commit order,
    /// from the edge log; `None` when the log does not cover them all (bulk imports are
    /// not logged; a crash can lose the last entries), and the caller must compare cells
    /// ([`Store::changes_since`]) instead.
    ///
    /// # Errors
    /// The log exists but cannot be read.
    pub fn edge_changes_since(&self, lsn: u64) -> Result<Option<Vec<crate::edgelog::LoggedTxn>>> {
        crate::edgelog::read_since(&self.dir, lsn, self.last.last_lsn)
    }

    /// Like [`Store::edge_changes_since`], for the transactions after `from` up to `to`
    /// (an LSN at which a transaction ended).
    ///
    /// # Errors
    /// The log exists but cannot be read.
    pub fn edge_changes_between(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Option<Vec<crate::edgelog::LoggedTxn>>> {
        crate::edgelog::read_since(&self.dir, from, to.min(self.last.last_lsn))
    }

    /// Counts and sizes.
    pub fn stats(&self) -> StoreStats {
        let mut st = StoreStats {
            shards: self.manifest.shards,
            last_lsn: self.last.last_lsn,
            last_txn: self.last.txn,
            directed: self.manifest.directed,
            weighted: self.manifest.weighted,
            schema: self.manifest.schema.clone(),
            ..Default::default()
        };
        for sh in &self.shards {
            let mut s = ShardStats {
                shard: sh.id,
                segments: sh.segments.len() as u64,
                ..Default::default()
            };
            for (k, e) in &sh.index {
                if e.tombstone {
                    continue;
                }
                match k.kind {
                    CellKind::Vertex => s.vertices += 1,
                    CellKind::EdgeBlock => {
                        s.edge_entries += u64::from(e.edges);
                        st.self_loops += u64::from(e.loops);
                    }
                }
            }
            for seg in sh.segments.values() {
                s.live_bytes += seg.live_bytes;
                s.dead_bytes += seg.record_bytes() - seg.live_bytes;
                st.total_bytes += seg.len;
            }
            st.vertices += s.vertices;
            st.edge_entries += s.edge_entries;
            st.segments += s.segments;
            st.live_bytes += s.live_bytes;
            st.dead_bytes += s.dead_bytes;
            st.uncommitted_bytes += sh.uncommitted_bytes;
            st.per_shard.push(s);
        }
        st.edges = if st.directed {
            st.edge_entries
        } else {
            (st.edge_entries - st.self_loops) / 2 + st.self_loops
        };
        st
    }

    pub(crate) fn is_writable(&self) -> bool {
        self.log.is_some() && !self.poisoned
    }

    fn check_writable(&self) -> Result<()> {
        if self.log.is_none() {
            return Err(Error::ReadOnly {
                path: self.dir.clone(),
            });
        }
        if self.poisoned {
            return Err(Error::InvalidArgument(format!(
                "store {} had a failed commit; reopen it to recover",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Writes an index checkpoint for every shard with enough appended since its last one.
    /// A checkpoint is a cache: failing to write one is logged, not an error.
    pub(crate) fn refresh_checkpoints(&mut self) {
        let txn = self.last.txn;
        self.shards
            .par_iter_mut()
            .filter(|sh| sh.wants_checkpoint())
            .for_each(|sh| {
                if let Err(e) = sh.write_checkpoint(txn) {
                    tracing::warn!("index checkpoint of shard {} not written: {e}", sh.id);
                }
            });
    }

    /// Writes an index checkpoint for every shard now, so that the next open reads each
    /// shard's index instead of scanning its records. Commits write them on their own once
    /// enough has been appended (8 MiB per shard, and a quarter of what the last checkpoint
    /// covered); this is for stores that stop short of that.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.check_writable()?;
        let txn = self.last.txn;
        self.shards
            .par_iter_mut()
            .map(|sh| sh.write_checkpoint(txn))
            .collect()
    }

    /// Commits `batch` atomically: after a crash at any point, the store opens either
    /// without any of the batch or with all of it.
    pub fn commit(&mut self, batch: WriteBatch) -> Result<CommitInfo> {
        self.check_writable()?;
        let first_lsn = self.last.last_lsn + 1;
        if batch.is_empty() {
            return Ok(CommitInfo {
                txn: self.last.txn,
                first_lsn,
                last_lsn: self.last.last_lsn,
                records: 0,
            });
        }
        let ops = logged_ops(&batch);
        let t = std::time::Instant::now();
        let prepared = self.prepare(batch)?;
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            "commit: batch prepared"
        );
        let t = std::time::Instant::now();
        let plans = self
            .shards
            .par_iter()
            .zip(prepared.inputs)
            .map(|(sh, input)| plan_shard(sh, input, &prepared.extras, &prepared.deleted))
            .collect::<Result<Vec<_>>>()?;
        let mut bases = Vec::with_capacity(plans.len());
        let mut next = first_lsn;
        for p in &plans {
            bases.push(next);
            next += p.len() as u64;
        }
        let records = next - first_lsn;
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            records,
            "commit: cells planned"
        );
        let t = std::time::Instant::now();
        let segment_bytes = self.manifest.segment_bytes;
        let written: Vec<Result<ShardWrites>> = self
            .shards
            .par_iter()
            .zip(plans)
            .zip(bases)
            .map(|((sh, ops), base)| write_shard(sh, segment_bytes, base, ops))
            .collect();
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            "commit: records written and fsynced"
        );
        self.finish_commit(written, first_lsn, next - 1, ops)
    }

    /// Makes a transaction whose records `written` holds durable: on any shard's failure
    /// every shard is rolled back; otherwise one commit record is appended and fsynced,
    /// the index updated, checkpoints refreshed and the edge log appended (`ops`, `None`
    /// for transactions too large to log).
    fn finish_commit(
        &mut self,
        written: Vec<Result<ShardWrites>>,
        first_lsn: u64,
        last_lsn: u64,
        ops: Option<Vec<crate::edgelog::EdgeOp>>,
    ) -> Result<CommitInfo> {
        let mut writes = Vec::with_capacity(written.len());
        let mut first_err = None;
        for w in written {
            match w {
                Ok(w) => writes.push(w),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            self.rollback_all();
            return Err(e);
        }
        let records = last_lsn + 1 - first_lsn;
        let commit = Commit {
            txn: self.last.txn + 1,
            last_lsn,
            marks: writes.iter().map(|w| w.mark).collect(),
        };
        let log = self.log.as_mut().expect("checked writable");
        if let Err(e) = log.append(&commit) {
            self.poisoned = true;
            self.rollback_all();
            return Err(e);
        }
        self.shards
            .par_iter_mut()
            .zip(writes)
            .for_each(|(sh, w)| sh.apply(w));
        self.last = commit;
        tracing::debug!(txn = self.last.txn, records, "committed");
        self.refresh_checkpoints();
        let logged = crate::edgelog::LoggedTxn {
            txn: self.last.txn,
            first_lsn,
            last_lsn: self.last.last_lsn,
            ops,
        };
        if let Err(e) = crate::edgelog::append(&self.dir, &logged) {
            // The log is a hint: readers of this range fall back to comparing cells.
            tracing::warn!("edge log not written for transaction {}: {e}", logged.txn);
        }
        Ok(CommitInfo {
            txn: self.last.txn,
            first_lsn,
            last_lsn: self.last.last_lsn,
            records,
        })
    }

    fn rollback_all(&self) {
        for sh in &self.shards {
            rollback(sh, sh.mark);
        }
    }

    /// Resolves property names against the schema (saving the manifest when it grows),
    /// mirrors undirected edges, and splits the batch by shard.
    fn prepare(&mut self, batch: WriteBatch) -> Result<Prepared> {
        let mut manifest = self.manifest.clone();
        let n = manifest.shards;
        let resolve =
            |defs: &mut Vec<PropertyDef>, props: Vec<(String, Value)>| -> Result<RawProperties> {
                let mut raw: RawProperties = Vec::with_capacity(props.len());
                for (name, value) in props {
                    let (idx, ty) = Schema::resolve(defs, &name, value.value_type())
                        .map_err(Error::InvalidArgument)?;
                    let value = value.coerce(ty).ok_or_else(|| {
                        Error::InvalidArgument(format!("property `{name}` must be {ty}"))
                    })?;
                    raw.retain(|(k, _)| *k != idx);
                    raw.push((idx, value));
                }
                raw.sort_by_key(|(k, _)| *k);
                Ok(raw)
            };
        let mut puts: Vec<HashMap<u64, ResolvedPut>> = vec![HashMap::new(); n as usize];
        for (id, put) in batch.vertex_puts {
            let props = resolve(&mut manifest.schema.vertex, put.props)?;
            puts[shard_of(id, n) as usize].insert(
                id,
                ResolvedPut {
                    label: put.label,
                    props,
                },
            );
        }
        let mut extras = Vec::with_capacity(batch.extras.len());
        for (label, props) in batch.extras {
            extras.push(EdgeExtra {
                label,
                props: resolve(&mut manifest.schema.edge, props)?,
            });
        }
        manifest.weighted |= batch.weighted;
        if manifest != self.manifest {
            // Written before the data: a crash leaves at most an unused schema entry.
            manifest.save(&self.dir)?;
            self.manifest = manifest;
        }

        let t0 = std::time::Instant::now();
        let mut edges = batch.edges;
        let mut edge_deletes = batch.edge_deletes;
        if !self.manifest.directed {
            let mirrored: Vec<EdgeRec> = edges
                .iter()
                .filter(|e| e.src != e.dst)
                .map(|e| EdgeRec {
                    src: e.dst,
                    dst: e.src,
                    ..*e
                })
                .collect();
            edges.extend(mirrored);
            let rev: Vec<(u64, u64)> = edge_deletes.iter().map(|&(s, d)| (d, s)).collect();
            edge_deletes.extend(rev);
        }

        // Bucket additions by the source's shard: each thread scatters a slice into its own
        // buckets, then each shard's pieces are concatenated and sorted in parallel.
        let pieces: Vec<Vec<Vec<EdgeRec>>> = edges
            .par_chunks(1 << 20)
            .map(|chunk| {
                let mut out: Vec<Vec<EdgeRec>> = (0..n)
                    .map(|_| Vec::with_capacity(chunk.len() / n as usize + 16))
                    .collect();
                for e in chunk {
                    out[shard_of(e.src, n) as usize].push(*e);
                }
                out
            })
            .collect();
        drop(edges);
        let adds: Vec<Vec<EdgeRec>> = (0..n as usize)
            .into_par_iter()
            .map(|s| {
                let mut v = gather_shard(&pieces, s);
                sort_by_src_dst(&mut v);
                v
            })
            .collect();
        drop(pieces);
        tracing::debug!(
            seconds = t0.elapsed().as_secs_f64(),
            "prepare: bucketed and sorted"
        );

        // Destinations need vertex cells too; they live in the destination's shard.
        let dst_pieces: Vec<Vec<Vec<u64>>> = adds
            .par_iter()
            .map(|b| {
                let mut out: Vec<Vec<u64>> = vec![Vec::new(); n as usize];
                let mut last = None;
                for e in b {
                    if last != Some(e.dst) {
                        out[shard_of(e.dst, n) as usize].push(e.dst);
                    }
                    last = Some(e.dst);
                }
                out
            })
            .collect();
        let endpoints: Vec<Vec<u64>> = (0..n as usize)
            .into_par_iter()
            .map(|s| {
                let mut v = gather_shard(&dst_pieces, s);
                let max = v.iter().copied().max().unwrap_or(0);
                crate::radix::sort_by_key(&mut v, crate::radix::bits(max), |&x| x);
                v.dedup();
                v
            })
            .collect();
        drop(dst_pieces);
        tracing::debug!(seconds = t0.elapsed().as_secs_f64(), "prepare: endpoints");
        let mut deletes: Vec<HashMap<u64, HashSet<u64>>> = vec![HashMap::new(); n as usize];
        for (s, d) in edge_deletes {
            deletes[shard_of(s, n) as usize]
                .entry(s)
                .or_default()
                .insert(d);
        }
        let deleted = batch.vertex_deletes;
        // Sources with an edge into a deleted vertex must drop it (needs a scan).
        let in_filter: Vec<HashSet<u64>> = if deleted.is_empty() {
            vec![HashSet::new(); n as usize]
        } else {
            self.shards
                .par_iter()
                .map(|sh| {
                    let mut hit = HashSet::new();
                    sh.for_each_live(CellKind::EdgeBlock, |key, payload| {
                        let mut found = false;
                        EdgeBlock::for_each_raw(payload, |d, _| found |= deleted.contains(&d))
                            .map_err(|e| Error::corrupt(&sh.dir, 0, e.to_string()))?;
                        if found {
                            hit.insert(key.vertex);
                        }
                        Ok(())
                    })?;
                    Ok(hit)
                })
                .collect::<Result<_>>()?
        };
        let mut vdel: Vec<Vec<u64>> = vec![Vec::new(); n as usize];
        for &v in &deleted {
            vdel[shard_of(v, n) as usize].push(v);
        }
        let inputs = adds
            .into_iter()
            .zip(endpoints)
            .zip(deletes)
            .zip(vdel)
            .zip(puts)
            .zip(in_filter)
            .map(
                |(((((adds, endpoints), deletes), vdel), puts), in_filter)| ShardInput {
                    adds,
                    endpoints,
                    deletes,
                    vdel,
                    puts,
                    in_filter,
                },
            )
            .collect();
        Ok(Prepared {
            inputs,
            extras,
            deleted,
        })
    }
}

/// The operations of `batch` for the edge log, in the order a commit applies them
/// (deletions before additions); `None` for batches too large to log.
fn logged_ops(batch: &WriteBatch) -> Option<Vec<crate::edgelog::EdgeOp>> {
    use crate::edgelog::{EdgeOp, MAX_LOGGED_OPS};
    let n = batch.vertex_deletes.len()
        + batch.edge_deletes.len()
        + batch.vertex_puts.len()
        + batch.edges.len();
    if n > MAX_LOGGED_OPS {
        return None;
    }
    let mut ops = Vec::with_capacity(n);
    let mut vdel: Vec<u64> = batch.vertex_deletes.iter().copied().collect();
    vdel.sort_unstable();
    ops.extend(vdel.into_iter().map(EdgeOp::DeleteVertex));
    ops.extend(
        batch
            .edge_deletes
            .iter()
            .map(|&(s, d)| EdgeOp::DeleteEdge(s, d)),
    );
    let mut puts: Vec<u64> = batch.vertex_puts.keys().copied().collect();
    puts.sort_unstable();
    ops.extend(puts.into_iter().map(EdgeOp::PutVertex));
    ops.extend(
        batch
            .edges
            .iter()
            .map(|e| EdgeOp::AddEdge(e.src, e.dst, e.weight)),
    );
    Some(ops)
}

/// A fresh random store identity (never 0): the standard library's randomly keyed hasher
/// over the clock, the process and the path.
fn new_store_id(dir: &Path) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    std::time::SystemTime::now().hash(&mut h);
    std::process::id().hash(&mut h);
    dir.hash(&mut h);
    h.finish().max(1)
}

/// Concatenates shard `s`'s piece from every thread's buckets.
fn gather_shard<T: Copy>(pieces: &[Vec<Vec<T>>], s: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(pieces.iter().map(|p| p[s].len()).sum());
    for p in pieces {
        v.extend_from_slice(&p[s]);
    }
    v
}

/// Sorts additions by (source, destination) (stable, like the radix sort).
fn sort_by_src_dst(v: &mut Vec<EdgeRec>) {
    crate::radix::sort_by_src_dst(v, |e| e.src, |e| e.dst);
}

#[derive(Clone, Debug)]
struct ResolvedPut {
    label: Option<String>,
    props: RawProperties,
}

struct ShardInput {
    adds: Vec<EdgeRec>,
    endpoints: Vec<u64>,
    deletes: HashMap<u64, HashSet<u64>>,
    vdel: Vec<u64>,
    puts: HashMap<u64, ResolvedPut>,
    /// Sources with an edge into a deleted vertex.
    in_filter: HashSet<u64>,
}

struct Prepared {
    inputs: Vec<ShardInput>,
    extras: Vec<EdgeExtra>,
    deleted: HashSet<u64>,
}

enum Op {
    Vertex {
        id: u64,
        version: u64,
        data: VertexData,
    },
    Block {
        src: u64,
        block: u32,
        version: u64,
        data: EdgeBlock,
    },
    Tombstone {
        key: CellKey,
        version: u64,
    },
}

fn next_version(sh: &Shard, key: &CellKey) -> u64 {
    sh.index.get(key).map_or(1, |e| e.version + 1)
}

/// One edge while a source's list is rebuilt.
#[derive(Clone)]
struct PendingEdge {
    dst: u64,
    weight: f64,
    extra: Option<EdgeExtra>,
}

fn block_edges(sh: &Shard, entry: &Entry, out: &mut Vec<PendingEdge>) -> Result<()> {
    let b = sh.edge_block(entry)?;
    let mut extras = b.extras.into_iter();
    for (i, &dst) in b.dsts.iter().enumerate() {
        let weight = b.weights.get(i).copied().unwrap_or(1.0);
        let extra = extras.next().filter(|e| !e.is_empty());
        out.push(PendingEdge { dst, weight, extra });
    }
    Ok(())
}

/// Emits blocks `first..` for `edges` (sorted by destination) and tombstones for old blocks
/// past the new end.
fn emit_chain(
    sh: &Shard,
    src: u64,
    first: u32,
    old_len: u32,
    edges: &[PendingEdge],
    ops: &mut Vec<Op>,
) {
    let weighted = edges.iter().any(|e| e.weight != 1.0);
    let has_extras = edges.iter().any(|e| e.extra.is_some());
    let extras_vec: Vec<EdgeExtra>;
    let extras = if has_extras {
        extras_vec = edges
            .iter()
            .map(|e| e.extra.clone().unwrap_or_default())
            .collect();
        Some(&extras_vec[..])
    } else {
        None
    };
    let ranges = if edges.is_empty() {
        Vec::new()
    } else {
        chunk_ranges(edges.len(), weighted, extras)
    };
    let count = ranges.len() as u32;
    for (i, r) in ranges.into_iter().enumerate() {
        let block = first + i as u32;
        let part = &edges[r];
        let data = EdgeBlock {
            next: (i as u32 + 1 < count).then_some(block + 1),
            dsts: part.iter().map(|e| e.dst).collect(),
            weights: if part.iter().any(|e| e.weight != 1.0) {
                part.iter().map(|e| e.weight).collect()
            } else {
                Vec::new()
            },
            extras: if part.iter().any(|e| e.extra.is_some()) {
                part.iter()
                    .map(|e| e.extra.clone().unwrap_or_default())
                    .collect()
            } else {
                Vec::new()
            },
        };
        push_block(sh, ops, src, block, data);
    }
    for b in first + count..old_len {
        let key = CellKey::edge_block(src, b);
        ops.push(Op::Tombstone {
            key,
            version: next_version(sh, &key),
        });
    }
}

/// Queues a new version of edge block `block` of `src`.
fn push_block(sh: &Shard, ops: &mut Vec<Op>, src: u64, block: u32, data: EdgeBlock) {
    let key = CellKey::edge_block(src, block);
    let version = next_version(sh, &key);
    ops.push(Op::Block {
        src,
        block,
        version,
        data,
    });
}

/// Blocks of a source with no stored edges and no labelled edges: the bulk-import path,
/// built straight from the sorted additions.
fn emit_fresh(sh: &Shard, src: u64, adds: &[EdgeRec], ops: &mut Vec<Op>) {
    let weighted = adds.iter().any(|e| e.weight != 1.0);
    let ranges = chunk_ranges(adds.len(), weighted, None);
    let count = ranges.len() as u32;
    for (i, r) in ranges.into_iter().enumerate() {
        let block = i as u32;
        let part = &adds[r];
        let data = EdgeBlock {
            next: (block + 1 < count).then_some(block + 1),
            dsts: part.iter().map(|e| e.dst).collect(),
            weights: if weighted {
                part.iter().map(|e| e.weight).collect()
            } else {
                Vec::new()
            },
            extras: Vec::new(),
        };
        push_block(sh, ops, src, block, data);
    }
}

fn plan_shard(
    sh: &Shard,
    input: ShardInput,
    extras: &[EdgeExtra],
    deleted: &HashSet<u64>,
) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    let pending = |e: &EdgeRec| PendingEdge {
        dst: e.dst,
        weight: e.weight,
        extra: (e.extra != NO_EXTRA).then(|| extras[e.extra as usize].clone()),
    };
    // Sources whose edge lists change.
    let mut sources: Vec<u64> = input.deletes.keys().copied().collect();
    sources.extend(input.vdel.iter().copied());
    sources.extend(input.in_filter.iter().copied());
    let mut add_ranges: HashMap<u64, std::ops::Range<usize>> = HashMap::new();
    let mut i = 0;
    while i < input.adds.len() {
        let src = input.adds[i].src;
        let start = i;
        while i < input.adds.len() && input.adds[i].src == src {
            i += 1;
        }
        add_ranges.insert(src, start..i);
        sources.push(src);
    }
    sources.sort_unstable();
    sources.dedup();

    for &src in &sources {
        let chain = sh.chain(src);
        let adds = add_ranges
            .get(&src)
            .map_or(&input.adds[0..0], |r| &input.adds[r.clone()]);
        let dels = input.deletes.get(&src);
        let full = deleted.contains(&src) || dels.is_some() || input.in_filter.contains(&src);
        if full {
            let mut edges = Vec::new();
            if !deleted.contains(&src) {
                for (_, e) in &chain {
                    block_edges(sh, e, &mut edges)?;
                }
            }
            let before = edges.len();
            edges.retain(|e| !deleted.contains(&e.dst) && dels.is_none_or(|d| !d.contains(&e.dst)));
            if edges.len() == before && adds.is_empty() && !deleted.contains(&src) {
                continue;
            }
            edges.extend(adds.iter().map(pending));
            edges.sort_by_key(|e| e.dst);
            emit_chain(sh, src, 0, chain.len() as u32, &edges, &mut ops);
        } else if let Some(&(last, entry)) = chain.last() {
            let mut edges = Vec::new();
            block_edges(sh, &entry, &mut edges)?;
            edges.extend(adds.iter().map(pending));
            edges.sort_by_key(|e| e.dst);
            emit_chain(sh, src, last, chain.len() as u32, &edges, &mut ops);
        } else if adds.iter().all(|e| e.extra == NO_EXTRA) {
            emit_fresh(sh, src, adds, &mut ops);
        } else {
            let edges: Vec<PendingEdge> = adds.iter().map(pending).collect();
            emit_chain(sh, src, 0, 0, &edges, &mut ops);
        }
    }

    // Vertices: deletions, explicit puts, then endpoints that do not exist yet.
    let mut recreated: HashSet<u64> = HashSet::new();
    let mut puts: Vec<(u64, ResolvedPut)> = input.puts.into_iter().collect();
    puts.sort_unstable_by_key(|(id, _)| *id);
    for (id, put) in puts {
        let base = if deleted.contains(&id) {
            None
        } else {
            sh.vertex(id)?.map(|(_, d)| d)
        };
        let mut data = base.unwrap_or_default();
        if let Some(l) = put.label {
            data.label = l;
        }
        for (k, v) in put.props {
            match data.props.iter_mut().find(|(pk, _)| *pk == k) {
                Some(slot) => slot.1 = v,
                None => data.props.push((k, v)),
            }
        }
        data.props.sort_by_key(|(k, _)| *k);
        ops.push(Op::Vertex {
            id,
            version: next_version(sh, &CellKey::vertex(id)),
            data,
        });
        recreated.insert(id);
    }
    let mut implicit: Vec<u64> = add_ranges.keys().copied().collect();
    implicit.extend(input.endpoints.iter().copied());
    implicit.sort_unstable();
    implicit.dedup();
    for id in implicit {
        if recreated.contains(&id) || (sh.has_vertex(id) && !deleted.contains(&id)) {
            continue;
        }
        ops.push(Op::Vertex {
            id,
            version: next_version(sh, &CellKey::vertex(id)),
            data: VertexData::default(),
        });
        recreated.insert(id);
    }
    let mut vdel = input.vdel;
    vdel.sort_unstable();
    for id in vdel {
        if !recreated.contains(&id) && sh.has_vertex(id) {
            let key = CellKey::vertex(id);
            ops.push(Op::Tombstone {
                key,
                version: next_version(sh, &key),
            });
        }
    }
    Ok(ops)
}

fn write_shard(
    sh: &Shard,
    segment_bytes: u64,
    first_lsn: u64,
    ops: Vec<Op>,
) -> Result<ShardWrites> {
    let mut w = ShardWriter::new(sh, segment_bytes, first_lsn)?;
    for op in &ops {
        write_op(&mut w, op)?;
    }
    w.finish()
}

fn write_op(w: &mut ShardWriter<'_>, op: &Op) -> Result<()> {
    match op {
        Op::Vertex { id, version, data } => w.put_vertex(*id, *version, data),
        Op::Block {
            src,
            block,
            version,
            data,
        } => w.put_edge_block(*src, *block, *version, data),
        Op::Tombstone { key, version } => w.tombstone(*key, *version),
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        tracing::trace!(store = %self.dir.display(), "store closed");
    }
}

/// Bytes a store occupies on disk (segments, manifest and commit log).
pub fn disk_usage(dir: &Path) -> Result<u64> {
    fn walk(p: &Path) -> Result<u64> {
        let mut total = 0;
        for e in fs::read_dir(p).at(p)? {
            let e = e.at(p)?;
            let md = e.metadata().at(e.path())?;
            total += if md.is_dir() {
                walk(&e.path())?
            } else {
                md.len()
            };
        }
        Ok(total)
    }
    walk(dir)
}
