//! Strongly connected components: every vertex labelled with the smallest vertex id of its
//! component (for undirected graphs, the weakly connected components).
//!
//! The coloring algorithm (Orzan; Salihoglu & Widom's Pregel formulation), repeated until
//! every vertex is assigned:
//! 1. forward: every remaining vertex takes the smallest id that reaches it within the
//!    remaining graph (min-propagation along out-edges);
//! 2. backward: each vertex whose color is its own id is a root; the remaining vertices of
//!    its color that reach it (propagation along in-edges) form its SCC, labelled with the
//!    root's id — the smallest id of the SCC, since every member reaches the root;
//! 3. those vertices leave the graph.

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use crate::graph::EdgeSet;
use crate::pregel::{bitmap, global_sum, set_bit, Outbox};
use crate::Graph;

/// SCC label of every local vertex.
pub fn scc<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>) -> Result<Vec<u64>> {
    if !g.topo.directed {
        return super::wcc(ctx, g);
    }
    let topo = &g.topo;
    let n = topo.local_len();
    let ids = topo.local_ids();
    let inn = g.in_edges(ctx)?;
    let _state = ctx.reserve(n * 16 + topo.len() * 16)?;
    const NONE: u64 = u64::MAX;
    let mut label = vec![NONE; n];
    let mut color = vec![NONE; n];
    let mut outbox = Outbox::<u64>::new(topo);
    loop {
        let remaining = label.iter().filter(|&&l| l == NONE).count() as u64;
        if global_sum(ctx, "scc-remaining", remaining)? == 0 {
            break;
        }
        // Forward: min id reaching each remaining vertex.
        let mut active = bitmap(n);
        for l in 0..n {
            if label[l] == NONE {
                color[l] = ids[l];
                set_bit(&mut active, l);
            }
        }
        let initial = color.clone();
        propagate(
            ctx,
            g,
            &g.out,
            &mut outbox,
            &mut active,
            initial,
            &|a, b| a.min(b),
            |l, c| {
                if label[l] == NONE && c < color[l] {
                    color[l] = c;
                    true
                } else {
                    false
                }
            },
        )?;
        // Backward from the roots, within each color.
        let mut active = bitmap(n);
        for l in 0..n {
            if label[l] == NONE && color[l] == ids[l] {
                label[l] = color[l];
                set_bit(&mut active, l);
            }
        }
        // Messages carry the sender's color; a vertex joins when it matches its own. All
        // colors reaching a vertex backwards are <= its own, so combining by max keeps the
        // matching one.
        let initial = color.clone();
        propagate(
            ctx,
            g,
            &inn,
            &mut outbox,
            &mut active,
            initial,
            &|a, b| a.max(b),
            |l, c| {
                if label[l] == NONE && color[l] == c {
                    label[l] = c;
                    true
                } else {
                    false
                }
            },
        )?;
    }
    Ok(label)
}

/// Rounds of: active vertices send `value[v]` along `set`'s edges (combined by `combine`);
/// `accept(local, message)` decides whether a receiver becomes active. Until no messages.
#[allow(clippy::too_many_arguments)]
fn propagate<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    set: &EdgeSet,
    outbox: &mut Outbox<u64>,
    active: &mut Vec<u64>,
    mut value: Vec<u64>,
    combine: &impl Fn(u64, u64) -> u64,
    mut accept: impl FnMut(usize, u64) -> bool,
) -> Result<()> {
    let topo = &g.topo;
    let n = topo.local_len();
    // `value[v]` is what `v` sends: updated when it accepts a message.
    loop {
        ctx.check()?;
        g.for_each_active(ctx, set, active, |v, targets, _| {
            let m = value[v as usize];
            for &t in targets {
                outbox.send(topo, t, m, combine);
            }
        })?;
        if global_sum(ctx, "scc-sent", outbox.len() as u64)? == 0 {
            return Ok(());
        }
        *active = bitmap(n);
        for (l, m) in outbox.deliver(ctx, topo, combine)? {
            let l = l as usize;
            if accept(l, m) {
                value[l] = m;
                set_bit(active, l);
            }
        }
    }
}
