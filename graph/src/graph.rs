//! [`Graph`]: partitioned vertex state and CSR edge partitions on the workers.
//!
//! Worker `w` owns the vertices whose id hashes to `w` (`fmix64(id) % peers`, the store's
//! shard placement when the shard count is a multiple of the worker count, so loading then
//! needs no exchange). Its vertices are numbered densely in ascending id order; globally,
//! worker `w` owns the dense range `starts[w]..starts[w + 1]`. Out-edges are CSR by local
//! source with global dense targets (each list in ascending target id), cut into chunks that
//! live in the worker's
//! [`BlockManager`](morpheus_engine::BlockManager) as `MemoryAndDisk` blocks: a graph larger
//! than the memory budget still runs, its cold chunks spilled and read back on use.

use std::cell::RefCell;
use std::rc::Rc;

use morpheus_engine::{BlockId, Context, Data, Error, Result};
use morpheus_rdd::{Item, Rdd};
use serde::{Deserialize, Serialize};

use crate::idmap::{fmix64, IdMap};
use crate::pregel::get_bit;

mod chunks;
mod load;

pub(crate) use chunks::build_chunks;
use load::{build_topology, missing};

/// One CSR chunk of edges: the edges of local sources `first..first + offsets.len() - 1`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct EdgeChunk<E> {
    /// Local index of the first source.
    pub first: u32,
    /// `offsets[i]..offsets[i + 1]` are the edges of source `first + i`.
    pub offsets: Vec<u32>,
    /// Global dense index of each edge's other endpoint.
    pub targets: Vec<u32>,
    /// Each edge's value.
    pub values: Vec<E>,
}

impl<E> EdgeChunk<E> {
    /// Number of sources in the chunk.
    pub fn vertices(&self) -> usize {
        self.offsets.len() - 1
    }
    /// Edges of the chunk's `i`-th source: targets and values.
    #[inline]
    pub fn edges(&self, i: usize) -> (&[u32], &[E]) {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        (&self.targets[a..b], &self.values[a..b])
    }
}

/// Where a set of edge chunks lives.
#[derive(Debug)]
pub(crate) struct EdgeSet {
    /// Block dataset id of the chunks.
    pub dataset: u64,
    /// First local vertex of each chunk, plus the local vertex count at the end.
    pub bounds: Vec<u32>,
    /// Edges held by this worker.
    pub edges: u64,
}

impl EdgeSet {
    pub fn chunks(&self) -> usize {
        self.bounds.len() - 1
    }
}

/// The vertex partitioning shared by a graph and the graphs derived from it.
#[derive(Debug)]
pub(crate) struct Topology {
    pub me: usize,
    pub peers: usize,
    /// Global dense range of each worker (`peers + 1` entries).
    pub starts: Vec<u32>,
    /// Vertex id of each global dense index (replicated: `8 B × |V|` per worker).
    pub ids: Vec<u64>,
    /// Vertex id → global dense index.
    pub map: IdMap,
    pub directed: bool,
}

impl Topology {
    /// First global index of this worker.
    #[inline]
    pub fn start(&self) -> u32 {
        self.starts[self.me]
    }
    /// This worker's vertex count.
    #[inline]
    pub fn local_len(&self) -> usize {
        (self.starts[self.me + 1] - self.starts[self.me]) as usize
    }
    /// Total vertex count.
    #[inline]
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// Ids of this worker's vertices, ascending.
    pub fn local_ids(&self) -> &[u64] {
        &self.ids[self.starts[self.me] as usize..self.starts[self.me + 1] as usize]
    }
    /// The worker owning global index `g`.
    #[inline]
    pub fn owner(&self, g: u32) -> usize {
        if self.peers == 1 {
            0
        } else {
            self.starts.partition_point(|&s| s <= g) - 1
        }
    }
    /// The worker owning vertex id `id` (hash placement).
    #[inline]
    pub fn owner_of_id(id: u64, peers: usize) -> usize {
        (fmix64(id) % peers as u64) as usize
    }
}

/// A graph partitioned over the workers: vertex values `V`, edge values `E`.
///
/// Every method is collective unless it says otherwise: every worker calls it, in the same
/// order, as with [`Rdd`] operations.
pub struct Graph<V, E> {
    pub(crate) topo: Rc<Topology>,
    pub(crate) out: Rc<EdgeSet>,
    /// In-edges, built on first use (`out` itself for undirected graphs).
    pub(crate) inn: RefCell<Option<Rc<EdgeSet>>>,
    /// Values of this worker's vertices, by local index.
    pub(crate) values: Vec<V>,
    pub(crate) _edge: std::marker::PhantomData<fn() -> E>,
}

impl<V: std::fmt::Debug, E> std::fmt::Debug for Graph<V, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("vertices", &self.topo.len())
            .field("local_vertices", &self.topo.local_len())
            .field("local_edges", &self.out.edges)
            .field("directed", &self.topo.directed)
            .finish_non_exhaustive()
    }
}

/// Bytes of edge data per chunk: 1/32 of the worker's budget, so chunks still fit beside
/// vertex state and cold ones can spill, within sane limits.
/// Sends each record to `owner(record)` and returns what this worker received.
pub(crate) fn exchange_by<T: Data>(
    ctx: &Context<'_>,
    name: &str,
    records: Vec<T>,
    owner: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let peers = ctx.peers();
    if peers == 1 {
        return Ok(records);
    }
    let mut out: Vec<Vec<T>> = (0..peers).map(|_| Vec::new()).collect();
    for r in records {
        out[owner(&r)].push(r);
    }
    ctx.exchange(name, out)
}

/// What an edge function sees: the edge's endpoints and values.
#[derive(Debug)]
pub struct EdgeRef<'a, V, E> {
    /// Source vertex id.
    pub src: u64,
    /// Source vertex value.
    pub src_value: &'a V,
    /// Destination vertex id.
    pub dst: u64,
    /// Edge value.
    pub value: &'a E,
}

/// An edge with both endpoint values (see [`Graph::triplets`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Triplet<V, E> {
    /// Source vertex id.
    pub src: u64,
    /// Source vertex value.
    pub src_value: V,
    /// Destination vertex id.
    pub dst: u64,
    /// Destination vertex value.
    pub dst_value: V,
    /// Edge value.
    pub value: E,
}

impl<V: Item, E: Item> Graph<V, E> {
    /// Total number of vertices (not collective).
    pub fn vertex_count(&self) -> u64 {
        self.topo.len() as u64
    }

    /// Edges held by this worker (not collective).
    pub fn local_edge_count(&self) -> u64 {
        self.out.edges
    }

    /// Total number of stored out-edge entries (undirected graphs hold each edge twice).
    pub fn edge_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(ctx
            .all_gather("graph-edge-count", self.out.edges)?
            .into_iter()
            .sum())
    }

    /// Whether the graph is directed (not collective).
    pub fn is_directed(&self) -> bool {
        self.topo.directed
    }

    /// Ids of this worker's vertices, ascending (not collective).
    pub fn local_ids(&self) -> &[u64] {
        self.topo.local_ids()
    }

    /// Values of this worker's vertices, aligned with [`Graph::local_ids`] (not collective).
    pub fn local_values(&self) -> &[V] {
        &self.values
    }

    /// A graph with the same structure and new vertex values.
    pub(crate) fn with_values<W>(&self, values: Vec<W>) -> Graph<W, E> {
        assert_eq!(values.len(), self.topo.local_len());
        Graph {
            topo: Rc::clone(&self.topo),
            out: Rc::clone(&self.out),
            inn: RefCell::new(self.inn.borrow().clone()),
            values,
            _edge: std::marker::PhantomData,
        }
    }

    /// Calls `f(chunk)` for each out-edge chunk of this worker, pinning one at a time (not
    /// collective).
    pub(crate) fn for_each_chunk(
        &self,
        ctx: &Context<'_>,
        set: &EdgeSet,
        f: impl FnMut(&EdgeChunk<E>) -> Result<()>,
    ) -> Result<()> {
        self.for_each_chunk_serpentine(ctx, set, false, f)
    }

    /// Like [`Graph::for_each_chunk`], in reverse chunk order when `reverse`. Repeated full
    /// passes alternate direction, so the chunks used last (still in memory) are used
    /// first: under a budget, LRU then keeps about a budget's worth of hits per pass
    /// instead of evicting every chunk just before it is needed again.
    pub(crate) fn for_each_chunk_serpentine(
        &self,
        ctx: &Context<'_>,
        set: &EdgeSet,
        reverse: bool,
        mut f: impl FnMut(&EdgeChunk<E>) -> Result<()>,
    ) -> Result<()> {
        let n = set.chunks();
        for i in 0..n {
            let c = if reverse { n - 1 - i } else { i };
            self.with_chunk(ctx, set, c, &mut f)??;
        }
        Ok(())
    }

    /// Calls `f` on chunk `c` of `set` (brought back into memory if it was spilled).
    pub(crate) fn with_chunk<R>(
        &self,
        ctx: &Context<'_>,
        set: &EdgeSet,
        c: usize,
        f: impl FnOnce(&EdgeChunk<E>) -> R,
    ) -> Result<R> {
        let block = ctx
            .blocks()
            .get::<EdgeChunk<E>>(BlockId::new(set.dataset, c as u32))?
            .ok_or_else(|| Error::Job(format!("edge partition {c} is missing")))?;
        Ok(f(&block[0]))
    }

    /// Calls `f(local source, targets, values)` for every local vertex whose bit is set in
    /// `active` (a bitmap over local indexes), chunk by chunk.
    pub(crate) fn for_each_active(
        &self,
        ctx: &Context<'_>,
        set: &EdgeSet,
        active: &[u64],
        mut f: impl FnMut(u32, &[u32], &[E]),
    ) -> Result<()> {
        for c in 0..set.chunks() {
            let (lo, hi) = (set.bounds[c] as usize, set.bounds[c + 1] as usize);
            if !any_bit(active, lo, hi) {
                continue;
            }
            self.with_chunk(ctx, set, c, |chunk| {
                for_each_bit(active, lo, hi, |v| {
                    let (t, w) = chunk.edges(v - lo);
                    f(v as u32, t, w);
                });
            })?;
        }
        Ok(())
    }

    /// Builds a graph from vertex values and edges given per worker (any placement):
    /// records go to their owners, edge endpoints without a vertex record get `default`.
    pub fn from_parts(
        ctx: &Context<'_>,
        vertices: Vec<(u64, V)>,
        edges: Vec<(u64, u64, E)>,
        default: V,
        directed: bool,
    ) -> Result<Graph<V, E>> {
        let peers = ctx.peers();
        let mut vertices = exchange_by(ctx, "graph-vertices", vertices, |(v, _)| {
            Topology::owner_of_id(*v, peers)
        })?;
        let edges = exchange_by(ctx, "graph-edges", edges, |e| {
            Topology::owner_of_id(e.0, peers)
        })?;
        // Destinations may belong to other workers: tell their owners they exist.
        let dsts: Vec<u64> = edges.iter().map(|e| e.1).collect();
        let dsts = exchange_by(ctx, "graph-endpoints", dsts, |&v| {
            Topology::owner_of_id(v, peers)
        })?;
        vertices.sort_unstable_by_key(|(v, _)| *v);
        vertices.dedup_by_key(|(v, _)| *v);
        let mut extra: Vec<u64> = edges.iter().map(|e| e.0).chain(dsts).collect();
        extra.sort_unstable();
        extra.dedup();
        extra.retain(|v| vertices.binary_search_by_key(v, |(x, _)| *x).is_err());
        vertices.extend(extra.into_iter().map(|v| (v, default.clone())));
        vertices.sort_unstable_by_key(|(v, _)| *v);
        let (ids, values): (Vec<u64>, Vec<V>) = vertices.into_iter().unzip();
        let topo = build_topology(ctx, ids, directed)?;
        let start = topo.start();
        let local: Vec<(u32, u32, E)> = edges
            .into_iter()
            .map(|(s, d, e)| {
                let s = topo.map.get(s).ok_or_else(|| missing(s))?;
                let d = topo.map.get(d).ok_or_else(|| missing(d))?;
                Ok((s - start, d, e))
            })
            .collect::<Result<_>>()?;
        let out = build_chunks::<E>(ctx, topo.local_len(), Some(&topo.ids), None, &|f| {
            local.iter().for_each(|(s, d, e)| f(*s, *d, e.clone()));
            Ok(())
        })?;
        let out = Rc::new(out);
        Ok(Graph {
            inn: RefCell::new(None),
            topo: Rc::new(topo),
            out,
            values,
            _edge: std::marker::PhantomData,
        })
    }

    /// Builds a graph from a vertex collection and an edge collection (GraphX's
    /// `Graph(vertices, edges, default)`). For an undirected graph give each edge in both
    /// directions.
    pub fn from_rdds(
        ctx: &Context<'_>,
        vertices: &Rdd<(u64, V)>,
        edges: &Rdd<(u64, u64, E)>,
        default: V,
        directed: bool,
    ) -> Result<Graph<V, E>> {
        let v: Vec<(u64, V)> = vertices
            .local_partitions(ctx)?
            .into_iter()
            .flat_map(|(_, p)| p)
            .collect();
        let e: Vec<(u64, u64, E)> = edges
            .local_partitions(ctx)?
            .into_iter()
            .flat_map(|(_, p)| p)
            .collect();
        Graph::from_parts(ctx, v, e, default, directed)
    }

    /// This worker's edges as `(src, dst, value)` (not collective).
    pub fn local_edges(&self, ctx: &Context<'_>) -> Result<Vec<(u64, u64, E)>> {
        let mut out = Vec::with_capacity(self.out.edges as usize);
        let ids = &self.topo.ids;
        let start = self.topo.start() as usize;
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for i in 0..chunk.vertices() {
                let src = ids[start + chunk.first as usize + i];
                let (t, w) = chunk.edges(i);
                out.extend(
                    t.iter()
                        .zip(w)
                        .map(|(&d, e)| (src, ids[d as usize], e.clone())),
                );
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The vertices as a collection of `(id, value)`, one partition per worker.
    pub fn vertices(&self) -> Rdd<(u64, V)> {
        let data: Rc<Vec<(u64, V)>> = Rc::new(
            self.topo
                .local_ids()
                .iter()
                .copied()
                .zip(self.values.iter().cloned())
                .collect(),
        );
        let me = self.topo.me;
        Rdd::from_fn(self.topo.peers, move |p| {
            debug_assert_eq!(p, me, "a worker computes only its own partition");
            Ok(if p == me {
                data.as_ref().clone()
            } else {
                Vec::new()
            })
        })
    }

    /// The edges as a collection of `(src, dst, value)`, one partition per worker.
    pub fn edges(&self, ctx: &Context<'_>) -> Result<Rdd<(u64, u64, E)>> {
        let data = Rc::new(self.local_edges(ctx)?);
        let me = self.topo.me;
        Ok(Rdd::from_fn(self.topo.peers, move |p| {
            Ok(if p == me {
                data.as_ref().clone()
            } else {
                Vec::new()
            })
        }))
    }

    /// Values of the vertices with global indexes `wanted` (a bitmap over global indexes),
    /// fetched from their owners: one request and one reply exchange.
    pub(crate) fn fetch_values(&self, ctx: &Context<'_>, wanted: &[u64]) -> Result<Vec<Option<V>>> {
        let topo = &self.topo;
        let mut requests: Vec<Vec<(u32, u32)>> = (0..topo.peers).map(|_| Vec::new()).collect();
        for_each_bit(wanted, 0, topo.len(), |g| {
            requests[topo.owner(g as u32)].push((topo.me as u32, g as u32));
        });
        let asked = if topo.peers == 1 {
            requests.pop().unwrap_or_default()
        } else {
            ctx.exchange("graph-fetch-request", requests)?
        };
        let start = topo.start();
        let mut replies: Vec<Vec<(u32, V)>> = (0..topo.peers).map(|_| Vec::new()).collect();
        for (from, g) in asked {
            replies[from as usize].push((g, self.values[(g - start) as usize].clone()));
        }
        let got = if topo.peers == 1 {
            replies.pop().unwrap_or_default()
        } else {
            ctx.exchange("graph-fetch-reply", replies)?
        };
        let mut out = vec![None; topo.len()];
        for (g, v) in got {
            out[g as usize] = Some(v);
        }
        Ok(out)
    }

    /// Every edge with both endpoint values, one partition per worker.
    pub fn triplets(&self, ctx: &Context<'_>) -> Result<Rdd<Triplet<V, E>>> {
        let topo = &self.topo;
        let mut wanted = vec![0u64; topo.len().div_ceil(64)];
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for &d in &chunk.targets {
                wanted[d as usize / 64] |= 1 << (d % 64);
            }
            Ok(())
        })?;
        let remote = self.fetch_values(ctx, &wanted)?;
        let start = topo.start() as usize;
        let mut out = Vec::with_capacity(self.out.edges as usize);
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for i in 0..chunk.vertices() {
                let l = chunk.first as usize + i;
                let (t, w) = chunk.edges(i);
                for (&d, e) in t.iter().zip(w) {
                    out.push(Triplet {
                        src: topo.ids[start + l],
                        src_value: self.values[l].clone(),
                        dst: topo.ids[d as usize],
                        dst_value: remote[d as usize].clone().ok_or_else(|| {
                            Error::Job(format!(
                                "no value fetched for vertex {}",
                                topo.ids[d as usize]
                            ))
                        })?,
                        value: e.clone(),
                    });
                }
            }
            Ok(())
        })?;
        let data = Rc::new(out);
        let me = topo.me;
        Ok(Rdd::from_fn(topo.peers, move |p| {
            Ok(if p == me {
                data.as_ref().clone()
            } else {
                Vec::new()
            })
        }))
    }

    /// A graph with the same structure and values `f(id, value)` (not collective).
    pub fn map_vertices<W: Item>(&self, f: impl Fn(u64, &V) -> W) -> Graph<W, E> {
        let values = self
            .topo
            .local_ids()
            .iter()
            .zip(&self.values)
            .map(|(&id, v)| f(id, v))
            .collect();
        self.with_values(values)
    }

    /// A graph with the same vertices and edge values `f(src, dst, value)`.
    pub fn map_edges<F: Item>(
        &self,
        ctx: &Context<'_>,
        f: impl Fn(u64, u64, &E) -> F,
    ) -> Result<Graph<V, F>> {
        let edges = self
            .local_edges(ctx)?
            .into_iter()
            .map(|(s, d, e)| {
                let v = f(s, d, &e);
                (s, d, v)
            })
            .collect();
        self.rebuild(ctx, self.local_pairs(), edges)
    }

    fn local_pairs(&self) -> Vec<(u64, V)> {
        self.topo
            .local_ids()
            .iter()
            .copied()
            .zip(self.values.iter().cloned())
            .collect()
    }

    fn rebuild<F: Item>(
        &self,
        ctx: &Context<'_>,
        vertices: Vec<(u64, V)>,
        edges: Vec<(u64, u64, F)>,
    ) -> Result<Graph<V, F>> {
        let default = self.values.first().cloned();
        // Every endpoint is among `vertices`, so the default is never used; any value works.
        let default = match ctx
            .all_gather("graph-default", default)?
            .into_iter()
            .flatten()
            .next()
        {
            Some(v) => v,
            None => return Graph::from_parts_empty(ctx, self.topo.directed),
        };
        Graph::from_parts(ctx, vertices, edges, default, self.topo.directed)
    }

    /// The subgraph of the vertices satisfying `vpred` and the edges satisfying `epred`
    /// whose endpoints both remain.
    pub fn subgraph(
        &self,
        ctx: &Context<'_>,
        vpred: impl Fn(u64, &V) -> bool,
        epred: impl Fn(u64, u64, &E) -> bool,
    ) -> Result<Graph<V, E>> {
        let topo = &self.topo;
        let keep: Vec<bool> = topo
            .local_ids()
            .iter()
            .zip(&self.values)
            .map(|(&id, v)| vpred(id, v))
            .collect();
        // Everyone learns which vertices remain: a bitmap, |V| / 8 bytes.
        let mut bits = vec![0u64; topo.len().div_ceil(64)];
        let start = topo.start() as usize;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                let g = start + i;
                bits[g / 64] |= 1 << (g % 64);
            }
        }
        let all = ctx.all_gather("graph-subgraph", bits)?;
        let alive = |g: u32| all.iter().any(|b| get_bit(b, g as usize));
        let mut edges = Vec::new();
        let ids = &topo.ids;
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for i in 0..chunk.vertices() {
                let l = chunk.first as usize + i;
                if !keep[l] {
                    continue;
                }
                let (t, w) = chunk.edges(i);
                for (&d, e) in t.iter().zip(w) {
                    let (s, dd) = (ids[start + l], ids[d as usize]);
                    if alive(d) && epred(s, dd, e) {
                        edges.push((s, dd, e.clone()));
                    }
                }
            }
            Ok(())
        })?;
        let vertices = self
            .local_pairs()
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        self.rebuild(ctx, vertices, edges)
    }

    /// The graph with every edge reversed.
    pub fn reverse(&self, ctx: &Context<'_>) -> Result<Graph<V, E>> {
        let edges = self
            .local_edges(ctx)?
            .into_iter()
            .map(|(s, d, e)| (d, s, e))
            .collect();
        self.rebuild(ctx, self.local_pairs(), edges)
    }

    /// New vertex values `f(id, value, other)` where `other` is the value joined from
    /// `rdd` by vertex id (`None` where `rdd` has none; ids not in the graph are ignored).
    /// This is how a graph meets an external dataset (CSV, Parquet, …) keyed by vertex id.
    pub fn outer_join_vertices<U: Item, W: Item>(
        &self,
        ctx: &Context<'_>,
        rdd: &Rdd<(u64, U)>,
        f: impl Fn(u64, &V, Option<U>) -> W,
    ) -> Result<Graph<W, E>> {
        let peers = ctx.peers();
        let local: Vec<(u64, U)> = rdd
            .local_partitions(ctx)?
            .into_iter()
            .flat_map(|(_, p)| p)
            .collect();
        let mine = exchange_by(ctx, "graph-join-vertices", local, |(v, _)| {
            Topology::owner_of_id(*v, peers)
        })?;
        let start = self.topo.start();
        let mut joined: Vec<Option<U>> = vec![None; self.topo.local_len()];
        for (id, u) in mine {
            if let Some(g) = self.topo.map.get(id) {
                joined[(g - start) as usize] = Some(u);
            }
        }
        let values = self
            .topo
            .local_ids()
            .iter()
            .zip(&self.values)
            .zip(joined)
            .map(|((&id, v), u)| f(id, v, u))
            .collect();
        Ok(self.with_values(values))
    }

    /// Like [`Graph::outer_join_vertices`], keeping the value where `rdd` has none.
    pub fn join_vertices<U: Item>(
        &self,
        ctx: &Context<'_>,
        rdd: &Rdd<(u64, U)>,
        f: impl Fn(u64, &V, U) -> V,
    ) -> Result<Graph<V, E>> {
        self.outer_join_vertices(ctx, rdd, |id, v, u| match u {
            Some(u) => f(id, v, u),
            None => v.clone(),
        })
    }

    /// Values of every vertex as `(id, value)` sorted by id, on worker 0 (the others get
    /// an empty vector): how results reach the output writer.
    pub fn gather_values<T: Data>(&self, ctx: &Context<'_>, values: &[T]) -> Result<Vec<(u64, T)>> {
        let pairs: Vec<(u64, T)> = self
            .topo
            .local_ids()
            .iter()
            .copied()
            .zip(values.iter().cloned())
            .collect();
        let mut all = exchange_by(ctx, "graph-gather", pairs, |_| 0)?;
        all.sort_unstable_by_key(|(v, _)| *v);
        Ok(all)
    }
}

impl<V: Item, E: Item> Graph<V, E> {
    fn from_parts_empty(ctx: &Context<'_>, directed: bool) -> Result<Graph<V, E>> {
        let topo = build_topology(ctx, Vec::new(), directed)?;
        let out = Rc::new(build_chunks::<E>(ctx, 0, None, None, &|_| Ok(()))?);
        Ok(Graph {
            inn: RefCell::new(None),
            topo: Rc::new(topo),
            out,
            values: Vec::new(),
            _edge: std::marker::PhantomData,
        })
    }
}

/// Whether any bit in `lo..hi` is set.
pub(crate) fn any_bit(bits: &[u64], lo: usize, hi: usize) -> bool {
    let mut any = false;
    for_each_word(bits, lo, hi, |_, w| any |= w != 0);
    any
}

fn for_each_word(bits: &[u64], lo: usize, hi: usize, mut f: impl FnMut(usize, u64)) {
    if lo >= hi {
        return;
    }
    let (first, last) = (lo / 64, (hi - 1) / 64);
    for (wi, &word) in bits.iter().enumerate().take(last + 1).skip(first) {
        let mut w = word;
        if wi == first {
            w &= u64::MAX << (lo % 64);
        }
        if wi == last && !hi.is_multiple_of(64) {
            w &= u64::MAX >> (64 - hi % 64);
        }
        f(wi, w);
    }
}

/// Calls `f(i)` for every set bit `i` in `lo..hi`, ascending.
pub(crate) fn for_each_bit(bits: &[u64], lo: usize, hi: usize, mut f: impl FnMut(usize)) {
    for_each_word(bits, lo, hi, |wi, mut w| {
        while w != 0 {
            let b = w.trailing_zeros() as usize;
            f(wi * 64 + b);
            w &= w - 1;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_iteration_respects_bounds() {
        let mut bits = vec![0u64; 3];
        for i in [0usize, 5, 63, 64, 100, 130, 191] {
            bits[i / 64] |= 1 << (i % 64);
        }
        let mut got = Vec::new();
        for_each_bit(&bits, 5, 131, |i| got.push(i));
        assert_eq!(got, [5, 63, 64, 100, 130]);
        assert!(any_bit(&bits, 101, 131));
        assert!(!any_bit(&bits, 101, 130));
        assert!(!any_bit(&bits, 6, 6));
    }
}
