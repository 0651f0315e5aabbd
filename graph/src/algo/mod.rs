//! The algorithm library. Each algorithm runs on every worker (collective) and returns the
//! values of this worker's vertices, aligned with [`Graph::local_ids`]; each has a plain
//! sequential twin in [`crate::reference`] that the tests compare against.

mod bfs;
mod cdlp;
mod degree;
mod kcore;
mod pagerank;
mod scc;
mod sssp;
mod triangles;
mod wcc;

pub use bfs::{bfs, path_exists};
pub use cdlp::cdlp;
pub use degree::degrees;
pub use kcore::kcore;
pub use pagerank::{pagerank, PageRankOptions};
pub use scc::scc;
pub use sssp::sssp;
pub use triangles::{lcc, triangle_count, TriangleCounts};
pub use wcc::wcc;

use morpheus_engine::{BlockId, Context, Data, Error, Result};

use crate::graph::{build_chunks, EdgeChunk, EdgeSet, Topology};
#[allow(unused_imports)]
use crate::Graph;

/// Depth of a vertex BFS cannot reach (Graphalytics: `i64::MAX`).
pub const UNREACHABLE: i64 = i64::MAX;

/// Reduce-scatter of a dense vector over all global vertices: element-wise sums (by `add`)
/// of every worker's `acc`, returned for this worker's range only. One exchange, in pieces
/// of 64 Ki elements.
pub(crate) fn sum_dense<T: Data + Copy>(
    ctx: &Context<'_>,
    topo: &Topology,
    acc: &[T],
    add: impl Fn(&mut T, T),
) -> Result<Vec<T>> {
    let (lo, hi) = (topo.start() as usize, topo.starts[topo.me + 1] as usize);
    let mut mine = acc[lo..hi].to_vec();
    if topo.peers == 1 {
        return Ok(mine);
    }
    let mut out: Vec<Vec<(u32, Vec<T>)>> = (0..topo.peers).map(|_| Vec::new()).collect();
    for (w, batch) in out.iter_mut().enumerate() {
        if w == topo.me {
            continue;
        }
        let (a, b) = (topo.starts[w] as usize, topo.starts[w + 1] as usize);
        batch.extend(pieces(&acc[a..b]));
    }
    for (off, piece) in ctx.exchange("graph-sum", out)? {
        for (m, x) in mine[off as usize..].iter_mut().zip(piece) {
            add(m, x);
        }
    }
    Ok(mine)
}

const PIECE: usize = 1 << 16;

/// `data` cut into pieces tagged with their offset.
fn pieces<T: Copy>(data: &[T]) -> impl Iterator<Item = (u32, Vec<T>)> + '_ {
    data.chunks(PIECE)
        .enumerate()
        .map(|(i, c)| ((i * PIECE) as u32, c.to_vec()))
}

/// Every worker's local vector concatenated in global order (an all-gather of vertex
/// state: `|V|` elements per worker).
pub(crate) fn all_dense<T: Data + Copy>(
    ctx: &Context<'_>,
    topo: &Topology,
    local: &[T],
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    all_dense_into(ctx, topo, local.to_vec(), &mut out)?;
    Ok(out)
}

/// [`all_dense`] of a vector the caller gives up, into `out` (iterative algorithms gather
/// a vector of every vertex each superstep and reuse its allocation): `local` is sent as
/// it is, and on one worker simply moved into `out`.
pub(crate) fn all_dense_into<T: Data + Copy>(
    ctx: &Context<'_>,
    topo: &Topology,
    local: Vec<T>,
    out: &mut Vec<T>,
) -> Result<()> {
    if topo.peers == 1 {
        *out = local;
        return Ok(());
    }
    let parts = ctx.all_gather("graph-all-dense", local)?;
    out.clear();
    out.reserve(topo.len());
    for p in parts {
        out.extend(p);
    }
    Ok(())
}

/// Local symmetric adjacency as edge chunks in the worker's block manager (so it spills
/// like the graph's own): for each local vertex, the global indexes of its out- and (for
/// directed graphs) in-neighbours, every edge counting (a neighbour that is both an in- and
/// an out-neighbour appears twice, and a self-loop is kept). With `sorted`, each list is in
/// ascending neighbour id, so repeats of a neighbour are adjacent. Read it with
/// [`for_each_list`]; drop it with `remove_dataset`.
pub(crate) fn neighbor_chunks<V: morpheus_rdd::Item, E: morpheus_rdd::Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    sorted: bool,
) -> Result<EdgeSet> {
    let inn = if g.topo.directed {
        Some(g.in_edges(ctx)?)
    } else {
        None
    };
    let order = sorted.then_some(&g.topo.ids[..]);
    build_chunks::<()>(ctx, g.topo.local_len(), order, None, &|f| {
        for set in std::iter::once(&*g.out).chain(inn.as_deref()) {
            g.for_each_chunk(ctx, set, |chunk| {
                for i in 0..chunk.vertices() {
                    let s = chunk.first + i as u32;
                    chunk.edges(i).0.iter().for_each(|&t| f(s, t, ()));
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// Calls `f(local vertex, neighbours)` for every local vertex of a [`neighbor_chunks`] set,
/// in order, one chunk pinned at a time.
pub(crate) fn for_each_list(
    ctx: &Context<'_>,
    set: &EdgeSet,
    mut f: impl FnMut(usize, &[u32]),
) -> Result<()> {
    for c in 0..set.chunks() {
        let block = ctx
            .blocks()
            .get::<EdgeChunk<()>>(BlockId::new(set.dataset, c as u32))?
            .ok_or_else(|| Error::Job(format!("neighbour partition {c} is missing")))?;
        let chunk = &block[0];
        for i in 0..chunk.vertices() {
            f(chunk.first as usize + i, chunk.edges(i).0);
        }
    }
    Ok(())
}
