//! k-core decomposition: the core number of every vertex on the undirected simple graph
//! (direction, self-loops and duplicate edges ignored).
//!
//! Distributed h-index iteration (Lü et al.; Montresor et al.): estimates start at the
//! degree; each round a vertex takes the h-index of its neighbours' estimates (never
//! increasing). The fixpoint is the core number. Rounds all-gather the estimates and
//! recompute only vertices with a neighbour that changed.

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use super::{all_dense, neighbors};
use crate::pregel::global_sum;
use crate::Graph;

/// Core number of every local vertex.
pub fn kcore<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>) -> Result<Vec<u64>> {
    let topo = &g.topo;
    let (offsets, targets) = neighbors(ctx, g, true)?;
    let n = topo.local_len();
    let _state = ctx.reserve(offsets.len() * 8 + targets.len() * 4 + topo.len() * 8)?;
    let mut core: Vec<u32> = (0..n)
        .map(|l| (offsets[l + 1] - offsets[l]) as u32)
        .collect();
    let mut prev: Option<Vec<u32>> = None;
    let mut count: Vec<u32> = Vec::new();
    loop {
        ctx.check()?;
        let all = all_dense(ctx, topo, &core)?;
        let mut changed = 0u64;
        for l in 0..n {
            let nb = &targets[offsets[l]..offsets[l + 1]];
            if let Some(p) = &prev {
                // Nothing around `l` moved since the last round: its h-index is the same.
                if nb.iter().all(|&t| p[t as usize] == all[t as usize]) {
                    continue;
                }
            }
            let k = core[l] as usize;
            // h-index capped at the current estimate: counts of min(value, k).
            count.clear();
            count.resize(k + 1, 0);
            for &t in nb {
                count[(all[t as usize] as usize).min(k)] += 1;
            }
            let mut at_least = 0u32;
            let mut h = k;
            while h > 0 {
                at_least += count[h];
                if at_least as usize >= h {
                    break;
                }
                h -= 1;
            }
            if (h as u32) < core[l] {
                core[l] = h as u32;
                changed += 1;
            }
        }
        prev = Some(all);
        if global_sum(ctx, "kcore-changed", changed)? == 0 {
            break;
        }
    }
    Ok(core.into_iter().map(u64::from).collect())
}
