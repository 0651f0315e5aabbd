//! Breadth-first search: the depth (hops along out-edges) of every vertex from a source,
//! `UNREACHABLE` (`i64::MAX`) where there is no path.
//!
//! Level-synchronous and direction-optimizing (Beamer et al.): while the frontier is small,
//! frontier vertices push along out-edges (top-down; remote discoveries travel as one batch
//! of vertex indexes per worker); when the frontier's edges outnumber a fraction of the
//! unexplored edges, every unvisited vertex instead looks for a parent among its
//! in-neighbours in the (all-gathered) frontier bitmap and stops at the first (bottom-up).

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::Item;

use super::UNREACHABLE;
use crate::graph::{for_each_bit, Topology};
use crate::pregel::{bitmap, get_bit, global_sum, set_bit};
use crate::Graph;

/// Switch to bottom-up when frontier edges exceed unexplored edges / `ALPHA`.
const ALPHA: u64 = 14;
/// Switch back to top-down when the frontier is below `|V| / BETA` vertices.
const BETA: u64 = 24;

/// Depth of every local vertex from `source`.
pub fn bfs<V: Item, E: Item>(ctx: &Context<'_>, g: &Graph<V, E>, source: u64) -> Result<Vec<i64>> {
    Ok(search(ctx, g, source, None, None)?.0)
}

/// Whether `dst` is reachable from `src` within `max_depth` hops (any depth when `None`):
/// the length of a shortest such path. The search stops at the level that reaches `dst`.
pub fn path_exists<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    src: u64,
    dst: u64,
    max_depth: Option<u64>,
) -> Result<Option<u64>> {
    if g.topo.map.get(dst).is_none() {
        return Err(Error::Job(format!("vertex {dst} is not in the graph")));
    }
    Ok(search(ctx, g, src, max_depth, Some(dst))?.1)
}

fn search<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    source: u64,
    max_depth: Option<u64>,
    target: Option<u64>,
) -> Result<(Vec<i64>, Option<u64>)> {
    let topo: &Topology = &g.topo;
    let src = topo
        .map
        .get(source)
        .ok_or_else(|| Error::Job(format!("source vertex {source} is not in the graph")))?;
    let target = target.and_then(|t| topo.map.get(t));
    let n = topo.local_len();
    let start = topo.start();
    let _state = ctx.reserve(n * 12 + topo.len() / 4)?;
    let mut depth = vec![UNREACHABLE; n];
    let mut frontier = bitmap(n);
    let mut frontier_len = 0u64;
    if topo.owner(src) == topo.me {
        depth[(src - start) as usize] = 0;
        set_bit(&mut frontier, (src - start) as usize);
        frontier_len = 1;
    }
    if target == Some(src) {
        return Ok((depth, Some(0)));
    }
    let outdeg = local_degrees(ctx, g)?;
    let total_edges = global_sum(ctx, "bfs-edges", outdeg.iter().map(|&d| u64::from(d)).sum())?;
    let mut unexplored = total_edges;
    let mut sent = bitmap(topo.len());
    let mut bottom_up = false;
    let mut level: i64 = 0;
    let mut found = None;
    loop {
        if max_depth.is_some_and(|m| level as u64 >= m) {
            break;
        }
        ctx.check()?;
        // Frontier size and its out-edges, globally.
        let mut f_edges = 0u64;
        for_each_bit(&frontier, 0, n, |l| f_edges += u64::from(outdeg[l]));
        let stats = if topo.peers == 1 {
            vec![(frontier_len, f_edges)]
        } else {
            ctx.all_gather("bfs-frontier", (frontier_len, f_edges))?
        };
        let (f_len, f_edges) = stats.iter().fold((0, 0), |(a, b), &(x, y)| (a + x, b + y));
        if f_len == 0 {
            break;
        }
        unexplored = unexplored.saturating_sub(f_edges);
        if !bottom_up && f_edges > unexplored / ALPHA {
            bottom_up = true;
        } else if bottom_up && f_len < topo.len() as u64 / BETA {
            bottom_up = false;
        }
        let mut next = bitmap(n);
        let mut next_len = 0u64;
        let next_depth = level + 1;
        if bottom_up {
            // Everyone needs the whole frontier: all-gather the bitmaps by range.
            let global = gather_bitmap(ctx, topo, &frontier)?;
            let inn = g.in_edges(ctx)?;
            let mut unvisited = bitmap(n);
            for (l, &d) in depth.iter().enumerate() {
                if d == UNREACHABLE {
                    set_bit(&mut unvisited, l);
                }
            }
            g.for_each_active(ctx, &inn, &unvisited, |v, sources, _| {
                if sources.iter().any(|&u| get_bit(&global, u as usize)) {
                    depth[v as usize] = next_depth;
                    set_bit(&mut next, v as usize);
                    next_len += 1;
                }
            })?;
        } else {
            let mut out: Vec<Vec<u32>> = vec![Vec::new(); topo.peers];
            g.for_each_active(ctx, &g.out, &frontier, |_, targets, _| {
                for &t in targets {
                    let w = topo.owner(t);
                    if w == topo.me {
                        let l = (t - start) as usize;
                        if depth[l] == UNREACHABLE {
                            depth[l] = next_depth;
                            set_bit(&mut next, l);
                            next_len += 1;
                        }
                    } else if !get_bit(&sent, t as usize) {
                        set_bit(&mut sent, t as usize);
                        out[w].push(t);
                    }
                }
            })?;
            if topo.peers > 1 {
                for t in ctx.exchange("bfs-frontier-push", out)? {
                    let l = (t - start) as usize;
                    if depth[l] == UNREACHABLE {
                        depth[l] = next_depth;
                        set_bit(&mut next, l);
                        next_len += 1;
                    }
                }
            }
        }
        frontier = next;
        frontier_len = next_len;
        level = next_depth;
        if let Some(t) = target {
            let mine = topo.owner(t) == topo.me && depth[(t - start) as usize] != UNREACHABLE;
            if global_sum(ctx, "bfs-target", u64::from(mine))? > 0 {
                found = Some(level as u64);
                break;
            }
        }
    }
    Ok((depth, found))
}

/// Out-degree of each local vertex.
pub(crate) fn local_degrees<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
) -> Result<Vec<u32>> {
    let mut outdeg = vec![0u32; g.topo.local_len()];
    g.for_each_chunk(ctx, &g.out, |chunk| {
        for i in 0..chunk.vertices() {
            outdeg[chunk.first as usize + i] = chunk.offsets[i + 1] - chunk.offsets[i];
        }
        Ok(())
    })?;
    Ok(outdeg)
}

/// The global bitmap assembled from every worker's local bitmap.
fn gather_bitmap(ctx: &Context<'_>, topo: &Topology, local: &[u64]) -> Result<Vec<u64>> {
    let mut global = bitmap(topo.len());
    let parts = if topo.peers == 1 {
        vec![local.to_vec()]
    } else {
        ctx.all_gather("bfs-bitmap", local.to_vec())?
    };
    for (w, bits) in parts.iter().enumerate() {
        let base = topo.starts[w] as usize;
        let len = (topo.starts[w + 1] - topo.starts[w]) as usize;
        for_each_bit(bits, 0, len, |l| set_bit(&mut global, base + l));
    }
    Ok(global)
}
