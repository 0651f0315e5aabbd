//! Loading a graph from a store: the topology (the id table) and the out-edges, scanned
//! from each worker's shards in ranges of sources whose staging fits the worker's budget.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::Item;
use morpheus_storage::Store;

use super::chunks::{build_chunks, cut_chunks, prefix_sums, split_ranges, staging_limit};
use super::chunks::{ChunkSink, Csr};
use super::{exchange_by, EdgeSet, Graph, Topology};
use crate::idmap::IdMap;

fn store_err(e: morpheus_storage::Error) -> Error {
    Error::Job(format!("graph store: {e}"))
}

/// Edges as a store scan delivers them: grouped into runs of one source each (a source's
/// edges are contiguous in each block of its chain), in shard order rather than source
/// order. Collected in one pass, four bytes per edge (plus the value), instead of staging
/// (source, target, value) triples and passing over them twice.
pub(super) struct Runs<E> {
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

/// Builds the topology from this worker's (sorted, distinct) vertex ids.
pub(super) fn build_topology(
    ctx: &Context<'_>,
    local: Vec<u64>,
    directed: bool,
) -> Result<Topology> {
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
    tracing::debug!(
        vertices = total,
        map_bytes = map.bytes(),
        peak_rss = morpheus_engine::JobMetrics::peak_rss_bytes(),
        "graph topology"
    );
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

pub(super) fn missing(id: u64) -> Error {
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

/// Staging bytes per edge of an aligned load: the scanned runs (target and value) and the
/// CSR they are copied into (target and optional value).
fn run_bytes_per_edge<E>() -> usize {
    8 + std::mem::size_of::<E>() + std::mem::size_of::<Option<E>>()
}

/// Staging bytes per source of an aligned load: about one run (16 B), degree, offsets and
/// fill cursor.
const RUN_BYTES_PER_VERTEX: usize = 40;

impl<E: Item> Graph<(), E> {
    /// Loads the store, turning each edge weight into an edge value with `value`. Directed
    /// graphs get their in-edges too (built by exchanges).
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
        let n = topo.local_len();
        let out = if aligned {
            load_aligned(ctx, store, &mine, &topo, value)?
        } else {
            load_exchanged(ctx, store, &mine, &topo, value)?
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
        tracing::debug!(
            peak_rss = morpheus_engine::JobMetrics::peak_rss_bytes(),
            "graph out-edges loaded"
        );
        g.in_edges(ctx)?;
        tracing::debug!(
            peak_rss = morpheus_engine::JobMetrics::peak_rss_bytes(),
            "graph in-edges built"
        );
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

/// Out-edges of a worker whose vertices are exactly its shards' (the store's placement):
/// scans of the store into runs (a source's edges are contiguous in each of its blocks),
/// one scan when the whole staging fits, otherwise a counting scan and then one scan per
/// range of sources. The store keeps each source's destinations in ascending id order,
/// and the scan checks, so the sort pass is skipped when nothing needs it.
fn load_aligned<E: Item>(
    ctx: &Context<'_>,
    store: &Store,
    mine: &[u32],
    topo: &Topology,
    value: impl Fn(f64) -> E + Copy,
) -> Result<EdgeSet> {
    let n = topo.local_len();
    let mut expected = 0u64;
    for &s in mine {
        expected += store.edge_entries(s).map_err(store_err)?;
    }
    let (per_edge, limit) = (run_bytes_per_edge::<E>(), staging_limit(ctx));
    let ranges = if expected as usize * per_edge + n * RUN_BYTES_PER_VERTEX <= limit {
        vec![(0, n, expected as usize)]
    } else {
        let degree = out_degrees(ctx, store, mine, topo)?;
        split_ranges(&degree, per_edge, RUN_BYTES_PER_VERTEX, limit)
            .into_iter()
            .map(|(lo, hi)| {
                let edges = degree[lo..hi].iter().map(|&d| d as usize).sum();
                (lo, hi, edges)
            })
            .collect()
    };
    tracing::debug!(ranges = ranges.len(), edges = expected, "graph load");
    let mut sink = ChunkSink::new(ctx);
    for (lo, hi, edges) in ranges {
        let _staging = ctx.reserve(edges * per_edge + (hi - lo) * RUN_BYTES_PER_VERTEX)?;
        let runs = scan_runs(store, mine, topo, (lo, hi), edges, value)?;
        let unsorted = Cell::new(runs.unsorted);
        let csr = runs.into_csr(hi - lo);
        cut_chunks(
            ctx,
            &mut sink,
            lo,
            hi - lo,
            csr,
            Some(&topo.ids),
            Some(&unsorted),
        )?;
    }
    sink.finish::<E>(ctx)
}

/// Out-degree of each local source (edges to ids that are not vertices included), from a
/// scan that looks up one id per run.
fn out_degrees(
    ctx: &Context<'_>,
    store: &Store,
    mine: &[u32],
    topo: &Topology,
) -> Result<Vec<u32>> {
    let _degrees = ctx.reserve(topo.local_len() * 4)?;
    let start = topo.start();
    let mut degree = vec![0u32; topo.local_len()];
    let (mut last, mut at) = (None, None);
    for &s in mine {
        store
            .scan_edge_lists(s, |src, dsts, _| {
                if last != Some(src) {
                    last = Some(src);
                    at = topo.map.get(src).map(|g| (g - start) as usize);
                }
                if let Some(d) = at.and_then(|l| degree.get_mut(l)) {
                    *d += dsts.len() as u32;
                }
            })
            .map_err(store_err)?;
    }
    Ok(degree)
}

/// The runs of local sources `lo..hi` (numbered from `lo`) from a scan of the worker's
/// shards, with room for `edges` edges.
fn scan_runs<E: Item>(
    store: &Store,
    mine: &[u32],
    topo: &Topology,
    (lo, hi): (usize, usize),
    edges: usize,
    value: impl Fn(f64) -> E + Copy,
) -> Result<Runs<E>> {
    let start = topo.start();
    let mut runs = Runs::<E>::with_capacity(edges);
    let zero_sized = std::mem::size_of::<E>() == 0;
    let (mut last, mut last_dst, mut keep) = (None, 0u64, false);
    let mut stray = None;
    for &s in mine {
        store
            .scan_edge_lists(s, |src, dsts, weights| {
                if last != Some(src) {
                    last = Some(src);
                    let local = topo.map.get(src).map_or_else(
                        || {
                            // Only a damaged store has edges of a missing vertex; they go
                            // to vertex 0 and the load fails below.
                            stray.get_or_insert(src);
                            0
                        },
                        |g| (g - start) as usize,
                    );
                    keep = (lo..hi).contains(&local);
                    if keep {
                        runs.starts.push(((local - lo) as u32, runs.targets.len()));
                    }
                    last_dst = 0;
                }
                if !keep {
                    return;
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
    Ok(runs)
}

/// Out-edges of a worker whose vertices are not its shards' (the worker count does not
/// divide the shard count): every edge is sent to its source's owner, then built in one
/// range. (Its staging, 24 B per edge, is not split into ranges.)
fn load_exchanged<E: Item>(
    ctx: &Context<'_>,
    store: &Store,
    mine: &[u32],
    topo: &Topology,
    value: impl Fn(f64) -> E + Copy,
) -> Result<EdgeSet> {
    let (start, peers) = (topo.start(), topo.peers);
    let mut raw = Vec::new();
    for &s in mine {
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
    build_chunks::<E>(ctx, topo.local_len(), Some(&topo.ids), None, &|f| {
        raw.iter().for_each(|&(s, d, w)| f(s, d, value(w)));
        Ok(())
    })
}
