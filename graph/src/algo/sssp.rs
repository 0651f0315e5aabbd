//! Single-source shortest paths over non-negative `f64` edge weights (Graphalytics SSSP):
//! the distance of every vertex, `f64::INFINITY` where unreachable.
//!
//! Δ-stepping (Meyer & Sanders) in bulk-synchronous rounds. Vertices are bucketed by
//! distance in steps of Δ; edges lighter than Δ are *light*, the rest *heavy*. The lowest
//! non-empty bucket anywhere is open: its vertices whose distance improved relax their
//! light edges, round after round, since a light edge can land in the same bucket; once no
//! worker has such a vertex left, every vertex the bucket saw relaxes its heavy edges once
//! (they land in later buckets), in the round that opens the next bucket. So a heavy edge
//! is relaxed about once per vertex, as in Dijkstra, while a bucket's vertices are relaxed
//! in parallel. The light edges are copied out first (about an eighth of all), so light
//! rounds read only them. Local targets improve in place, remote ones travel as
//! `(vertex, distance)` batches that the owner applies by minimum.

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::Item;

use crate::graph::for_each_bit;
use crate::pregel::{bitmap, set_bit};
use crate::Graph;

/// Δ as a multiple of the mean edge weight. On RMAT 20 (uniform weights) an eighth of the
/// mean was the fastest of 1/16..1 for 1 and 2 workers (measured): larger buckets make
/// more edges light and relaxed more than once, smaller ones need more rounds.
const DELTA_PER_MEAN: f64 = 0.125;

/// Weights sampled per worker to estimate the mean.
const DELTA_SAMPLE: usize = 1 << 16;

/// Distance of every local vertex from `source`; edge values are the weights.
pub fn sssp<V: Item>(ctx: &Context<'_>, g: &Graph<V, f64>, source: u64) -> Result<Vec<f64>> {
    let topo = &g.topo;
    let src = topo
        .map
        .get(source)
        .ok_or_else(|| Error::Job(format!("source vertex {source} is not in the graph")))?;
    let n = topo.local_len();
    let start = topo.start() as usize;
    // One slot per vertex of the whole graph: this worker's own are their distances; another
    // worker's hold the best distance sent there, so a candidate no better than one already
    // sent is dropped here instead of crossing the exchange (on RMAT most remote
    // relaxations are such repeats). One array means one comparison per edge, and the
    // owner is asked only when a distance improves (targets in a list alternate between
    // owners at random, so a test per edge would be mispredicted often).
    let total = topo.len();
    let _state = ctx.reserve(total * 8 + n / 4)?;
    let mut best = vec![f64::INFINITY; total];
    let mut active = bitmap(n);
    if topo.owner(src) == topo.me {
        best[src as usize] = 0.0;
        set_bit(&mut active, src as usize - start);
    }
    // Δ from a sample of weights: the front of each worker's first chunk. Δ only sets how
    // the work is bucketed, never the answer.
    let mut sample = (0.0f64, 0u64);
    if g.out.chunks() > 0 {
        g.with_chunk(ctx, &g.out, 0, |chunk| {
            for &w in chunk.values.iter().take(DELTA_SAMPLE) {
                if w >= 0.0 {
                    sample.0 += w;
                    sample.1 += 1;
                }
            }
        })?;
    }
    let samples = if topo.peers == 1 {
        vec![sample]
    } else {
        ctx.all_gather("sssp-weights", sample)?
    };
    let (wsum, wcount) = samples
        .iter()
        .fold((0.0, 0), |(a, b), &(x, y)| (a + x, b + y));
    let delta = if wcount == 0 || wsum == 0.0 {
        1.0
    } else {
        (wsum / wcount as f64 * DELTA_PER_MEAN).max(f64::MIN_POSITIVE)
    };
    // The light edges, copied out in one pass over every edge (which also checks the
    // weights): a bucket's light rounds then read only them, where scanning each relaxed
    // vertex's whole list (often more than once per bucket) would read about 8 edges per
    // light one.
    // Counted first, so that they are charged to the budget before they are allocated.
    let mut light = 0usize;
    g.for_each_chunk(ctx, &g.out, |chunk| {
        light += chunk.values.iter().filter(|&&w| w < delta).count();
        Ok(())
    })?;
    let _light_state = ctx.reserve((n + 1) * 4 + light * 12)?;
    let mut light_offsets: Vec<u32> = Vec::with_capacity(n + 1);
    light_offsets.push(0);
    let (mut light_targets, mut light_weights) = (
        Vec::<u32>::with_capacity(light),
        Vec::<f64>::with_capacity(light),
    );
    let mut bad = false;
    g.for_each_chunk(ctx, &g.out, |chunk| {
        for i in 0..chunk.vertices() {
            let (t, w) = chunk.edges(i);
            for (&t, &w) in t.iter().zip(w) {
                if w < delta {
                    bad |= w < 0.0;
                    light_targets.push(t);
                    light_weights.push(w);
                } else if w.is_nan() {
                    bad = true;
                }
            }
            light_offsets.push(light_targets.len() as u32);
        }
        Ok(())
    })?;
    let bad = if topo.peers == 1 {
        bad
    } else {
        ctx.all_gather("sssp-check", bad)?.contains(&true)
    };
    if bad {
        return Err(negative_weight(ctx, g)?);
    }
    let mut out: Vec<Vec<(u32, f64)>> = vec![Vec::new(); topo.peers];
    let local = start..start + n;
    // `now`: the active vertices of the current bucket, relaxing their light edges this
    // round; `settled`: every vertex that did so in the current bucket, whose heavy edges
    // are relaxed once when the bucket empties; `closed`: the `settled` of a bucket that
    // closes this round, relaxing those heavy edges.
    let mut now = bitmap(n);
    let mut settled = bitmap(n);
    let mut closed = bitmap(n);
    // The current bucket's upper bound, while one is open.
    let mut bucket_end: Option<f64> = None;
    let (mut rounds, mut relaxed, mut remote) = (0u64, 0u64, 0u64);
    loop {
        rounds += 1;
        ctx.check()?;
        let mut local_min = f64::INFINITY;
        for_each_bit(&active, 0, n, |l| {
            local_min = local_min.min(best[start + l])
        });
        let global_min = if topo.peers == 1 {
            local_min
        } else {
            ctx.all_gather("sssp-min", local_min)?
                .into_iter()
                .fold(f64::INFINITY, f64::min)
        };
        // A bucket that is empty everywhere closes: its vertices' distances are final
        // unless a heavy edge improves them later, so their heavy edges go out once, in
        // the same round as the next bucket's first light edges (a vertex that a heavy edge
        // then improves is simply active again).
        let closing = matches!(bucket_end, Some(end) if global_min >= end);
        if closing {
            bucket_end = None;
            std::mem::swap(&mut settled, &mut closed);
        }
        if global_min < f64::INFINITY {
            let end = match bucket_end {
                Some(end) => end,
                None => {
                    let end = ((global_min / delta).floor() + 1.0) * delta;
                    // Rounding must not leave the minimum outside its own bucket.
                    let end = if global_min < end {
                        end
                    } else {
                        global_min + delta
                    };
                    bucket_end = Some(end);
                    end
                }
            };
            now.iter_mut().for_each(|w| *w = 0);
            for_each_bit(&active, 0, n, |l| {
                if best[start + l] < end {
                    set_bit(&mut now, l);
                }
            });
            for ((a, s), b) in active.iter_mut().zip(settled.iter_mut()).zip(&now) {
                *a &= !b;
                *s |= b;
            }
        } else if !closing {
            break;
        }
        // A candidate distance `nd` for global vertex `t`.
        macro_rules! relax {
            ($t:expr, $nd:expr) => {{
                let (t, nd): (u32, f64) = ($t, $nd);
                let slot = &mut best[t as usize];
                if nd < *slot {
                    *slot = nd;
                    if local.contains(&(t as usize)) {
                        set_bit(&mut active, t as usize - start);
                    } else {
                        remote += 1;
                        let w = topo.owner(t);
                        out[w].push((t - topo.starts[w], nd));
                    }
                }
            }};
        }
        if closing {
            g.for_each_active(ctx, &g.out, &closed, |v, targets, weights| {
                let dv = best[start + v as usize];
                for (&t, &w) in targets.iter().zip(weights) {
                    if w >= delta {
                        relaxed += 1;
                        relax!(t, dv + w);
                    }
                }
            })?;
            closed.iter_mut().for_each(|w| *w = 0);
        }
        if bucket_end.is_some() {
            for_each_bit(&now, 0, n, |v| {
                let dv = best[start + v];
                let (a, b) = (light_offsets[v] as usize, light_offsets[v + 1] as usize);
                relaxed += (b - a) as u64;
                for (&t, &w) in light_targets[a..b].iter().zip(&light_weights[a..b]) {
                    relax!(t, dv + w);
                }
            });
        }
        let received = if topo.peers == 1 {
            Vec::new()
        } else {
            ctx.exchange(
                "sssp-relax",
                std::mem::replace(&mut out, vec![Vec::new(); topo.peers]),
            )?
        };
        for (l, d) in received {
            let l = l as usize;
            if d < best[start + l] {
                best[start + l] = d;
                set_bit(&mut active, l);
            }
        }
    }
    tracing::debug!(rounds, relaxed, remote, delta, "sssp done");
    best.truncate(start + n);
    best.drain(..start);
    Ok(best)
}

/// The error for a graph with a negative (or NaN) weight, naming one such edge.
fn negative_weight<V: Item>(ctx: &Context<'_>, g: &Graph<V, f64>) -> Result<Error> {
    let topo = &g.topo;
    let mut bad = None;
    g.for_each_chunk(ctx, &g.out, |chunk| {
        for i in 0..chunk.vertices() {
            let (t, w) = chunk.edges(i);
            if let Some(k) = w.iter().position(|w| w.is_nan() || *w < 0.0) {
                bad.get_or_insert((topo.start() + chunk.first + i as u32, t[k], w[k]));
            }
        }
        Ok(())
    })?;
    Ok(Error::Job(match bad {
        Some((s, t, w)) => format!(
            "SSSP needs non-negative weights; edge {} -> {} has weight {w}",
            topo.ids[s as usize], topo.ids[t as usize]
        ),
        None => "SSSP needs non-negative weights; another worker found a negative one".into(),
    }))
}
