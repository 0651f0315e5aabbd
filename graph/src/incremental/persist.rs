//! Saving and reopening an [`Incremental`] state directory.
//!
//! The directory holds `state.json` (format, store identity, LSN, what is maintained) and
//! `state.bin`: length-framed sections, each with a CRC32, of little-endian arrays (ids,
//! live flags, CSR out-lists with weights, then each algorithm's arrays). A save writes a
//! sibling directory and swaps it in by renames, so a crash leaves the old state or none,
//! never a mix; a state that fails any check is reported (and the caller rebuilds).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use morpheus_storage::Store;

use super::{DynGraph, Incremental, Paths, State, Triangles, Want, Wcc, NONE};
use crate::{Error, Result};

const FORMAT: u32 = 2;
const MAGIC: &[u8; 8] = b"MPHINCG2";
const RESULTS_MAGIC: &[u8; 8] = b"MPHINCR2";
const META: &str = "state.json";
const GRAPH: &str = "graph.bin";
const RESULTS: &str = "results.bin";

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    format: u32,
    store_id: u64,
    store: PathBuf,
    lsn: u64,
    /// LSN of the graph in `graph.bin`; the store's edge log from here to `lsn` is replayed
    /// on open.
    graph_lsn: u64,
    /// Vertex slots in `graph.bin`.
    graph_slots: u64,
    /// Logged operations between `graph_lsn` and `lsn`.
    replay_ops: u64,
    directed: bool,
    weighted: bool,
    algorithms: Vec<(String, String)>,
}

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn section(&mut self, payload: &[u8]) {
        self.buf
            .extend_from_slice(&(payload.len() as u64).to_le_bytes());
        self.buf
            .extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.buf.extend_from_slice(payload);
    }
    fn u64s(&mut self, v: impl IntoIterator<Item = u64>) {
        let p: Vec<u8> = v.into_iter().flat_map(u64::to_le_bytes).collect();
        self.section(&p);
    }
    fn u32s(&mut self, v: &[u32]) {
        let p: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.section(&p);
    }
    fn f64s(&mut self, v: &[f64]) {
        self.u64s(v.iter().map(|x| x.to_bits()));
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn section(&mut self) -> std::result::Result<&'a [u8], String> {
        let head = self
            .buf
            .get(self.at..self.at + 12)
            .ok_or("state.bin ends early")?;
        let len = u64::from_le_bytes(head[..8].try_into().expect("8 bytes")) as usize;
        let crc = u32::from_le_bytes(head[8..].try_into().expect("4 bytes"));
        let start = self.at + 12;
        let payload = start
            .checked_add(len)
            .and_then(|end| self.buf.get(start..end))
            .ok_or("state.bin ends early")?;
        if crc32fast::hash(payload) != crc {
            return Err(format!("state.bin: checksum mismatch at byte {}", self.at));
        }
        self.at = start + len;
        Ok(payload)
    }
    fn u64s(&mut self) -> std::result::Result<Vec<u64>, String> {
        let p = self.section()?;
        if p.len() % 8 != 0 {
            return Err("state.bin: misframed array".into());
        }
        Ok(p.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }
    fn u32s(&mut self) -> std::result::Result<Vec<u32>, String> {
        let p = self.section()?;
        if p.len() % 4 != 0 {
            return Err("state.bin: misframed array".into());
        }
        Ok(p.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
    fn f64s(&mut self) -> std::result::Result<Vec<f64>, String> {
        Ok(self.u64s()?.into_iter().map(f64::from_bits).collect())
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_owned())
}

impl Incremental {
    /// Writes the state to `dir` (replacing what was there) for [`super::refresh`] to
    /// reopen.
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn save(&self, dir: &Path, store: &Store) -> Result<()> {
        let g = &self.graph;
        // The graph file is rewritten only when the one there cannot be brought up to date
        // cheaply from the store's edge log (see `Incremental::base`).
        let reuse = self
            .base
            .filter(|b| b.replay_ops <= g.arc_count() / 10 + 1000 && dir.join(GRAPH).is_file());
        let mut results = Writer::default();
        results.buf.extend_from_slice(RESULTS_MAGIC);
        let graph_slots = reuse.map_or(g.slots(), |b| b.slots);
        results.u64s(g.ids[graph_slots..].iter().copied());
        for (_, s) in &self.algos {
            match s {
                State::Degree => {}
                State::Wcc(c) => results.u32s(&c.label[..g.slots()]),
                State::Paths(p) => {
                    results.f64s(&p.dist[..g.slots()]);
                    results.u32s(&p.parent[..g.slots()]);
                }
                State::Triangles(t) => {
                    results.u64s([t.total]);
                    results.u64s(t.per.iter().copied());
                }
                State::PageRank(r) => results.f64s(r),
            }
        }
        let meta = Meta {
            format: FORMAT,
            store_id: self.store_id,
            store: canonical(store.dir()),
            lsn: self.lsn,
            graph_lsn: reuse.map_or(self.lsn, |b| b.lsn),
            graph_slots: graph_slots as u64,
            replay_ops: reuse.map_or(0, |b| b.replay_ops),
            directed: g.directed,
            weighted: g.weighted,
            algorithms: self
                .algos
                .iter()
                .map(|(want, _)| (want.key.clone(), want.fingerprint()))
                .collect(),
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        let write = |file: &str, bytes: &[u8]| -> Result<()> {
            let path = staging.join(file);
            let mut f = fs::File::create(&path).map_err(io_err(&path))?;
            f.write_all(bytes).map_err(io_err(&path))?;
            f.sync_all().map_err(io_err(&path))
        };
        match reuse {
            // Same file, new directory entry: no copy.
            Some(_) => {
                let (from, to) = (dir.join(GRAPH), staging.join(GRAPH));
                fs::hard_link(&from, &to)
                    .or_else(|_| fs::copy(&from, &to).map(|_| ()))
                    .map_err(io_err(&to))?;
            }
            None => write(GRAPH, &graph_bytes(g))?,
        }
        write(RESULTS, &results.buf)?;
        let json = serde_json::to_vec_pretty(&meta).expect("plain struct");
        write(META, &json)?;
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if dir.exists() {
            fs::rename(dir, &old).map_err(io_err(dir))?;
        }
        fs::rename(&staging, dir).map_err(io_err(dir))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }
}

/// `graph.bin`: ids, the first slot of the unsorted tail, live flags, CSR out-lists.
fn graph_bytes(g: &DynGraph) -> Vec<u8> {
    let mut w = Writer::default();
    w.buf.extend_from_slice(MAGIC);
    w.u64s(g.ids.iter().copied());
    w.u64s([g.base as u64]);
    w.section(&g.alive.iter().map(|&a| u8::from(a)).collect::<Vec<u8>>());
    let mut off = 0u64;
    w.u64s(std::iter::once(0).chain(g.out.iter().map(|l| {
        off += l.len() as u64;
        off
    })));
    let targets: Vec<u32> = g.out.iter().flatten().copied().collect();
    w.u32s(&targets);
    drop(targets);
    let weights: Vec<f64> = g.out_w.iter().flatten().copied().collect();
    w.f64s(&weights);
    w.buf
}

/// Reopens the state in `dir` if it matches `store` and `wants`; otherwise says why not.
pub(super) fn open(
    dir: &Path,
    store: &Store,
    wants: &[Want],
) -> std::result::Result<Incremental, String> {
    let meta_path = dir.join(META);
    let text = match fs::read(&meta_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("no incremental state in {} yet", dir.display()))
        }
        Err(e) => return Err(format!("cannot read {}: {e}", meta_path.display())),
    };
    let meta: Meta = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not valid: {e}", meta_path.display()))?;
    if meta.format != FORMAT {
        return Err(format!(
            "state format {} (this build reads {FORMAT})",
            meta.format
        ));
    }
    let m = store.manifest();
    if meta.store_id != m.id || (m.id == 0 && meta.store != canonical(store.dir())) {
        return Err(format!(
            "the state was made from another store ({})",
            meta.store.display()
        ));
    }
    if meta.lsn > store.last_lsn() {
        return Err(format!(
            "the state is at LSN {} but the store ends at {} (restored from a backup?)",
            meta.lsn,
            store.last_lsn()
        ));
    }
    if meta.directed != m.directed || meta.weighted != m.weighted {
        return Err("the store's directedness or weights changed".into());
    }
    let want_fp: Vec<(String, String)> = wants
        .iter()
        .map(|w| (w.key.clone(), w.fingerprint()))
        .collect();
    if meta.algorithms != want_fp {
        return Err("the job's algorithms or their parameters changed".into());
    }
    let read = |file: &str, magic: &[u8; 8]| -> std::result::Result<Vec<u8>, String> {
        let path = dir.join(file);
        let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if bytes.get(..8) != Some(&magic[..]) {
            return Err(format!("{} is not an incremental state", path.display()));
        }
        Ok(bytes)
    };
    let bytes = read(GRAPH, MAGIC)?;
    let mut r = Reader { buf: &bytes, at: 8 };
    let ids = r.u64s()?;
    let gn = ids.len();
    let base = r.u64s()?.first().copied().unwrap_or(0) as usize;
    let alive: Vec<bool> = r.section()?.iter().map(|&b| b != 0).collect();
    let offsets = r.u64s()?;
    let targets = r.u32s()?;
    let weights = r.f64s()?;
    let bad = |file: &str| format!("{} is inconsistent", dir.join(file).display());
    if alive.len() != gn
        || gn as u64 != meta.graph_slots
        || base > gn
        || offsets.len() != gn + 1
        || offsets.last().copied() != Some(targets.len() as u64)
        || offsets.windows(2).any(|w| w[0] > w[1])
        || targets.iter().any(|&t| t as usize >= gn)
        || (meta.weighted && weights.len() != targets.len())
        || !ids[..base].windows(2).all(|w| w[0] < w[1])
    {
        return Err(bad(GRAPH));
    }
    let mut graph = load_graph(
        ids,
        base,
        alive,
        &offsets,
        &targets,
        &weights,
        meta.directed,
        meta.weighted,
    );
    drop(bytes);
    let results = read(RESULTS, RESULTS_MAGIC)?;
    let mut r = Reader {
        buf: &results,
        at: 8,
    };
    // Vertices created after the graph file was written get their slots back in the
    // same order, then the edge log from the graph's LSN to the results' is replayed.
    for id in r.u64s()? {
        let (slot, new) = graph.add_vertex(id);
        if !new || slot as usize != graph.slots() - 1 {
            return Err(bad(RESULTS));
        }
    }
    if meta.graph_lsn < meta.lsn {
        let txns = store
            .edge_changes_between(meta.graph_lsn, meta.lsn)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "the store's edge log no longer covers LSN {}..{} since the state's graph",
                    meta.graph_lsn, meta.lsn
                )
            })?;
        let mut replay = Incremental {
            graph,
            lsn: meta.graph_lsn,
            store_id: meta.store_id,
            algos: Vec::new(),
            base: None,
        };
        let delta = replay.net(&txns);
        replay.apply(&delta).map_err(|e| e.to_string())?;
        graph = replay.graph;
    }
    let n = graph.slots();
    let bad = || bad(RESULTS);
    let mut algos = Vec::with_capacity(wants.len());
    for want in wants {
        use crate::run::Algorithm as A;
        let state = match want.algorithm {
            A::Degree => State::Degree,
            A::Wcc => {
                let label = r.u32s()?;
                if label.len() != n || label.iter().any(|&l| l != NONE && l as usize >= n) {
                    return Err(bad());
                }
                State::Wcc(Wcc::from_labels(label))
            }
            A::Bfs | A::Sssp => {
                let dist = r.f64s()?;
                let parent = r.u32s()?;
                if dist.len() != n || parent.len() != n {
                    return Err(bad());
                }
                State::Paths(Paths::from_parts(
                    want.params.source.unwrap_or_default(),
                    want.algorithm == A::Bfs,
                    dist,
                    parent,
                ))
            }
            A::Triangles => {
                let total = r.u64s()?.first().copied().unwrap_or(0);
                let per = r.u64s()?;
                State::Triangles(Triangles { per, total })
            }
            A::PageRank => State::PageRank(r.f64s()?),
            other => return Err(format!("{other} cannot be reopened")),
        };
        algos.push((want.clone(), state));
    }
    Ok(Incremental {
        graph,
        lsn: meta.lsn,
        store_id: meta.store_id,
        algos,
        base: Some(super::Base {
            lsn: meta.graph_lsn,
            slots: meta.graph_slots as usize,
            replay_ops: meta.replay_ops,
        }),
    })
}

#[allow(clippy::too_many_arguments)]
fn load_graph(
    ids: Vec<u64>,
    base: usize,
    alive: Vec<bool>,
    offsets: &[u64],
    targets: &[u32],
    weights: &[f64],
    directed: bool,
    weighted: bool,
) -> DynGraph {
    let n = ids.len();
    let range = |v: usize| offsets[v] as usize..offsets[v + 1] as usize;
    fn with_slack<T: Copy>(xs: &[T]) -> Vec<T> {
        let mut v = Vec::with_capacity(super::dyngraph::slack(xs.len()));
        v.extend_from_slice(xs);
        v
    }
    let out: Vec<Vec<u32>> = (0..n).map(|v| with_slack(&targets[range(v)])).collect();
    let out_w: Vec<Vec<f64>> = if weighted {
        (0..n).map(|v| with_slack(&weights[range(v)])).collect()
    } else {
        Vec::new()
    };
    let (mut inn, mut in_w) = (Vec::new(), Vec::new());
    if directed {
        let mut deg = vec![0usize; n];
        targets.iter().for_each(|&t| deg[t as usize] += 1);
        inn = deg
            .iter()
            .map(|&d| Vec::with_capacity(d))
            .collect::<Vec<Vec<u32>>>();
        if weighted {
            in_w = deg
                .iter()
                .map(|&d| Vec::with_capacity(d))
                .collect::<Vec<Vec<f64>>>();
        }
        // Sources in ascending order: every in-list comes out sorted.
        for v in 0..n {
            for e in range(v) {
                inn[targets[e] as usize].push(v as u32);
                if weighted {
                    in_w[targets[e] as usize].push(weights[e]);
                }
            }
        }
    }
    let extra: super::IntMap<u64, u32> = ids[base..]
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, (base + i) as u32))
        .collect();
    let live = alive.iter().filter(|&&a| a).count();
    let mut g = DynGraph {
        directed,
        weighted,
        ids,
        base,
        extra,
        direct: Vec::new(),
        alive,
        out,
        out_w,
        inn,
        in_w,
        arcs: targets.len() as u64,
        live,
    };
    g.index_ids();
    g.reserve_slots();
    g
}
