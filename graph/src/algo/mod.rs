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

use morpheus_engine::{Context, Data, Result};

use crate::graph::Topology;
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

/// Local symmetric adjacency: for each local vertex, the global indexes of its out- and
/// (for directed graphs) in-neighbours. With `simple`, each neighbour appears once and the
/// vertex itself not at all; otherwise every edge counts (a neighbour that is both an in- and
/// an out-neighbour appears twice). Returned as CSR (`offsets`, `targets`), in memory.
pub(crate) fn neighbors<V: morpheus_rdd::Item, E: morpheus_rdd::Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    simple: bool,
) -> Result<(Vec<usize>, Vec<u32>)> {
    let n = g.topo.local_len();
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut add = |set: &crate::graph::EdgeSet| {
        g.for_each_chunk(ctx, set, |chunk| {
            for i in 0..chunk.vertices() {
                lists[chunk.first as usize + i].extend_from_slice(chunk.edges(i).0);
            }
            Ok(())
        })
    };
    add(&g.out)?;
    if g.topo.directed {
        let inn = g.in_edges(ctx)?;
        add(&inn)?;
    }
    let start = g.topo.start();
    let mut offsets = Vec::with_capacity(n + 1);
    let mut targets = Vec::new();
    for (l, mut list) in lists.into_iter().enumerate() {
        offsets.push(targets.len());
        if simple {
            list.sort_unstable();
            list.dedup();
            let me = start + l as u32;
            list.retain(|&x| x != me);
        }
        targets.extend(list);
    }
    offsets.push(targets.len());
    Ok((offsets, targets))
}
