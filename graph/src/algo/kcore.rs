//! k-core decomposition: the core number of every vertex on the undirected simple graph
//! (direction, self-loops and duplicate edges ignored).
//!
//! Distributed h-index iteration (Lü et al.; Montresor et al.): estimates start at the
//! degree; each round a vertex takes the h-index of its neighbours' estimates (never
//! increasing). The fixpoint is the core number. Rounds all-gather the estimates and
//! recompute only vertices with a neighbour that changed.

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use super::{all_dense, for_each_list, neighbor_chunks};
use crate::pregel::global_sum;
use crate::Graph;

/// Core number of every local vertex.
pub fn kcore<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>) -> Result<Vec<u64>> {
    let topo = &g.topo;
    // Lists in ascending neighbour id: repeats of a neighbour are adjacent, and each is
    // read once (`simple` below), the vertex itself never.
    let lists = neighbor_chunks(ctx, g, true)?;
    let n = topo.local_len();
    let start = topo.start() as usize;
    let simple = |l: usize, nb: &[u32]| simple_neighbors((start + l) as u32, nb).count();
    // Estimates, the gathered ones and the previous round's (and a gather's parts).
    let _state = ctx.reserve(n * 4 + topo.len() * 12)?;
    let mut core: Vec<u32> = vec![0; n];
    for_each_list(ctx, &lists, |l, nb| core[l] = simple(l, nb) as u32)?;
    let mut prev: Option<Vec<u32>> = None;
    let mut count: Vec<u32> = Vec::new();
    loop {
        ctx.check()?;
        let all = all_dense(ctx, topo, &core)?;
        let mut changed = 0u64;
        for_each_list(ctx, &lists, |l, nb| {
            if let Some(p) = &prev {
                // Nothing around `l` moved since the last round: its h-index is the same.
                if nb.iter().all(|&t| p[t as usize] == all[t as usize]) {
                    return;
                }
            }
            let k = core[l] as usize;
            // h-index capped at the current estimate: counts of min(value, k).
            count.clear();
            count.resize(k + 1, 0);
            for t in simple_neighbors((start + l) as u32, nb) {
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
        })?;
        prev = Some(all);
        if global_sum(ctx, "kcore-changed", changed)? == 0 {
            break;
        }
    }
    ctx.blocks().remove_dataset(lists.dataset);
    Ok(core.into_iter().map(u64::from).collect())
}

/// The neighbours of `me` in a list sorted by id, each once, `me` left out.
fn simple_neighbors(me: u32, nb: &[u32]) -> impl Iterator<Item = u32> + '_ {
    let mut prev = None;
    nb.iter().copied().filter(move |&t| {
        let fresh = t != me && prev != Some(t);
        prev = Some(t);
        fresh
    })
}
