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

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use morpheus_engine::{BlockId, Context, Data, Error, Result, StorageLevel};
use morpheus_rdd::{Item, Rdd};
use morpheus_storage::Store;
use serde::{Deserialize, Serialize};

use crate::idmap::{fmix64, IdMap};
use crate::pregel::get_bit;

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
fn chunk_bytes(ctx: &Context<'_>) -> usize {
    (ctx.blocks().budget_bytes() / 32).clamp(64, 16 << 20)
}

fn store_err(e: morpheus_storage::Error) -> Error {
    Error::Job(format!("graph store: {e}"))
}

/// A worker's edges in CSR form before they are cut into chunks: `offsets[v]..offsets[v+1]`
/// index `targets` (and `values`, empty when `E` is zero-sized, whose one value is `unit`).
struct Csr<E> {
    offsets: Vec<u64>,
    targets: Vec<u32>,
    values: Vec<Option<E>>,
    unit: Option<E>,
}

/// Builds CSR chunks for `n` local sources from edges produced (twice: a counting pass and
/// a filling pass) by `scan`, and puts them in the block manager.
///
/// With `order`, each vertex's edges are sorted by `order[target]` (the targets' vertex ids):
/// in-edge lists are, so that sums over them run in the same order for any worker count.
/// A scan that can tell passes `unsorted` and sets it when some list is out of order.
fn build_chunks<E: Item>(
    ctx: &Context<'_>,
    n: usize,
    order: Option<&[u64]>,
    unsorted: Option<&Cell<bool>>,
    scan: &dyn Fn(&mut dyn FnMut(u32, u32, E)) -> Result<()>,
) -> Result<EdgeSet> {
    let mut degree = vec![0u32; n + 1];
    scan(&mut |s, _, _| degree[s as usize] += 1)?;
    let offsets = prefix_sums(degree[..n].iter().map(|&d| u64::from(d)));
    drop(degree);
    let total = offsets[n];
    let mut targets = vec![0u32; total as usize];
    let mut values: Vec<Option<E>> = Vec::new();
    let zero_sized = std::mem::size_of::<E>() == 0;
    if !zero_sized {
        values.resize(total as usize, None);
    }
    // Placing each edge straight at its source's slot writes all over `targets`: a cache
    // miss per edge once it outgrows the cache. Instead, edges are first appended to the
    // region of their bucket of 2^shift consecutive sources (at most 1024 sequential
    // streams), then each bucket's edges are placed within its region, which fits in cache.
    // Both passes keep each source's edges in scan order.
    let shift = (usize::BITS - n.saturating_sub(1).leading_zeros()).saturating_sub(10);
    let mut cursor: Vec<u64> = (0..n).step_by(1 << shift).map(|s| offsets[s]).collect();
    let mut staged: Vec<(u32, u32)> = vec![(0, 0); total as usize];
    let mut staged_values: Vec<Option<E>> = Vec::new();
    if !zero_sized {
        staged_values.resize(total as usize, None);
    }
    let mut unit: Option<E> = None;
    scan(&mut |s, d, e| {
        let c = &mut cursor[(s >> shift) as usize];
        let at = *c as usize;
        *c += 1;
        staged[at] = (s, d);
        if zero_sized {
            unit.get_or_insert(e);
        } else {
            staged_values[at] = Some(e);
        }
    })?;
    drop(cursor);
    let mut fill: Vec<u64> = offsets[..n].to_vec();
    for (at, &(s, d)) in staged.iter().enumerate() {
        let slot = fill[s as usize] as usize;
        fill[s as usize] += 1;
        targets[slot] = d;
        if !zero_sized {
            values[slot] = staged_values[at].take();
        }
    }
    drop(fill);
    let csr = Csr {
        offsets,
        targets,
        values,
        unit,
    };
    cut_chunks(ctx, n, csr, order, unsorted)
}

/// Offsets (with the total at the end) of lists of the given lengths. Over u64: a worker
/// may hold more than 4G edges in total.
fn prefix_sums(lengths: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut offsets = Vec::with_capacity(lengths.size_hint().0 + 1);
    let mut total = 0u64;
    for d in lengths {
        offsets.push(total);
        total += d;
    }
    offsets.push(total);
    offsets
}

/// Edges as a store scan delivers them: grouped into runs of one source each (a source's
/// edges are contiguous in each block of its chain), in shard order rather than source
/// order. Collected in one pass, four bytes per edge (plus the value), instead of staging
/// (source, target, value) triples and passing over them twice.
struct Runs<E> {
    /// (local source, first index into `targets`) of each run; a run ends where the next
    /// begins.
    starts: Vec<(u32, usize)>,
    targets: Vec<u32>,
    values: Vec<E>,
    unit: Option<E>,
    /// Whether some run's targets were not in ascending id order.
    unsorted: bool,
}

impl<E: Item> Runs<E> {
    fn with_capacity(edges: usize) -> Self {
        let zero_sized = std::mem::size_of::<E>() == 0;
        Runs {
            starts: Vec::new(),
            targets: Vec::with_capacity(edges),
            values: Vec::with_capacity(if zero_sized { 0 } else { edges }),
            unit: None,
            unsorted: false,
        }
    }

    /// Into CSR order: each run's slice is copied to its source's place.
    fn into_csr(self, n: usize) -> Csr<E> {
        let Runs {
            starts,
            targets: raw,
            values: raw_values,
            unit,
            ..
        } = self;
        let end = |i: usize| starts.get(i + 1).map_or(raw.len(), |r| r.1);
        let mut degree = vec![0u64; n];
        for (i, &(s, a)) in starts.iter().enumerate() {
            degree[s as usize] += (end(i) - a) as u64;
        }
        let offsets = prefix_sums(degree.into_iter());
        let mut targets = vec![0u32; raw.len()];
        let mut values: Vec<Option<E>> = Vec::new();
        values.resize(raw_values.len(), None);
        let mut raw_values = raw_values.into_iter();
        let mut fill: Vec<u64> = offsets[..n].to_vec();
        for (i, &(s, a)) in starts.iter().enumerate() {
            let len = end(i) - a;
            let at = fill[s as usize] as usize;
            fill[s as usize] += len as u64;
            targets[at..at + len].copy_from_slice(&raw[a..a + len]);
            // Values (none when `E` is zero-sized) come in run order too.
            for slot in values.get_mut(at..at + len).unwrap_or_default() {
                *slot = raw_values.next();
            }
        }
        Csr {
            offsets,
            targets,
            values,
            unit,
        }
    }
}

/// Sorts each list by `order[target]` when asked (and when `unsorted` does not say they
/// already are), cuts the CSR into chunks and puts them in the block manager.
fn cut_chunks<E: Item>(
    ctx: &Context<'_>,
    n: usize,
    csr: Csr<E>,
    order: Option<&[u64]>,
    unsorted: Option<&Cell<bool>>,
) -> Result<EdgeSet> {
    let Csr {
        offsets,
        mut targets,
        mut values,
        unit,
    } = csr;
    let total = offsets[n];
    let zero_sized = std::mem::size_of::<E>() == 0;
    // A scan that reports its lists already sorted (`unsorted` stayed false) skips the pass.
    let order = order.filter(|_| unsorted.is_none_or(Cell::get));
    if let Some(order) = order {
        // Each target's key is looked up once (the ids are a table of every vertex, read
        // at random): comparing through the table would look up two per comparison.
        let mut keyed: Vec<(u64, u32)> = Vec::new();
        let mut list: Vec<u32> = Vec::new();
        let mut moved: Vec<Option<E>> = Vec::new();
        for v in 0..n {
            let (a, b) = (offsets[v] as usize, offsets[v + 1] as usize);
            if b - a < 2 {
                continue;
            }
            // (key, position): the positions let values follow their targets.
            keyed.clear();
            keyed.extend(
                targets[a..b]
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (order[t as usize], i as u32)),
            );
            if keyed.is_sorted_by_key(|k| k.0) {
                continue;
            }
            // In-edge lists are one ascending run per sending worker: the stable sort
            // finds the runs and merges them in linear time.
            keyed.sort_by_key(|k| k.0);
            list.clear();
            list.extend_from_slice(&targets[a..b]);
            for (slot, &(_, i)) in targets[a..b].iter_mut().zip(&keyed) {
                *slot = list[i as usize];
            }
            if !zero_sized {
                moved.clear();
                moved.extend(values[a..b].iter_mut().map(Option::take));
                for (slot, &(_, i)) in values[a..b].iter_mut().zip(&keyed) {
                    *slot = moved[i as usize].take();
                }
            }
        }
    }
    // Cut into chunks of about `chunk_bytes` each.
    let per_edge = 4 + std::mem::size_of::<E>();
    let budget = chunk_bytes(ctx);
    let dataset = ctx.new_dataset_id();
    let mut bounds = vec![0u32];
    let mut first = 0usize;
    while first < n {
        let mut last = first;
        while last < n
            && ((offsets[last + 1] - offsets[first]) as usize * per_edge + (last - first) * 4)
                < budget
        {
            last += 1;
        }
        let last = last.max(first + 1).min(n);
        let (a, b) = (offsets[first] as usize, offsets[last] as usize);
        let chunk = EdgeChunk {
            first: first as u32,
            offsets: offsets[first..=last]
                .iter()
                .map(|&o| (o - offsets[first]) as u32)
                .collect(),
            targets: targets[a..b].to_vec(),
            values: if zero_sized {
                match &unit {
                    Some(u) => vec![u.clone(); b - a],
                    None => Vec::new(),
                }
            } else {
                values[a..b]
                    .iter_mut()
                    .map(|v| v.take().expect("every edge slot was filled"))
                    .collect()
            },
        };
        let id = BlockId::new(dataset, (bounds.len() - 1) as u32);
        ctx.blocks()
            .put(id, vec![chunk], StorageLevel::MemoryAndDisk)?;
        bounds.push(last as u32);
        first = last;
    }
    if n == 0 {
        // A worker without vertices (an empty graph, or fewer vertices than workers) still
        // holds one empty chunk, so every chunk `bounds` names exists.
        let empty = EdgeChunk::<E> {
            first: 0,
            offsets: vec![0],
            targets: Vec::new(),
            values: Vec::new(),
        };
        ctx.blocks().put(
            BlockId::new(dataset, 0),
            vec![empty],
            StorageLevel::MemoryAndDisk,
        )?;
        bounds.push(0);
    }
    Ok(EdgeSet {
        dataset,
        bounds,
        edges: total,
    })
}

/// Builds the topology from this worker's (sorted, distinct) vertex ids.
fn build_topology(ctx: &Context<'_>, local: Vec<u64>, directed: bool) -> Result<Topology> {
    let all = ctx.all_gather("graph-ids", local)?;
    let total: usize = all.iter().map(Vec::len).sum();
    if total >= u32::MAX as usize {
        return Err(Error::Job(format!(
            "graph has {total} vertices; at most {} are supported",
            u32::MAX - 1
        )));
    }
    let mut starts = Vec::with_capacity(all.len() + 1);
    let mut ids = Vec::with_capacity(total);
    for part in all {
        starts.push(ids.len() as u32);
        ids.extend(part);
    }
    starts.push(ids.len() as u32);
    let max_id = ids.iter().copied().max().unwrap_or(0);
    let map = IdMap::build(
        total,
        max_id,
        ids.iter().enumerate().map(|(i, &v)| (v, i as u32)),
    );
    tracing::debug!(vertices = total, map_bytes = map.bytes(), "graph topology");
    // The replicated id table and map count against the budget for the rest of the job
    // (the block manager releases reservations when the job ends).
    std::mem::forget(ctx.reserve(ids.len() * 8 + map.bytes())?);
    Ok(Topology {
        me: ctx.index(),
        peers: ctx.peers(),
        starts,
        ids,
        map,
        directed,
    })
}

fn missing(id: u64) -> Error {
    Error::Job(format!("edge endpoint {id} is not a vertex of the graph"))
}

impl Graph<(), f64> {
    /// Loads the store into a graph whose edge values are the stored weights (1.0 for an
    /// unweighted store). Each worker scans its shards.
    pub fn load(ctx: &Context<'_>, store: &Store) -> Result<Self> {
        Graph::load_with(ctx, store, |w| w)
    }
}

impl Graph<(), ()> {
    /// Loads the store's topology only (no edge values: 4 bytes per edge).
    pub fn load_topology(ctx: &Context<'_>, store: &Store) -> Result<Self> {
        Graph::load_with(ctx, store, |_| ())
    }
}

impl<E: Item> Graph<(), E> {
    /// Loads the store, turning each edge weight into an edge value with `value`. Directed
    /// graphs get their in-edges too (built by one exchange).
    pub fn load_with(
        ctx: &Context<'_>,
        store: &Store,
        value: impl Fn(f64) -> E + Copy,
    ) -> Result<Self> {
        let started = std::time::Instant::now();
        let (me, peers) = (ctx.index(), ctx.peers());
        let shards = store.shard_count() as usize;
        let mine: Vec<u32> = (0..shards)
            .filter(|s| s % peers == me)
            .map(|s| s as u32)
            .collect();
        let directed = store.manifest().directed;
        // Placement matches the store's when peers divides the shard count: no exchange.
        let aligned = shards.is_multiple_of(peers);
        let mut ids = Vec::new();
        for &s in &mine {
            ids.extend(store.vertex_ids(s).map_err(store_err)?);
        }
        if !aligned {
            ids = exchange_by(ctx, "graph-load-vertices", ids, |&v| {
                Topology::owner_of_id(v, peers)
            })?;
        }
        ids.sort_unstable();
        ids.dedup();
        let topo = build_topology(ctx, ids, directed)?;
        let start = topo.start();
        let n = topo.local_len();
        let out = if aligned {
            // One scan of the store into runs (a source's edges are contiguous in each of
            // its blocks); the store keeps each source's destinations in ascending id
            // order, and the scan checks, so the sort pass is skipped when nothing needs it.
            let mut expected = 0u64;
            for &s in &mine {
                expected += store.edge_entries(s).map_err(store_err)?;
            }
            let mut runs = Runs::<E>::with_capacity(expected as usize);
            let zero_sized = std::mem::size_of::<E>() == 0;
            let (mut last, mut last_dst) = (None, 0u64);
            let mut stray = None;
            for &s in &mine {
                store
                    .scan_edge_lists(s, |src, dsts, weights| {
                        if last != Some(src) {
                            last = Some(src);
                            let local = topo.map.get(src).map_or_else(
                                || {
                                    // Only a damaged store has edges of a missing vertex;
                                    // they go to vertex 0 and the load fails below.
                                    stray.get_or_insert(src);
                                    0
                                },
                                |g| g - start,
                            );
                            runs.starts.push((local, runs.targets.len()));
                            last_dst = 0;
                        }
                        if dsts.first().is_some_and(|&d| d < last_dst) || !dsts.is_sorted() {
                            runs.unsorted = true;
                        }
                        last_dst = dsts.last().copied().unwrap_or(last_dst);
                        let missing = topo.map.translate(dsts, &mut runs.targets);
                        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
                        if zero_sized {
                            if runs.unit.is_none() && !dsts.is_empty() {
                                runs.unit = Some(value(w(0)));
                            }
                        } else if missing == 0 {
                            runs.values.extend((0..dsts.len()).map(|i| value(w(i))));
                        } else {
                            // Edges to ids that are not vertices were dropped above.
                            runs.values.extend(
                                (0..dsts.len())
                                    .filter(|&i| topo.map.get(dsts[i]).is_some())
                                    .map(|i| value(w(i))),
                            );
                        }
                    })
                    .map_err(store_err)?;
            }
            if let Some(src) = stray {
                return Err(missing(src));
            }
            let unsorted = Cell::new(runs.unsorted);
            cut_chunks(ctx, n, runs.into_csr(n), Some(&topo.ids), Some(&unsorted))?
        } else {
            let mut raw = Vec::new();
            for &s in &mine {
                store
                    .scan_edges(s, |src, dst, w| raw.push((src, dst, w)))
                    .map_err(store_err)?;
            }
            let raw = exchange_by(ctx, "graph-load-edges", raw, |e| {
                Topology::owner_of_id(e.0, peers)
            })?;
            let raw: Vec<(u32, u32, f64)> = raw
                .into_iter()
                .map(|(s, d, w)| {
                    let (s, d) = (
                        topo.map.get(s).ok_or_else(|| missing(s))?,
                        topo.map.get(d).ok_or_else(|| missing(d))?,
                    );
                    Ok((s - start, d, w))
                })
                .collect::<Result<_>>()?;
            build_chunks::<E>(ctx, n, Some(&topo.ids), None, &|f| {
                raw.iter().for_each(|&(s, d, w)| f(s, d, value(w)));
                Ok(())
            })?
        };
        let out = Rc::new(out);
        let g = Graph {
            inn: RefCell::new((!directed).then(|| Rc::clone(&out))),
            topo: Rc::new(topo),
            out,
            values: vec![(); n],
            _edge: std::marker::PhantomData,
        };
        // Like NetworKit's directed graphs, keep both directions: PageRank, BFS (bottom-up),
        // SCC, CDLP and k-core read in-edges.
        g.in_edges(ctx)?;
        ctx.record_stage(morpheus_engine::StageMetrics {
            name: "graph-load".into(),
            records_in: g.out.edges,
            records_out: n as u64,
            seconds: started.elapsed().as_secs_f64(),
            ..Default::default()
        });
        Ok(g)
    }
}

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

    /// The in-edges (for each local vertex, the global sources of its incoming edges, in
    /// ascending source id), built on first use by one exchange.
    pub(crate) fn in_edges(&self, ctx: &Context<'_>) -> Result<Rc<EdgeSet>> {
        if let Some(set) = self.inn.borrow().as_ref() {
            return Ok(Rc::clone(set));
        }
        let topo = &self.topo;
        let start = topo.start();
        if topo.peers == 1 {
            // Counting sort straight from the out-edge chunks: sources come in ascending
            // index, which on one worker is ascending id, so the lists come out sorted.
            let set = build_chunks::<E>(ctx, topo.local_len(), None, None, &|f| {
                self.for_each_chunk(ctx, &self.out, |chunk| {
                    for i in 0..chunk.vertices() {
                        let src = chunk.first + i as u32;
                        let (t, w) = chunk.edges(i);
                        for (&d, e) in t.iter().zip(w) {
                            f(d, src, e.clone());
                        }
                    }
                    Ok(())
                })
            })?;
            let set = Rc::new(set);
            *self.inn.borrow_mut() = Some(Rc::clone(&set));
            return Ok(set);
        }
        // Sized exactly (a cheap counting pass), so the buffers are never regrown.
        let mut counts = vec![0usize; topo.peers];
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for &d in &chunk.targets {
                counts[topo.owner(d)] += 1;
            }
            Ok(())
        })?;
        let mut out: Vec<Vec<(u32, u32, E)>> = counts.into_iter().map(Vec::with_capacity).collect();
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for i in 0..chunk.vertices() {
                let src = start + chunk.first + i as u32;
                let (t, w) = chunk.edges(i);
                for (&d, e) in t.iter().zip(w) {
                    out[topo.owner(d)].push((d, src, e.clone()));
                }
            }
            Ok(())
        })?;
        // Batches are kept as they arrive: concatenating them would copy every edge.
        let mut received: Vec<Vec<(u32, u32, E)>> = Vec::new();
        ctx.exchange_with("graph-in-edges", out, |batch| {
            received.push(batch);
            Ok(())
        })?;
        let set = build_chunks::<E>(ctx, topo.local_len(), Some(&topo.ids), None, &|f| {
            for (d, s, e) in received.iter().flatten() {
                f(d - start, *s, e.clone());
            }
            Ok(())
        })?;
        let set = Rc::new(set);
        *self.inn.borrow_mut() = Some(Rc::clone(&set));
        Ok(set)
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
