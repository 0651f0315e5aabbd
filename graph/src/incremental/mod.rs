//! Incremental results: algorithm outputs kept current as the store changes, in time that
//! follows the change rather than the graph.
//!
//! An [`Incremental`] holds the graph ([`DynGraph`]) and the state of each maintained
//! algorithm: degree, WCC ([`Wcc`]), BFS and SSSP over a shortest-path tree ([`Paths`]),
//! triangle counts ([`Triangles`]), and PageRank as a warm start from the previous ranks.
//! [`Incremental::delta_since`] turns the store's change log after the state's LSN into
//! arc and vertex differences; [`Incremental::apply`] feeds them to every algorithm
//! (deletions first, then insertions). [`Incremental::save`] and [`refresh`] keep the
//! whole state in a directory so one-shot runs (`morpheus run --incremental-state DIR`) and
//! the job server update instead of recomputing; [`refresh`] does open-or-build plus update
//! and says which happened and why.
//!
//! ARCHITECTURE.md explains why this is hand-written dynamic-graph code rather than a
//! differential-dataflow computation.

mod dyngraph;
mod paths;
mod persist;
mod triangles;
mod wcc;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use morpheus_storage::edgelog::{EdgeOp, LoggedTxn};
use morpheus_storage::{record::CellKind, Store};

pub use dyngraph::{DynGraph, IntHasher, IntMap, NONE};
pub use paths::Paths;
pub use triangles::Triangles;
pub use wcc::Wcc;

use crate::reference::UNREACHABLE;
use crate::run::{Algorithm, Params, Values};
use crate::{Error, Result};

/// One result to maintain: a name (the job step), the algorithm and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Want {
    /// A name unique within the state (the job step).
    pub key: String,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Its parameters.
    pub params: Params,
}

impl Want {
    /// Why `algorithm` with `params` cannot be maintained incrementally, if it cannot.
    pub fn unsupported(algorithm: Algorithm, params: &Params) -> Option<String> {
        match algorithm {
            Algorithm::Degree | Algorithm::Wcc | Algorithm::Triangles => None,
            Algorithm::Bfs | Algorithm::Sssp => params
                .source
                .is_none()
                .then(|| format!("{algorithm} needs a source vertex")),
            Algorithm::PageRank => {
                if params.tolerance.is_none() {
                    Some(
                        "incremental PageRank is a warm start from the previous ranks and \
                         stops on `tolerance`: set it (e.g. 1e-9)"
                            .into(),
                    )
                } else if params.graphx || !params.personalized.is_empty() {
                    Some("incremental PageRank supports the Graphalytics form only".into())
                } else {
                    None
                }
            }
            other => Some(format!(
                "{other} is not maintained incrementally (supported: degree, wcc, bfs, sssp, \
                 triangles, pagerank)"
            )),
        }
    }

    fn fingerprint(&self) -> String {
        format!("{}:{:?}", self.algorithm, self.params)
    }
}

/// The state of one maintained algorithm.
#[derive(Clone, Debug)]
enum State {
    /// Degrees are read off the adjacency lists.
    Degree,
    Wcc(Wcc),
    Paths(Paths),
    Triangles(Triangles),
    PageRank(Vec<f64>),
}

/// Arc and vertex differences between the state's graph and the store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delta {
    /// Arcs to remove, `(src, dst, weight)` by id.
    pub removed: Vec<(u64, u64, f64)>,
    /// Arcs to add.
    pub added: Vec<(u64, u64, f64)>,
    /// Vertices deleted.
    pub dead: Vec<u64>,
    /// Vertices created.
    pub born: Vec<u64>,
    /// Entries read: logged operations, or changed cells (vertices, edge blocks).
    pub cells: u64,
    /// Whether the change came from the store's edge log (else from comparing the changed
    /// cells with the graph held).
    pub from_log: bool,
}

impl Delta {
    /// Arc and vertex differences in all: what an update processes.
    pub fn len(&self) -> u64 {
        (self.removed.len() + self.added.len() + self.dead.len() + self.born.len()) as u64
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`Incremental::apply`] did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ApplyStats {
    /// Arc and vertex differences applied.
    pub input_changes: u64,
    /// Vertices whose results were looked at again, summed over algorithms.
    pub vertices_touched: u64,
    /// Seconds the update took.
    pub seconds: f64,
    /// Of which changing the graph itself (adjacency lists, triangle counts).
    pub graph_seconds: f64,
}

/// A graph and the algorithm results maintained over it.
#[derive(Clone, Debug)]
pub struct Incremental {
    graph: DynGraph,
    lsn: u64,
    store_id: u64,
    algos: Vec<(Want, State)>,
    /// The graph file this state was reopened from, while the store's edge log can bring
    /// it up to date (saves then keep it and write only the results).
    base: Option<Base>,
}

/// A saved graph file and how far behind the results it is.
#[derive(Clone, Copy, Debug)]
struct Base {
    lsn: u64,
    slots: usize,
    replay_ops: u64,
}

fn build_state(g: &DynGraph, want: &Want) -> Result<State> {
    if let Some(why) = Want::unsupported(want.algorithm, &want.params) {
        return Err(Error::InvalidArgument(why));
    }
    Ok(match want.algorithm {
        Algorithm::Degree => State::Degree,
        Algorithm::Wcc => State::Wcc(Wcc::build(g)),
        Algorithm::Triangles => State::Triangles(Triangles::build(g)),
        Algorithm::Bfs | Algorithm::Sssp => State::Paths(Paths::build(
            g,
            want.params.source.unwrap_or_default(),
            want.algorithm == Algorithm::Bfs,
        )?),
        Algorithm::PageRank => State::PageRank(pagerank_warm(g, &[], &want.params).0),
        _ => unreachable!("checked by Want::unsupported"),
    })
}

/// Graphalytics PageRank on the live vertices, starting from `prev` (slot-indexed; missing
/// or dead entries start at 1/|V|, then the start is normalised) and stopping when an
/// iteration moves the ranks by less than the tolerance in L1, or after the iteration cap.
fn pagerank_warm(g: &DynGraph, prev: &[f64], params: &Params) -> (Vec<f64>, usize) {
    let slots = g.slots();
    let n = g.vertex_count();
    let mut rank = vec![0.0f64; slots];
    if n == 0 {
        return (rank, 0);
    }
    let d = params.damping.unwrap_or(0.85);
    let tol = params.tolerance.unwrap_or(0.0);
    let iterations = params.iterations.unwrap_or(20);
    let uniform = 1.0 / n as f64;
    let mut sum = 0.0;
    for v in 0..slots as u32 {
        if g.is_alive(v) {
            let p = prev.get(v as usize).copied().unwrap_or(0.0);
            rank[v as usize] = if p > 0.0 { p } else { uniform };
            sum += rank[v as usize];
        }
    }
    rank.iter_mut().for_each(|r| *r /= sum);
    let mut contrib = vec![0.0f64; slots];
    let mut done = 0;
    for _ in 0..iterations {
        done += 1;
        let mut dangling = 0.0;
        for v in 0..slots as u32 {
            let deg = g.out(v).len();
            if !g.is_alive(v) {
                continue;
            }
            if deg == 0 {
                dangling += rank[v as usize];
                contrib[v as usize] = 0.0;
            } else {
                contrib[v as usize] = rank[v as usize] / deg as f64;
            }
        }
        let mut delta = 0.0;
        for v in 0..slots as u32 {
            if !g.is_alive(v) {
                continue;
            }
            let s: f64 = g.inn(v).iter().map(|&u| contrib[u as usize]).sum();
            let new = (1.0 - d) * uniform + d * (s + dangling * uniform);
            delta += (new - rank[v as usize]).abs();
            rank[v as usize] = new;
        }
        if delta < tol {
            break;
        }
    }
    (rank, done)
}

/// The multiset difference of two arc lists sorted by `(dst, weight bits)`: what `old`
/// lacks goes to `added`, what `new` lacks to `removed`.
fn diff_arcs(
    src: u64,
    old: &[(u64, f64)],
    new: &[(u64, f64)],
    removed: &mut Vec<(u64, u64, f64)>,
    added: &mut Vec<(u64, u64, f64)>,
) {
    let key = |a: &(u64, f64)| (a.0, a.1.to_bits());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if key(a) == key(b) => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if key(a) < key(b) => {
                removed.push((src, a.0, a.1));
                i += 1;
            }
            (Some(a), None) => {
                removed.push((src, a.0, a.1));
                i += 1;
            }
            (_, Some(b)) => {
                added.push((src, b.0, b.1));
                j += 1;
            }
            (None, None) => break,
        }
    }
}

impl Incremental {
    /// Loads `store` and computes every wanted result from scratch.
    ///
    /// # Errors
    /// A store read failure; an unsupported algorithm; an algorithm's own errors.
    pub fn build(store: &Store, wants: &[Want]) -> Result<Self> {
        let graph = DynGraph::from_store(store)?;
        Self::from_graph(graph, store.last_lsn(), store.manifest().id, wants)
    }

    /// Computes every wanted result on `graph` from scratch.
    ///
    /// # Errors
    /// An unsupported algorithm; an algorithm's own errors.
    pub fn from_graph(graph: DynGraph, lsn: u64, store_id: u64, wants: &[Want]) -> Result<Self> {
        let algos = wants
            .iter()
            .map(|w| Ok((w.clone(), build_state(&graph, w)?)))
            .collect::<Result<_>>()?;
        Ok(Incremental {
            graph,
            lsn,
            store_id,
            algos,
            base: None,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &DynGraph {
        &self.graph
    }

    /// The store LSN the results are current to.
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Records that the results are current to `lsn`.
    pub fn set_lsn(&mut self, lsn: u64) {
        self.lsn = lsn;
    }

    /// Bytes held in memory by the graph and every algorithm's state.
    pub fn memory_bytes(&self) -> u64 {
        let algos: usize = self
            .algos
            .iter()
            .map(|(_, s)| match s {
                State::Degree => 0,
                State::Wcc(w) => w.label.capacity() * 8,
                State::Paths(p) => p.dist.capacity() * 13,
                State::Triangles(t) => t.per.capacity() * 8,
                State::PageRank(r) => r.capacity() * 8,
            })
            .sum();
        self.graph.memory_bytes() + algos as u64
    }

    /// The differences between the state's graph and `store`, read from the store's change
    /// log after [`Incremental::lsn`]: every changed source's out-edges are compared with
    /// the ones held.
    ///
    /// # Errors
    /// A store read failure.
    pub fn delta_since(&self, store: &Store) -> Result<Delta> {
        let err = |e: morpheus_storage::Error| Error::InvalidArgument(format!("graph store: {e}"));
        if let Some(txns) = store.edge_changes_since(self.lsn).map_err(err)? {
            return Ok(self.net(&txns));
        }
        tracing::debug!(
            lsn = self.lsn,
            "the edge log does not cover the change: comparing changed cells"
        );
        let changes = store.changes_since(self.lsn);
        let mut delta = Delta {
            cells: changes.len() as u64,
            ..Delta::default()
        };
        let mut sources: BTreeSet<u64> = BTreeSet::new();
        let mut vertices: BTreeSet<u64> = BTreeSet::new();
        for c in &changes {
            match c.kind {
                CellKind::Vertex => {
                    vertices.insert(c.vertex);
                }
                CellKind::EdgeBlock => {
                    sources.insert(c.vertex);
                }
            }
        }
        for &v in &vertices {
            let now = store.vertex(v).map_err(err)?.is_some();
            let had = self.graph.live_index(v).is_some();
            if now && !had {
                delta.born.push(v);
            } else if had && !now {
                delta.dead.push(v);
                sources.insert(v);
            }
        }
        let weighted = self.graph.weighted();
        for &s in &sources {
            let mut new: Vec<(u64, f64)> = store
                .out_edges(s)
                .map_err(err)?
                .into_iter()
                .map(|e| (e.dst, if weighted { e.weight } else { 1.0 }))
                .collect();
            new.sort_unstable_by_key(|&(d, w)| (d, w.to_bits()));
            let old = self
                .graph
                .live_index(s)
                .map(|i| self.graph.out_by_id(i))
                .unwrap_or_default();
            diff_arcs(s, &old, &new, &mut delta.removed, &mut delta.added);
        }
        Ok(delta)
    }

    /// Nets the logged operations of `txns` (in commit order) into differences against
    /// the graph held: an edge added and later deleted cancels out, a deleted pair removes
    /// every arc of it the graph has, a vertex deleted and re-created is both dead (all its
    /// arcs go) and born.
    fn net(&self, txns: &[LoggedTxn]) -> Delta {
        #[derive(Default)]
        struct Pair {
            clear: bool,
            adds: Vec<f64>,
        }
        let g = &self.graph;
        let weighted = g.weighted();
        let mirror = !g.directed();
        let mut pairs: IntMap<(u64, u64), Pair> = IntMap::default();
        // Per vertex: deleted at some point, and whether it exists at the end (if touched).
        let mut vertices: IntMap<u64, (bool, bool)> = IntMap::default();
        let mut touching: IntMap<u64, Vec<(u64, u64)>> = IntMap::default();
        let mut cells = 0u64;
        // Which pairs touch a vertex matters only when a vertex is deleted.
        let track = txns.iter().any(|t| {
            t.ops
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|op| matches!(op, EdgeOp::DeleteVertex(_)))
        });
        for t in txns {
            for op in t.ops.as_deref().unwrap_or_default() {
                cells += 1;
                match *op {
                    EdgeOp::DeleteVertex(x) => {
                        *vertices.entry(x).or_default() = (true, false);
                        for p in touching.remove(&x).unwrap_or_default() {
                            if let Some(p) = pairs.get_mut(&p) {
                                p.adds.clear();
                            }
                        }
                    }
                    EdgeOp::DeleteEdge(s, d) => {
                        for (a, b) in [(s, d), (d, s)].into_iter().take(1 + usize::from(mirror)) {
                            let p = pairs.entry((a, b)).or_default();
                            p.clear = true;
                            p.adds.clear();
                        }
                    }
                    EdgeOp::PutVertex(v) => vertices.entry(v).or_default().1 = true,
                    EdgeOp::AddEdge(s, d, w) => {
                        let w = if weighted { w } else { 1.0 };
                        let n = if mirror && s != d { 2 } else { 1 };
                        for (a, b) in [(s, d), (d, s)].into_iter().take(n) {
                            pairs.entry((a, b)).or_default().adds.push(w);
                            if track {
                                touching.entry(a).or_default().push((a, b));
                                touching.entry(b).or_default().push((a, b));
                            }
                        }
                        vertices.entry(s).or_default().1 = true;
                        vertices.entry(d).or_default().1 = true;
                    }
                }
            }
        }
        let mut delta = Delta {
            cells,
            from_log: true,
            ..Delta::default()
        };
        for (&v, &(deleted, exists)) in &vertices {
            let live = g.live_index(v).is_some();
            if deleted && live {
                delta.dead.push(v);
            }
            if exists && (deleted || !live) {
                delta.born.push(v);
            }
        }
        let mut keys: Vec<(u64, u64)> = pairs.keys().copied().collect();
        keys.sort_unstable();
        for (s, d) in keys {
            let p = &pairs[&(s, d)];
            if p.clear {
                if let (Some(u), Some(v)) = (g.live_index(s), g.live_index(d)) {
                    let out = g.out(u);
                    let lo = out.partition_point(|&x| x < v);
                    let hi = out.partition_point(|&x| x <= v);
                    for i in lo..hi {
                        delta.removed.push((s, d, g.out_weight(u, i)));
                    }
                }
            }
            delta.added.extend(p.adds.iter().map(|&w| (s, d, w)));
        }
        delta.dead.sort_unstable();
        delta.born.sort_unstable();
        delta
    }

    /// Applies `delta` to the graph and every maintained result.
    ///
    /// # Errors
    /// An algorithm's own errors (e.g. a negative weight for SSSP).
    pub fn apply(&mut self, delta: &Delta) -> Result<ApplyStats> {
        let t = Instant::now();
        let g = &mut self.graph;
        // Triangle counts change arc by arc; the state is taken out while the graph changes
        // (and copied to any other step that also counts triangles).
        let tri_at: Vec<usize> = (0..self.algos.len())
            .filter(|&i| matches!(self.algos[i].1, State::Triangles(_)))
            .collect();
        let mut tri_state: Option<Triangles> =
            tri_at.first().map(
                |&i| match std::mem::replace(&mut self.algos[i].1, State::Degree) {
                    State::Triangles(t) => t,
                    _ => unreachable!("filtered above"),
                },
            );
        let mut tri = tri_state.as_mut();
        let mut touched = 0u64;
        // Undirected stores list both arcs of an edge; they are applied as a pair (the
        // one with `src <= dst` stands for both) so the adjacency is symmetric whenever
        // the triangle counts look at it.
        let directed = g.directed();
        let pair = |&(s, d, _): &&(u64, u64, f64)| directed || s <= d;
        // Deletions.
        let mut gone: Vec<(u32, u32, f64)> = Vec::with_capacity(delta.removed.len());
        // Without triangle counts, which look at the graph after every arc, each touched
        // adjacency list is rewritten once for the whole delta.
        let batched = tri.is_none();
        let mut remove = |g: &mut DynGraph, u: u32, v: u32, w: f64, gone: &mut Vec<_>| {
            let had = tri.is_some() && g.adjacent(u, v);
            if g.remove_arc(u, v, w) {
                gone.push((u, v, w));
                if !directed && u != v && g.remove_arc(v, u, w) {
                    gone.push((v, u, w));
                }
                if let Some(t) = tri.as_deref_mut() {
                    if had && !g.adjacent(u, v) {
                        touched += t.edge_changed(g, u, v, false);
                    }
                }
            }
        };
        let mirrored = |u: u32, v: u32, w: f64| {
            let back = (!directed && u != v).then_some((v, u, w));
            std::iter::once((u, v, w)).chain(back)
        };
        let mut pending: Vec<(u32, u32, f64)> = Vec::new();
        for &(s, d, w) in delta.removed.iter().filter(pair) {
            if let (Some(u), Some(v)) = (g.index_of(s), g.index_of(d)) {
                if batched {
                    pending.extend(mirrored(u, v, w));
                } else {
                    remove(g, u, v, w, &mut gone);
                }
            }
        }
        if batched {
            gone = g.remove_many(&pending);
            pending.clear();
        }
        let dying: std::collections::HashSet<u32> =
            delta.dead.iter().filter_map(|&x| g.live_index(x)).collect();
        let mut dead: Vec<u32> = Vec::with_capacity(delta.dead.len());
        for &x in &delta.dead {
            let Some(x) = g.live_index(x) else { continue };
            // Whatever arcs the change log did not list still go with the vertex.
            let outs: Vec<(u32, f64)> = (0..g.out(x).len())
                .map(|i| (g.out(x)[i], g.out_weight(x, i)))
                .collect();
            let ins: Vec<(u32, f64)> = if directed {
                (0..g.inn(x).len())
                    .map(|i| (g.inn(x)[i], g.in_weight(x, i)))
                    .collect()
            } else {
                Vec::new()
            };
            if batched {
                // Each arc once: an arc between two dying vertices comes from its source's
                // out-list (undirected: from each endpoint's own list).
                for (t, w) in outs {
                    pending.push((x, t, w));
                    if !directed && t != x && !dying.contains(&t) {
                        pending.push((t, x, w));
                    }
                }
                pending.extend(
                    ins.into_iter()
                        .filter(|(p, _)| !dying.contains(p))
                        .map(|(p, w)| (p, x, w)),
                );
            } else {
                for (t, w) in outs {
                    remove(g, x, t, w, &mut gone);
                }
                for (p, w) in ins {
                    remove(g, p, x, w, &mut gone);
                }
            }
            dead.push(x);
        }
        if batched && !pending.is_empty() {
            let more = g.remove_many(&pending);
            gone.extend(more);
        }
        for &x in &dead {
            g.remove_vertex(x);
        }
        let mut graph_seconds = t.elapsed().as_secs_f64();
        let gr = &*g;
        for (_, state) in &mut self.algos {
            match state {
                State::Wcc(w) => touched += w.deleted(gr, &gone, &dead),
                State::Paths(p) => touched += p.deleted(gr, &gone, &dead),
                State::Degree | State::Triangles(_) | State::PageRank(_) => {}
            }
        }
        // Insertions.
        let t2 = Instant::now();
        let mut born: Vec<u32> = Vec::new();
        let add_vertex = |g: &mut DynGraph, id: u64, born: &mut Vec<u32>| -> u32 {
            let (i, new) = g.add_vertex(id);
            if new {
                born.push(i);
            }
            i
        };
        for &id in &delta.born {
            add_vertex(g, id, &mut born);
        }
        let mut new_arcs: Vec<(u32, u32, f64)> = Vec::with_capacity(delta.added.len());
        for &(s, d, w) in delta.added.iter().filter(pair) {
            let u = add_vertex(g, s, &mut born);
            let v = add_vertex(g, d, &mut born);
            if batched {
                new_arcs.extend(mirrored(u, v, w));
                continue;
            }
            let had = tri.is_some() && g.adjacent(u, v);
            g.insert_arc(u, v, w);
            new_arcs.push((u, v, w));
            if !directed && u != v {
                g.insert_arc(v, u, w);
                new_arcs.push((v, u, w));
            }
            if let Some(t) = tri.as_deref_mut() {
                if !had && g.adjacent(u, v) {
                    touched += t.edge_changed(g, u, v, true);
                }
            }
        }
        if batched {
            g.insert_many(&new_arcs);
        }
        graph_seconds += t2.elapsed().as_secs_f64();
        if let Some(t) = tri_state {
            for &i in &tri_at[1..] {
                self.algos[i].1 = State::Triangles(t.clone());
            }
            self.algos[tri_at[0]].1 = State::Triangles(t);
        }
        let g = &self.graph;
        for (want, state) in &mut self.algos {
            match state {
                State::Degree | State::Triangles(_) => {}
                State::Wcc(w) => touched += w.inserted(g, &new_arcs, &born),
                State::Paths(p) => touched += p.inserted(g, &new_arcs, &born)?,
                State::PageRank(r) => {
                    if !delta.is_empty() {
                        let (ranks, _) = pagerank_warm(g, r, &want.params);
                        *r = ranks;
                        touched += g.vertex_count() as u64;
                    }
                }
            }
        }
        Ok(ApplyStats {
            input_changes: delta.len(),
            vertices_touched: touched,
            seconds: t.elapsed().as_secs_f64(),
            graph_seconds,
        })
    }

    /// The current result `key` for every live vertex: ids ascending, values aligned, and a
    /// summary line for triangle counts.
    ///
    /// # Errors
    /// No such key; a BFS/SSSP source that is not a vertex.
    pub fn values(&self, key: &str) -> Result<(Vec<u64>, Values, Option<String>)> {
        let (want, state) = self
            .algos
            .iter()
            .find(|(w, _)| w.key == key)
            .ok_or_else(|| Error::InvalidArgument(format!("no incremental result `{key}`")))?;
        let g = &self.graph;
        let order = g.live_in_id_order();
        let ids: Vec<u64> = order.iter().map(|&(id, _)| id).collect();
        let slots = order.iter().map(|&(_, v)| v as usize);
        let mut summary = None;
        let values = match state {
            State::Degree => Values::UInt(
                slots
                    .map(|v| {
                        let v = v as u32;
                        (if want.params.in_degree {
                            g.inn(v)
                        } else {
                            g.out(v)
                        })
                        .len() as u64
                    })
                    .collect(),
            ),
            State::Wcc(w) => Values::UInt(slots.map(|v| g.id(w.label[v])).collect()),
            State::Paths(p) => {
                if g.live_index(p.source).is_none() {
                    return Err(Error::InvalidArgument(format!(
                        "source vertex {} is not in the graph",
                        p.source
                    )));
                }
                if p.unit {
                    Values::Int(
                        slots
                            .map(|v| {
                                let d = p.dist[v];
                                if d.is_finite() {
                                    d as i64
                                } else {
                                    UNREACHABLE
                                }
                            })
                            .collect(),
                    )
                } else {
                    Values::Float(slots.map(|v| p.dist[v]).collect())
                }
            }
            State::Triangles(t) => {
                summary = Some(format!("triangles {}", t.total));
                Values::UInt(slots.map(|v| t.per.get(v).copied().unwrap_or(0)).collect())
            }
            State::PageRank(r) => Values::Float(slots.map(|v| r[v]).collect()),
        };
        Ok((ids, values, summary))
    }
}

/// How [`refresh`] brought the results up to date.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RefreshReport {
    /// `incremental` (state found and updated) or `full` (built from the store).
    pub mode: String,
    /// Why a full build was needed (no state yet, or how it did not match).
    pub reason: Option<String>,
    /// LSN the previous state was current to (incremental updates only).
    pub from_lsn: Option<u64>,
    /// LSN the results are current to now.
    pub to_lsn: u64,
    /// Entries read from the store since `from_lsn`: logged operations, or changed cells.
    pub changed_cells: u64,
    /// Where the change was read: `edge log`, or `changed cells` (when the edge log does
    /// not cover it, e.g. after a bulk import).
    pub read_from: Option<String>,
    /// Arc and vertex differences processed (the whole graph for a full build).
    pub input_changes: u64,
    /// Vertices whose results were looked at again.
    pub vertices_touched: u64,
    /// Seconds to read the state (or the store, for a full build).
    pub load_seconds: f64,
    /// Seconds to compute the differences and apply them (or to compute from scratch).
    pub update_seconds: f64,
    /// Live vertices and arcs of the graph.
    pub vertices: u64,
    /// Arcs (an undirected edge counts twice).
    pub arcs: u64,
    /// Bytes of the resident state per arc.
    pub bytes_per_arc: f64,
}

/// Brings the results in `dir` up to date with `store`: opens the saved state and applies
/// the store's changes since its LSN, or (no state, or one that does not match the store or
/// `wants`) builds from scratch and says why. The caller saves the state with
/// [`Incremental::save`] once the results are used.
///
/// # Errors
/// A store read failure; an algorithm's errors. A damaged state is not an error: it is
/// reported as the reason for a full build.
pub fn refresh(dir: &Path, store: &Store, wants: &[Want]) -> Result<(Incremental, RefreshReport)> {
    let t = Instant::now();
    let opened = persist::open(dir, store, wants);
    let load_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (inc, mut report) = match opened {
        Ok(mut inc) => {
            let from = inc.lsn;
            let delta = inc.delta_since(store)?;
            let stats = inc.apply(&delta)?;
            inc.base = match inc.base {
                // The edge log covers this change too: the saved graph stays usable.
                Some(b) if delta.from_log => Some(Base {
                    replay_ops: b.replay_ops + delta.cells,
                    ..b
                }),
                _ => None,
            };
            inc.lsn = store.last_lsn();
            tracing::info!(
                from_lsn = from,
                to_lsn = inc.lsn,
                changes = stats.input_changes,
                "incremental update"
            );
            let report = RefreshReport {
                mode: "incremental".into(),
                reason: None,
                from_lsn: Some(from),
                to_lsn: inc.lsn,
                changed_cells: delta.cells,
                read_from: Some(
                    if delta.from_log {
                        "edge log"
                    } else {
                        "changed cells"
                    }
                    .into(),
                ),
                input_changes: stats.input_changes,
                vertices_touched: stats.vertices_touched,
                ..RefreshReport::default()
            };
            (inc, report)
        }
        Err(reason) => {
            tracing::info!(%reason, "incremental state not usable; computing in full");
            let inc = Incremental::build(store, wants)?;
            let report = RefreshReport {
                mode: "full".into(),
                reason: Some(reason),
                to_lsn: inc.lsn,
                input_changes: inc.graph.arc_count() + inc.graph.vertex_count() as u64,
                vertices_touched: inc.graph.vertex_count() as u64,
                ..RefreshReport::default()
            };
            (inc, report)
        }
    };
    report.load_seconds = load_seconds;
    report.update_seconds = t.elapsed().as_secs_f64();
    report.vertices = inc.graph.vertex_count() as u64;
    report.arcs = inc.graph.arc_count();
    report.bytes_per_arc = inc.memory_bytes() as f64 / inc.graph.arc_count().max(1) as f64;
    Ok((inc, report))
}

#[cfg(test)]
mod tests;
