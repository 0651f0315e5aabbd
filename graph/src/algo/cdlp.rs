//! Community detection by label propagation (Graphalytics CDLP): labels start as the
//! vertex ids; in each synchronous round every vertex takes the most frequent label among
//! its neighbours — in- and out-neighbours for directed graphs, each edge counting once —
//! the smallest on ties; a vertex without neighbours keeps its label.
//!
//! Each round all-gathers the labels (8 bytes per vertex per worker), then every worker
//! relabels its vertices from its neighbour lists (edge chunks, spilled under a small
//! budget and read back one at a time).

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use super::{all_dense, for_each_list, neighbor_chunks};
use crate::Graph;

/// CDLP labels of every local vertex after `iterations` rounds.
pub fn cdlp<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    iterations: usize,
) -> Result<Vec<u64>> {
    let topo = &g.topo;
    let lists = neighbor_chunks(ctx, g, false)?;
    // Local labels, the gathered ones (and the gather's parts while they are copied).
    let _state = ctx.reserve(topo.local_len() * 8 + topo.len() * 16)?;
    let mut labels: Vec<u64> = topo.local_ids().to_vec();
    let mut buf: Vec<u64> = Vec::new();
    for _ in 0..iterations {
        ctx.check()?;
        let all = all_dense(ctx, topo, &labels)?;
        for_each_list(ctx, &lists, |l, nb| {
            if nb.is_empty() {
                return;
            }
            buf.clear();
            buf.extend(nb.iter().map(|&t| all[t as usize]));
            buf.sort_unstable();
            let (mut best, mut best_n) = (buf[0], 0usize);
            let mut i = 0;
            while i < buf.len() {
                let mut j = i + 1;
                while j < buf.len() && buf[j] == buf[i] {
                    j += 1;
                }
                if j - i > best_n {
                    best = buf[i];
                    best_n = j - i;
                }
                i = j;
            }
            labels[l] = best;
        })?;
    }
    ctx.blocks().remove_dataset(lists.dataset);
    Ok(labels)
}
