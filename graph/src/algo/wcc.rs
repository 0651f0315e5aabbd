//! Weakly connected components: every vertex labelled with the smallest vertex id of its
//! component (edge direction ignored).
//!
//! Each worker runs union-find over its own edges (a parent array over the global dense
//! indexes, path halving, the smaller index becomes the root), which needs no
//! communication. The forests are then merged by recursive doubling: in each round a worker
//! swaps its non-trivial parent links with a partner and unions the partner's in
//! (⌈log₂ workers⌉ rounds, plus one before and one after when the worker count is not a
//! power of two), so every worker ends with the whole forest and no worker waits while
//! another labels the graph.
//!
//! Labels: a root is its component's smallest *index*. Indexes ascend with ids within each
//! worker's range, so the root's id is the smallest in the root owner's range, and the
//! first member a worker meets in its own range is the smallest there. Workers send those
//! firsts to the roots' owners, which reply with the minimum (two small exchanges: one
//! entry per component that spans workers).

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use morpheus_storage::hash::IntMap;

use crate::graph::Topology;
use crate::Graph;

#[inline]
fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

/// Joins the trees of roots `ra` and `rb`; returns the root of the union (the smaller
/// index: deterministic, and roots stay stable).
#[inline]
fn link(parent: &mut [u32], ra: u32, rb: u32) -> u32 {
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    parent[hi as usize] = lo;
    lo
}

/// `(vertex, root)` for every vertex that is not a root.
fn links(parent: &mut [u32]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for x in 0..parent.len() as u32 {
        let r = find(parent, x);
        if r != x {
            out.push((x, r));
        }
    }
    out
}

/// Component label (smallest id in the component) of every local vertex.
pub fn wcc<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>) -> Result<Vec<u64>> {
    let topo = &g.topo;
    let total = topo.len();
    let _state = ctx.reserve(total * 4 + total / 2 * 8)?;
    let mut parent: Vec<u32> = (0..total as u32).collect();
    let start = topo.start();
    g.for_each_chunk(ctx, &g.out, |chunk| {
        for i in 0..chunk.vertices() {
            // The source's root, kept across its edges: a link either keeps it or replaces
            // it with the other root, and finds never move a root.
            let mut rs = find(&mut parent, start + chunk.first + i as u32);
            for &t in chunk.edges(i).0 {
                let rt = find(&mut parent, t);
                if rt != rs {
                    rs = link(&mut parent, rs, rt);
                }
            }
        }
        Ok(())
    })?;
    let (me, peers) = (topo.me, topo.peers);
    // Recursive doubling over the largest power of two `q <= peers`; workers from `q` up
    // first hand their links to `w - q`, and get the merged forest back at the end.
    let q = if peers.is_power_of_two() {
        peers
    } else {
        peers.next_power_of_two() / 2
    };
    let swap = |send_to: Option<usize>, parent: &mut Vec<u32>| -> Result<()> {
        ctx.check()?;
        let mut out: Vec<Vec<(u32, u32)>> = vec![Vec::new(); peers];
        if let Some(w) = send_to {
            out[w] = links(parent);
        }
        // Consecutive links mostly name the same root (the giant component's): find it
        // once per run of equal roots.
        let (mut last, mut last_root) = (u32::MAX, 0);
        for (x, r) in ctx.exchange("wcc-merge", out)? {
            if r != last {
                (last, last_root) = (r, find(parent, r));
            }
            let rx = find(parent, x);
            if rx != last_root {
                last_root = link(parent, rx, last_root);
            }
        }
        Ok(())
    };
    if q < peers {
        swap((me >= q).then(|| me - q), &mut parent)?;
    }
    let mut step = 1;
    while step < q {
        swap((me < q).then_some(me ^ step), &mut parent)?;
        step *= 2;
    }
    if q < peers {
        swap((me + q < peers).then_some(me + q), &mut parent)?;
    }
    label(ctx, topo, &mut parent)
}

/// The smallest id of each local vertex's component, from the merged forest.
fn label(ctx: &Context<'_>, topo: &Topology, parent: &mut [u32]) -> Result<Vec<u64>> {
    let (start, n, ids) = (topo.start(), topo.local_len(), &topo.ids[..]);
    let lo = start as usize;
    let roots: Vec<u32> = (start..start + n as u32).map(|x| find(parent, x)).collect();
    // Owned roots start from their own id (the smallest in this range).
    let mut own: Vec<u64> = ids[lo..lo + n].to_vec();
    let mut foreign: IntMap<u32, u64> = IntMap::default();
    if topo.peers > 1 {
        // This range's smallest id of each component rooted in a lower range (a root is
        // the smallest index of its component), to the root's owner.
        let mut questions: Vec<Vec<(u32, u64, u32)>> = vec![Vec::new(); topo.peers];
        for (i, &r) in roots.iter().enumerate() {
            if r < start {
                if let std::collections::hash_map::Entry::Vacant(e) = foreign.entry(r) {
                    e.insert(ids[lo + i]);
                    questions[topo.owner(r)].push((r, ids[lo + i], topo.me as u32));
                }
            }
        }
        let asked = ctx.exchange("wcc-label", questions)?;
        for &(r, id, _) in &asked {
            let slot = &mut own[(r - start) as usize];
            *slot = (*slot).min(id);
        }
        let mut replies: Vec<Vec<(u32, u64)>> = vec![Vec::new(); topo.peers];
        for (r, _, from) in asked {
            replies[from as usize].push((r, own[(r - start) as usize]));
        }
        foreign.extend(ctx.exchange("wcc-label", replies)?);
    }
    let mut last = (u32::MAX, 0);
    Ok(roots
        .iter()
        .map(|&r| {
            if r >= start {
                own[(r - start) as usize]
            } else {
                if r != last.0 {
                    last = (r, foreign[&r]);
                }
                last.1
            }
        })
        .collect())
}
