//! The external-sort side of an import: parsed edges are buffered up to a share of the
//! memory budget, then sorted by (shard, source, destination) and spilled as one run file
//! per shard (plus a sorted, deduplicated file of the vertex ids each shard needs cells
//! for) under `import-tmp/` inside the store directory. The commit
//! (`Store::commit_runs`) merges each shard's runs and streams them into its log.
//!
//! An import that never fills its buffer hands the edges to the in-memory commit instead,
//! which is faster for small inputs.
//!
//! Run files are private to one import and read back by the process that wrote them:
//! `edges`: `weighted u8`, then `(src u64, dst u64[, weight f64])` little-endian records;
//! `verts`: `u64` ids. The directory is removed on success and failure, and by the next
//! writable open of the store when a killed import left it.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, IoContext, Result};
use crate::shard::shard_of;
use crate::store::{Store, StoreOptions, IMPORT_TMP};

/// Bytes charged per buffered edge: the record (24), its sort scratch (24) and the vertex
/// ids gathered from it at spill time (16).
pub(crate) const EDGE_CHARGE: u64 = 64;
/// Bytes charged per buffered edge when the in-memory commit would take the edges
/// (its batch, shard buckets, sort scratch and endpoint lists: about 74 B measured).
pub(crate) const IN_MEMORY_EDGE_CHARGE: u64 = 96;
/// Bytes charged per buffered vertex id (the id and its sort scratch).
const VERTEX_CHARGE: u64 = 16;
/// Smallest budget: below it the run files would be tiny.
pub const MIN_BUDGET: u64 = 1 << 20;

/// Path of run `run`'s file of shard `shard`.
pub(crate) fn run_path(tmp: &Path, run: u32, shard: u32, what: &str) -> PathBuf {
    tmp.join(format!("r{run:06}-s{shard:04}.{what}"))
}

/// Where the import gets its store when a spill needs one.
pub(crate) struct StoreSlot {
    pub dir: PathBuf,
    pub store: Option<Store>,
    /// Whether this import created the store (removed again if the import fails).
    pub created: bool,
    /// Whether the store directory existed before (then only its contents are removed).
    pub dir_existed: bool,
    pub create: StoreOptions,
}

impl StoreSlot {
    /// The store, created when it does not exist yet (`directed` as the inputs demand).
    pub(crate) fn get(&mut self, directed: bool) -> Result<&mut Store> {
        if self.store.is_none() {
            let mut create = self.create.clone();
            create.directed = directed;
            self.store = Some(Store::create(&self.dir, &create)?);
            self.created = true;
        }
        Ok(self.store.as_mut().expect("just set"))
    }

    /// Undoes what a failed import left: its run directory, and the store it created.
    pub(crate) fn clean_up_failure(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        remove_tmp(store.dir());
        if !self.created {
            return;
        }
        drop(store);
        let res = if self.dir_existed {
            fs::read_dir(&self.dir).and_then(|entries| {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        fs::remove_dir_all(&p)?;
                    } else {
                        fs::remove_file(&p)?;
                    }
                }
                Ok(())
            })
        } else {
            fs::remove_dir_all(&self.dir)
        };
        if let Err(e) = res {
            tracing::warn!(
                "store {} of a failed import not removed: {e}",
                self.dir.display()
            );
        }
    }
}

/// Removes the run directory of `store_dir`, if any.
pub(crate) fn remove_tmp(store_dir: &Path) {
    let tmp = store_dir.join(IMPORT_TMP);
    if tmp.exists() {
        if let Err(e) = fs::remove_dir_all(&tmp) {
            tracing::warn!("import run files {} not removed: {e}", tmp.display());
        }
    }
}

/// Edges and vertex ids buffered until the budget's share is full.
pub(crate) struct Spool {
    budget: u64,
    pub edges: Vec<(u64, u64, f64)>,
    pub verts: Vec<u64>,
    /// Runs spilled so far.
    pub runs: u32,
    /// Whether the runs were mirrored (undirected store).
    mirrored: Option<bool>,
}

impl Spool {
    pub(crate) fn new(budget: u64) -> Self {
        Self {
            budget,
            edges: Vec::new(),
            verts: Vec::new(),
            runs: 0,
            mirrored: None,
        }
    }

    /// Whether the buffer has reached its share of the budget; `mirror`: each edge is
    /// stored in both directions, doubling what a spill sorts.
    pub(crate) fn full(&self, mirror: bool) -> bool {
        let per_edge = EDGE_CHARGE << u32::from(mirror);
        self.edges.len() as u64 * per_edge + self.verts.len() as u64 * VERTEX_CHARGE >= self.budget
    }

    /// Edges that fit before the buffer is full (at least 1).
    pub(crate) fn room(&self, mirror: bool) -> usize {
        let per_edge = EDGE_CHARGE << u32::from(mirror);
        let used = self.edges.len() as u64 * per_edge + self.verts.len() as u64 * VERTEX_CHARGE;
        (self.budget.saturating_sub(used) / per_edge).max(1) as usize
    }

    /// Whether nothing is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.edges.is_empty() && self.verts.is_empty()
    }

    /// Whether the buffered edges may go to the in-memory commit: nothing was spilled and
    /// that commit's working set fits the budget.
    pub(crate) fn fits_in_memory(&self, mirror: bool) -> bool {
        self.runs == 0
            && self.edges.len() as u64 * (IN_MEMORY_EDGE_CHARGE << u32::from(mirror))
                + self.verts.len() as u64 * VERTEX_CHARGE
                <= self.budget
    }

    /// Sorts the buffer and writes it as run files in the store's run directory; returns
    /// the bytes written.
    pub(crate) fn spill(&mut self, store: &Store) -> Result<u64> {
        let started = std::time::Instant::now();
        let directed = store.manifest().directed;
        if *self.mirrored.get_or_insert(!directed) == directed {
            return Err(Error::InvalidArgument(
                "inputs disagree on whether the graph is directed".into(),
            ));
        }
        let tmp = store.dir().join(IMPORT_TMP);
        fs::create_dir_all(&tmp).at(&tmp)?;
        let n = store.shard_count();
        let mut edges = std::mem::take(&mut self.edges);
        if !directed {
            let extra = edges.iter().filter(|e| e.0 != e.1).count();
            edges.reserve_exact(extra);
            for i in 0..edges.len() {
                let (s, d, w) = edges[i];
                if s != d {
                    edges.push((d, s, w));
                }
            }
        }
        let count = edges.len() as u64;
        let by_shard = bucket(edges, n, |e| e.0);
        let verts = bucket(std::mem::take(&mut self.verts), n, |&v| v);
        let run = self.runs;
        // Sort each shard's edges and gather the vertex ids they need, per shard.
        let parts: Vec<(Vec<(u64, u64, f64)>, Vec<Vec<u64>>)> = by_shard
            .into_par_iter()
            .map(|mut v| {
                crate::radix::sort_by_src_dst(&mut v, |e| e.0, |e| e.1);
                let mut ids: Vec<Vec<u64>> = vec![Vec::new(); n as usize];
                let mut last_src = None;
                for e in &v {
                    if last_src != Some(e.0) {
                        ids[shard_of(e.0, n) as usize].push(e.0);
                        last_src = Some(e.0);
                    }
                    ids[shard_of(e.1, n) as usize].push(e.1);
                }
                (v, ids)
            })
            .collect();
        let (sorted, ids): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        let bytes = sorted
            .par_iter()
            .zip(verts)
            .enumerate()
            .map(|(s, (edges, mut vs))| {
                let path = run_path(&tmp, run, s as u32, "edges");
                let mut bytes = write_edges(&path, edges)?;
                for from in &ids {
                    vs.extend_from_slice(&from[s]);
                }
                let max = vs.iter().copied().max().unwrap_or(0);
                crate::radix::sort_by_key(&mut vs, crate::radix::bits(max), |&x| x);
                vs.dedup();
                bytes += write_ids(&run_path(&tmp, run, s as u32, "verts"), &vs)?;
                Ok(bytes)
            })
            .collect::<Result<Vec<u64>>>()?
            .into_iter()
            .sum();
        self.runs += 1;
        tracing::debug!(
            run,
            edges = count,
            bytes,
            seconds = started.elapsed().as_secs_f64(),
            "import: run spilled"
        );
        Ok(bytes)
    }
}

/// Splits `v` by the shard of `key(x)`, keeping the order within each shard.
fn bucket<T: Copy>(v: Vec<T>, n: u32, key: impl Fn(&T) -> u64) -> Vec<Vec<T>> {
    let mut counts = vec![0usize; n as usize];
    for x in &v {
        counts[shard_of(key(x), n) as usize] += 1;
    }
    let mut out: Vec<Vec<T>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
    for x in v {
        out[shard_of(key(&x), n) as usize].push(x);
    }
    out
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).at(path)?,
    ))
}

fn write_edges(path: &Path, edges: &[(u64, u64, f64)]) -> Result<u64> {
    let weighted = edges.iter().any(|e| e.2 != 1.0);
    let mut w = create(path)?;
    let mut buf = Vec::with_capacity(1 << 16);
    buf.push(u8::from(weighted));
    for chunk in edges.chunks(2048) {
        for &(s, d, wt) in chunk {
            buf.extend_from_slice(&s.to_le_bytes());
            buf.extend_from_slice(&d.to_le_bytes());
            if weighted {
                buf.extend_from_slice(&wt.to_le_bytes());
            }
        }
        w.write_all(&buf).at(path)?;
        buf.clear();
    }
    w.write_all(&buf).at(path)?;
    w.flush().at(path)?;
    Ok(1 + edges.len() as u64 * if weighted { 24 } else { 16 })
}

fn write_ids(path: &Path, ids: &[u64]) -> Result<u64> {
    let mut w = create(path)?;
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in ids.chunks(8192) {
        for &v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf).at(path)?;
        buf.clear();
    }
    w.flush().at(path)?;
    Ok(ids.len() as u64 * 8)
}

/// Most runs merged at once: each holds an open file and a read buffer.
pub(crate) const FAN_IN: u32 = 128;

/// Merges groups of [`FAN_IN`] runs into one (per shard, shards in parallel) until at most
/// `FAN_IN` are left, so that the final merge opens few files whatever the input size.
/// Returns the number of runs left.
pub(crate) fn reduce_runs(tmp: &Path, mut runs: u32, shards: u32) -> Result<u32> {
    while runs > FAN_IN {
        let groups = runs.div_ceil(FAN_IN);
        for g in 0..groups {
            let (lo, hi) = (g * FAN_IN, ((g + 1) * FAN_IN).min(runs));
            (0..shards)
                .into_par_iter()
                .try_for_each(|s| merge_group(tmp, lo..hi, g, s))?;
        }
        tracing::debug!(from = runs, to = groups, "import: runs merged");
        runs = groups;
    }
    Ok(runs)
}

/// Merges runs `group` of shard `s` into run `to` (at most the group's first index).
fn merge_group(tmp: &Path, group: std::ops::Range<u32>, to: u32, s: u32) -> Result<()> {
    let paths = |what| group.clone().map(|r| run_path(tmp, r, s, what)).collect();
    let merged = |what| tmp.join(format!("merged-s{s:04}.{what}"));
    let mut edges = EdgeMerge::open(paths("edges"))?;
    let weighted = edges.runs.iter().any(|r| r.weighted);
    let path = merged("edges");
    let mut w = create(&path)?;
    w.write_all(&[u8::from(weighted)]).at(&path)?;
    while let Some((a, b, wt)) = edges.next()? {
        w.write_all(&a.to_le_bytes()).at(&path)?;
        w.write_all(&b.to_le_bytes()).at(&path)?;
        if weighted {
            w.write_all(&wt.to_le_bytes()).at(&path)?;
        }
    }
    w.flush().at(&path)?;
    drop(edges);
    let mut ids = IdMerge::open(paths("verts"))?;
    let vpath = merged("verts");
    let mut w = create(&vpath)?;
    while let Some(v) = ids.next()? {
        w.write_all(&v.to_le_bytes()).at(&vpath)?;
    }
    w.flush().at(&vpath)?;
    drop(ids);
    for what in ["edges", "verts"] {
        for p in paths(what) {
            fs::remove_file(&p).at(&p)?;
        }
        let dst = run_path(tmp, to, s, what);
        fs::rename(merged(what), &dst).at(&dst)?;
    }
    Ok(())
}

/// Reads fixed-size little-endian records from a run file through a buffer.
struct RecordReader {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
}

const READ_BUF: usize = 64 << 10;

impl RecordReader {
    fn open(path: PathBuf) -> Result<Self> {
        let file = File::open(&path).at(&path)?;
        Ok(Self {
            path,
            file,
            buf: vec![0; READ_BUF],
            pos: 0,
            len: 0,
            eof: false,
        })
    }

    /// The next `n` bytes, or `None` at the end of the file.
    fn take(&mut self, n: usize) -> Result<Option<&[u8]>> {
        if self.len - self.pos < n {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
            while !self.eof && self.len < n {
                let got = self.file.read(&mut self.buf[self.len..]).at(&self.path)?;
                self.eof = got == 0;
                self.len += got;
            }
            if self.len < n {
                if self.len > 0 {
                    return Err(Error::corrupt(
                        &self.path,
                        0,
                        "run file ends inside a record",
                    ));
                }
                return Ok(None);
            }
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(Some(out))
    }
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

/// A sorted run of one shard's edges.
pub(crate) struct EdgeRun {
    r: RecordReader,
    weighted: bool,
}

impl EdgeRun {
    pub(crate) fn open(path: PathBuf) -> Result<Self> {
        let mut r = RecordReader::open(path)?;
        let weighted = r.take(1)?.is_some_and(|b| b[0] == 1);
        Ok(Self { r, weighted })
    }

    pub(crate) fn next(&mut self) -> Result<Option<(u64, u64, f64)>> {
        let weighted = self.weighted;
        let n = if weighted { 24 } else { 16 };
        Ok(self.r.take(n)?.map(|b| {
            let w = if weighted {
                f64::from_bits(u64_at(b, 16))
            } else {
                1.0
            };
            (u64_at(b, 0), u64_at(b, 8), w)
        }))
    }
}

/// A sorted run of vertex ids.
pub(crate) struct IdRun(RecordReader);

impl IdRun {
    pub(crate) fn open(path: PathBuf) -> Result<Self> {
        Ok(Self(RecordReader::open(path)?))
    }

    pub(crate) fn next(&mut self) -> Result<Option<u64>> {
        Ok(self.0.take(8)?.map(|b| u64_at(b, 0)))
    }
}

/// K-way merge of sorted edge runs by (source, destination); ties come in run order, so the
/// result is the stable sort of the runs' concatenation.
pub(crate) struct EdgeMerge {
    runs: Vec<EdgeRun>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, u64, u32)>>,
    weights: Vec<f64>,
}

impl EdgeMerge {
    pub(crate) fn open(paths: Vec<PathBuf>) -> Result<Self> {
        let mut m = Self {
            runs: Vec::with_capacity(paths.len()),
            heads: std::collections::BinaryHeap::with_capacity(paths.len()),
            weights: vec![1.0; paths.len()],
        };
        for (i, p) in paths.into_iter().enumerate() {
            m.runs.push(EdgeRun::open(p)?);
            m.advance(i as u32)?;
        }
        Ok(m)
    }

    fn advance(&mut self, i: u32) -> Result<()> {
        if let Some((s, d, w)) = self.runs[i as usize].next()? {
            self.weights[i as usize] = w;
            self.heads.push(std::cmp::Reverse((s, d, i)));
        }
        Ok(())
    }

    pub(crate) fn next(&mut self) -> Result<Option<(u64, u64, f64)>> {
        let Some(std::cmp::Reverse((s, d, i))) = self.heads.pop() else {
            return Ok(None);
        };
        let w = self.weights[i as usize];
        self.advance(i)?;
        Ok(Some((s, d, w)))
    }
}

/// K-way merge of sorted id runs, each id once.
pub(crate) struct IdMerge {
    runs: Vec<IdRun>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, u32)>>,
    last: Option<u64>,
}

impl IdMerge {
    pub(crate) fn open(paths: Vec<PathBuf>) -> Result<Self> {
        let mut m = Self {
            runs: Vec::with_capacity(paths.len()),
            heads: std::collections::BinaryHeap::with_capacity(paths.len()),
            last: None,
        };
        for (i, p) in paths.into_iter().enumerate() {
            m.runs.push(IdRun::open(p)?);
            if let Some(v) = m.runs[i].next()? {
                m.heads.push(std::cmp::Reverse((v, i as u32)));
            }
        }
        Ok(m)
    }

    pub(crate) fn next(&mut self) -> Result<Option<u64>> {
        while let Some(std::cmp::Reverse((v, i))) = self.heads.pop() {
            if let Some(n) = self.runs[i as usize].next()? {
                self.heads.push(std::cmp::Reverse((n, i)));
            }
            if self.last != Some(v) {
                self.last = Some(v);
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_runs_stably_and_ids_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        write_edges(&a, &[(1, 2, 1.0), (1, 3, 0.5), (4, 1, 1.0)]).unwrap();
        write_edges(&b, &[(1, 2, 1.0), (2, 9, 1.0)]).unwrap();
        let mut m = EdgeMerge::open(vec![a, b]).unwrap();
        let mut got = Vec::new();
        while let Some(e) = m.next().unwrap() {
            got.push(e);
        }
        let want = [
            (1, 2, 1.0),
            (1, 2, 1.0),
            (1, 3, 0.5),
            (2, 9, 1.0),
            (4, 1, 1.0),
        ];
        assert_eq!(got, want);
        let (x, y) = (dir.path().join("x"), dir.path().join("y"));
        write_ids(&x, &[1, 5, 7]).unwrap();
        write_ids(&y, &[]).unwrap();
        let z = dir.path().join("z");
        write_ids(&z, &[0, 5, 8]).unwrap();
        let mut m = IdMerge::open(vec![x, y, z]).unwrap();
        let mut ids = Vec::new();
        while let Some(v) = m.next().unwrap() {
            ids.push(v);
        }
        assert_eq!(ids, [0, 1, 5, 7, 8]);
    }

    #[test]
    fn reducing_many_runs_keeps_every_edge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path();
        let runs = FAN_IN * 2 + 3;
        let mut want = Vec::new();
        for r in 0..runs {
            let r64 = u64::from(r);
            let edges = [
                (r64 % 7, r64, 1.0),
                (9, r64, if r == 5 { 0.5 } else { 1.0 }),
            ];
            want.extend_from_slice(&edges);
            for s in 0..2 {
                write_edges(&run_path(tmp, r, s, "edges"), &edges).unwrap();
                write_ids(&run_path(tmp, r, s, "verts"), &[r64, 1000 + r64]).unwrap();
            }
        }
        want.sort_by_key(|e| (e.0, e.1));
        let left = reduce_runs(tmp, runs, 2).unwrap();
        assert_eq!(left, 3);
        for s in 0..2 {
            let paths = |what| (0..left).map(|r| run_path(tmp, r, s, what)).collect();
            let mut m = EdgeMerge::open(paths("edges")).unwrap();
            let mut got = Vec::new();
            while let Some(e) = m.next().unwrap() {
                got.push(e);
            }
            assert_eq!(got, want);
            let mut ids = IdMerge::open(paths("verts")).unwrap();
            let mut n = 0;
            while ids.next().unwrap().is_some() {
                n += 1;
            }
            assert_eq!(n, 2 * runs as usize);
        }
        assert_eq!(fs::read_dir(tmp).unwrap().count(), 2 * 2 * left as usize);
    }
}
