//! Weakly connected components: every vertex labelled with the smallest vertex id of its
//! component (edge direction ignored).
//!
//! Each worker runs union-find over its own edges (a parent array over the global dense
//! indexes, path halving, the smaller index becomes the root), which needs no
//! communication. The forests are then merged by recursive doubling: in each round a worker
//! swaps its forest with a partner and unions the partner's in (⌈log₂ workers⌉ rounds, plus
//! one before and one after when the worker count is not a power of two), so every worker
//! ends with the whole forest and no worker waits while another labels the graph. A forest
//! travels as its largest tree, a bitmap of members, plus `(vertex, root)` links for the
//! rest: on skewed graphs one giant component holds most vertices, and the receiver unions
//! only the giant's members that its own giant lacks, so a merge costs a few bitmap passes
//! instead of a union per vertex.
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
use crate::pregel::{bitmap, get_bit, set_bit};
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

/// A worker's forest as it crosses the exchange: the largest tree as a bitmap of its
/// members with its root, and every other non-root vertex as a `(vertex, root)` link.
type Forest = (u32, Vec<u64>, Vec<(u32, u32)>);

/// Vertices sampled to guess the largest tree's root.
const SAMPLES: usize = 257;

/// Flattens the forest (every vertex then points at its root) and splits it into the
/// largest tree, guessed as the most common root of a sample of vertices, and links. A
/// parent's index is never above its child's (links point at the smaller root, path
/// halving at an ancestor), so in ascending order a vertex's parent already points at its
/// root when the vertex is reached.
fn forest(parent: &mut [u32]) -> Forest {
    let total = parent.len();
    let mut sample: Vec<u32> = (0..SAMPLES)
        .map(|i| i * total / SAMPLES)
        .filter(|&x| x < total)
        .map(|x| find(parent, x as u32))
        .collect();
    sample.sort_unstable();
    let giant = sample
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| run.len())
        .map_or(0, |run| run[0]);
    let mut bits = bitmap(total);
    let mut links = Vec::new();
    for x in 0..total {
        let p = parent[x];
        if p as usize == x {
            continue;
        }
        let r = parent[p as usize];
        parent[x] = r;
        if r == giant {
            set_bit(&mut bits, x);
        } else {
            links.push((x as u32, r));
        }
    }
    if total > 0 {
        set_bit(&mut bits, giant as usize);
    }
    (giant, bits, links)
}

/// Unions `theirs` (another worker's forest) into `parent`, whose own largest tree is
/// `our_giant` with `members`. Where the two largest trees share a vertex they are one
/// component, and only the members of theirs that ours lacks need a union: on skewed
/// graphs most vertices are in both.
///
/// Returns a member of the merged giant and the members known to be in it (both giants
/// where they met, else ours), which labelling uses to skip a `find` for each.
fn merge(
    parent: &mut [u32],
    (our_giant, mut members): (u32, Vec<u64>),
    theirs: Forest,
) -> (u32, Vec<u64>) {
    let (giant, bits, links) = theirs;
    if parent.is_empty() {
        return (our_giant, members);
    }
    let mut root = find(parent, giant);
    // A vertex in both giants joins them; after that, members of ours need nothing (and
    // where the giants are disjoint, `theirs & !ours` is all of theirs).
    let shared = members.iter().zip(&bits).position(|(a, b)| a & b != 0);
    if let Some(i) = shared {
        let x = i as u32 * 64 + (members[i] & bits[i]).trailing_zeros();
        let rx = find(parent, x);
        if rx != root {
            root = link(parent, rx, root);
        }
    }
    for (i, (&w, &o)) in bits.iter().zip(&members).enumerate() {
        let mut w = w & !o;
        while w != 0 {
            let x = i as u32 * 64 + w.trailing_zeros();
            w &= w - 1;
            let rx = find(parent, x);
            if rx != root {
                root = link(parent, rx, root);
            }
        }
    }
    // Consecutive links often name the same root: find it once per run of equal roots.
    let (mut last, mut last_root) = (u32::MAX, 0);
    for (x, r) in links {
        if r != last {
            (last, last_root) = (r, find(parent, r));
        }
        let rx = find(parent, x);
        if rx != last_root {
            last_root = link(parent, rx, last_root);
        }
    }
    if shared.is_some() {
        members.iter_mut().zip(&bits).for_each(|(m, b)| *m |= b);
    }
    (our_giant, members)
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
    // The giant as of this worker's last merge (a member, and members); the forest only
    // grows afterwards, so they stay in one component.
    let mut giant: Option<(u32, Vec<u64>)> = None;
    // One merge round: this worker sends its forest to `send_to` and unions in the one it
    // receives, if any (its own links are not needed for that, only its giant).
    let mut swap = |send_to: Option<usize>, parent: &mut Vec<u32>| -> Result<()> {
        ctx.check()?;
        let (our_giant, bits, links) = forest(parent);
        let mut out: Vec<Vec<Forest>> = vec![Vec::new(); peers];
        let members = match send_to {
            Some(w) => {
                out[w].push((our_giant, bits.clone(), links));
                bits
            }
            None => bits,
        };
        // At most one partner sends to a worker in a round.
        if let Some(theirs) = ctx.exchange("wcc-merge", out)?.pop() {
            giant = Some(merge(parent, (our_giant, members), theirs));
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
    label(ctx, topo, &mut parent, giant)
}

/// The smallest id of each local vertex's component, from the merged forest.
fn label(
    ctx: &Context<'_>,
    topo: &Topology,
    parent: &mut [u32],
    giant: Option<(u32, Vec<u64>)>,
) -> Result<Vec<u64>> {
    let (start, n, ids) = (topo.start(), topo.local_len(), &topo.ids[..]);
    let lo = start as usize;
    let roots: Vec<u32> = match giant {
        Some((g, members)) if n > 0 => {
            let root = find(parent, g);
            (start..start + n as u32)
                .map(|x| {
                    if get_bit(&members, x as usize) {
                        root
                    } else {
                        find(parent, x)
                    }
                })
                .collect()
        }
        _ => (start..start + n as u32).map(|x| find(parent, x)).collect(),
    };
    // An owned root's label is its own id (the smallest in this range), unless another
    // range holds a smaller one: those are kept here.
    let mut lowered: IntMap<u32, u64> = IntMap::default();
    let mut foreign: IntMap<u32, u64> = IntMap::default();
    if topo.peers > 1 {
        // This range's smallest id of each component rooted in a lower range (a root is
        // the smallest index of its component), to the root's owner.
        let mut questions: Vec<Vec<(u32, u64, u32)>> = vec![Vec::new(); topo.peers];
        let mut last = u32::MAX;
        for (i, &r) in roots.iter().enumerate() {
            // Runs of one root (the giant component's) are common: hash once per run.
            if r < start && r != last {
                last = r;
                if let std::collections::hash_map::Entry::Vacant(e) = foreign.entry(r) {
                    e.insert(ids[lo + i]);
                    questions[topo.owner(r)].push((r, ids[lo + i], topo.me as u32));
                }
            }
        }
        let asked = ctx.exchange("wcc-label", questions)?;
        for &(r, id, _) in &asked {
            if id < ids[r as usize] {
                let slot = lowered.entry(r).or_insert(id);
                *slot = (*slot).min(id);
            }
        }
        let mut replies: Vec<Vec<(u32, u64)>> = vec![Vec::new(); topo.peers];
        for (r, _, from) in asked {
            let label = lowered.get(&r).copied().unwrap_or(ids[r as usize]);
            replies[from as usize].push((r, label));
        }
        foreign.extend(ctx.exchange("wcc-label", replies)?);
    }
    let mut last = (u32::MAX, 0);
    Ok(roots
        .iter()
        .map(|&r| {
            if r != last.0 {
                let label = if r >= start {
                    lowered.get(&r).copied().unwrap_or(ids[r as usize])
                } else {
                    foreign[&r]
                };
                last = (r, label);
            }
            last.1
        })
        .collect())
}
