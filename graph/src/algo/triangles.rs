//! Triangle counting and the local clustering coefficient, on the undirected simple graph
//! (LCC of directed graphs counts directed edges among neighbours, as Graphalytics does).
//!
//! Every worker contributes its edges as canonical pairs `(lo, hi)` with a two-bit mask of
//! the directions present; the pairs are all-gathered (each worker then holds the simple
//! graph, `≈ 12 B` per undirected edge) and oriented from lower to higher (degree, index)
//! rank, so each vertex keeps at most `O(√E)` out-neighbours. Each worker enumerates the
//! triangles whose lowest-ranked vertex it owns by merging sorted lists, adds per-vertex
//! counts to dense accumulators, and one reduce-scatter brings them to the owners.

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use super::sum_dense;
use crate::pregel::global_sum;
use crate::Graph;

/// Triangle counts: the total, and per local vertex.
#[derive(Clone, Debug, PartialEq)]
pub struct TriangleCounts {
    /// Triangles in the graph.
    pub total: u64,
    /// Triangles through each local vertex.
    pub per_vertex: Vec<u64>,
}

/// The oriented simple graph, replicated on every worker.
struct Oriented {
    /// CSR over global indexes: higher-ranked neighbours, sorted by index.
    offsets: Vec<usize>,
    /// `(neighbour, direction mask)`: bit 0 = edge from the vertex to the neighbour exists,
    /// bit 1 = edge from the neighbour to the vertex.
    adj: Vec<(u32, u8)>,
    /// Degree in the simple graph.
    degree: Vec<u32>,
}

fn oriented<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>) -> Result<Oriented> {
    let topo = &g.topo;
    let start = topo.start();
    let mut pairs: Vec<(u32, u32, u8)> = Vec::with_capacity(g.out.edges as usize);
    g.for_each_chunk(ctx, &g.out, |chunk| {
        for i in 0..chunk.vertices() {
            let s = start + chunk.first + i as u32;
            for &t in chunk.edges(i).0 {
                if s < t {
                    pairs.push((s, t, 1));
                } else if t < s {
                    pairs.push((t, s, 2));
                }
            }
        }
        Ok(())
    })?;
    let mut all = if topo.peers == 1 {
        pairs
    } else {
        let parts = ctx.all_gather("triangles-pairs", pairs)?;
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            all.extend(p);
        }
        all
    };
    all.sort_unstable_by_key(|&(a, b, _)| (a, b));
    // Merge duplicates, OR-ing the direction bits.
    let mut merged: Vec<(u32, u32, u8)> = Vec::with_capacity(all.len());
    for (a, b, m) in all {
        match merged.last_mut() {
            Some(last) if last.0 == a && last.1 == b => last.2 |= m,
            _ => merged.push((a, b, m)),
        }
    }
    let total = topo.len();
    // The replicated simple graph (tails, adjacency, degrees) and the merge buffer.
    let _state = ctx.reserve(merged.len() * 20 + total * 12)?;
    let mut degree = vec![0u32; total];
    for &(a, b, _) in &merged {
        degree[a as usize] += 1;
        degree[b as usize] += 1;
    }
    let rank_lt = |a: u32, b: u32| (degree[a as usize], a) < (degree[b as usize], b);
    let mut count = vec![0usize; total + 1];
    for &(a, b, _) in &merged {
        let from = if rank_lt(a, b) { a } else { b };
        count[from as usize + 1] += 1;
    }
    for i in 0..total {
        count[i + 1] += count[i];
    }
    let offsets = count.clone();
    let mut fill = count;
    let mut adj = vec![(0u32, 0u8); merged.len()];
    for (a, b, m) in merged {
        // Mask relative to the oriented edge's tail.
        let (from, to, mask) = if rank_lt(a, b) {
            (a, b, m)
        } else {
            (b, a, ((m & 1) << 1) | (m >> 1))
        };
        adj[fill[from as usize]] = (to, mask);
        fill[from as usize] += 1;
    }
    // `merged` was sorted by (lo, hi): lists whose tail is the lower index are sorted, but
    // tails that are the higher index received theirs out of order. Sort each list.
    for v in 0..total {
        adj[offsets[v]..offsets[v + 1]].sort_unstable_by_key(|&(t, _)| t);
    }
    Ok(Oriented {
        offsets,
        adj,
        degree,
    })
}

/// Per-vertex triangle counts and LCC numerators (directed edges among neighbours) for
/// this worker's vertices, and the global triangle total.
fn count<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
) -> Result<(u64, Vec<u64>, Vec<u64>, Vec<u32>)> {
    let topo = &g.topo;
    let o = oriented(ctx, g)?;
    let total = topo.len();
    let _counts = ctx.reserve(total * 16)?;
    let mut tri = vec![0u64; total];
    let mut num = vec![0u64; total];
    let mut found = 0u64;
    let (lo, hi) = (topo.start() as usize, topo.starts[topo.me + 1] as usize);
    for u in lo..hi {
        let nu = &o.adj[o.offsets[u]..o.offsets[u + 1]];
        for &(v, m_uv) in nu {
            let nv = &o.adj[o.offsets[v as usize]..o.offsets[v as usize + 1]];
            // Merge-intersect N+(u) and N+(v).
            let (mut i, mut j) = (0, 0);
            while i < nu.len() && j < nv.len() {
                let (a, m_uw) = nu[i];
                let (b, m_vw) = nv[j];
                if a < b {
                    i += 1;
                } else if b < a {
                    j += 1;
                } else {
                    let w = a as usize;
                    found += 1;
                    tri[u] += 1;
                    tri[v as usize] += 1;
                    tri[w] += 1;
                    num[u] += u64::from(m_vw.count_ones());
                    num[v as usize] += u64::from(m_uw.count_ones());
                    num[w] += u64::from(m_uv.count_ones());
                    i += 1;
                    j += 1;
                }
            }
        }
    }
    let found = global_sum(ctx, "triangles-total", found)?;
    let tri = sum_dense(ctx, topo, &tri, |a, b| *a += b)?;
    let num = sum_dense(ctx, topo, &num, |a, b| *a += b)?;
    let degree = o.degree[lo..hi].to_vec();
    Ok((found, tri, num, degree))
}

/// Triangles in the undirected simple graph: the total and per local vertex.
pub fn triangle_count<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
) -> Result<TriangleCounts> {
    let (total, per_vertex, _, _) = count(ctx, g)?;
    Ok(TriangleCounts { total, per_vertex })
}

/// Local clustering coefficient of every local vertex (Graphalytics LCC): the edges among
/// a vertex's distinct neighbours (directed edges, for directed graphs) over the number of
/// possible ones; 0 for fewer than two neighbours.
pub fn lcc<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>) -> Result<Vec<f64>> {
    let (_, _, num, degree) = count(ctx, g)?;
    Ok(num
        .iter()
        .zip(&degree)
        .map(|(&t, &d)| {
            if d < 2 {
                0.0
            } else {
                t as f64 / (f64::from(d) * f64::from(d - 1))
            }
        })
        .collect())
}
