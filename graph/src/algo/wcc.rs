//! Weakly connected components: every vertex labelled with the smallest vertex id of its
//! component (edge direction ignored).
//!
//! Each worker runs union-find over its own edges (a parent array over the global dense
//! indexes, path halving, union by index), which needs no communication; the forests are
//! then merged pairwise in a tree (⌈log₂ workers⌉ rounds, each sending only the non-trivial
//! parent links); worker 0 labels every root with its component's smallest id and sends each
//! worker the labels of its range.

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use super::scatter_from_root;
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

#[inline]
fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        // The smaller index becomes the root: deterministic, and roots stay stable.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
    }
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
            let s = start + chunk.first + i as u32;
            for &t in chunk.edges(i).0 {
                union(&mut parent, s, t);
            }
        }
        Ok(())
    })?;
    let (me, peers) = (topo.me, topo.peers);
    // Tree merge: in round k, worker w (w % 2^(k+1) == 2^k) sends its links to w - 2^k.
    let mut step = 1;
    while step < peers {
        ctx.check()?;
        let mut out: Vec<Vec<(u32, u32)>> = vec![Vec::new(); peers];
        if me % (2 * step) == step {
            let links = &mut out[me - step];
            for x in 0..total as u32 {
                let r = find(&mut parent, x);
                if r != x {
                    links.push((x, r));
                }
            }
        }
        for (x, r) in ctx.exchange("wcc-merge", out)? {
            union(&mut parent, x, r);
        }
        step *= 2;
    }
    // Worker 0 holds the global forest: label roots with their smallest id, then scatter.
    let mut labels = Vec::new();
    if me == 0 {
        let mut label = vec![u64::MAX; total];
        for x in 0..total as u32 {
            let r = find(&mut parent, x) as usize;
            label[r] = label[r].min(topo.ids[x as usize]);
        }
        labels = (0..total as u32)
            .map(|x| label[find(&mut parent, x) as usize])
            .collect();
    }
    scatter_from_root(ctx, topo, &labels)
}
