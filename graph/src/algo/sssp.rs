//! Single-source shortest paths over non-negative `f64` edge weights (Graphalytics SSSP):
//! the distance of every vertex, `f64::INFINITY` where unreachable.
//!
//! Label-correcting rounds: vertices whose distance improved relax their out-edges; the
//! tentative distances are combined by minimum per destination before the exchange.

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::Item;

use crate::pregel::{bitmap, global_sum, set_bit, Outbox};
use crate::Graph;

/// Distance of every local vertex from `source`; edge values are the weights.
pub fn sssp<V: Item>(ctx: &Context<'_>, g: &Graph<V, f64>, source: u64) -> Result<Vec<f64>> {
    let topo = &g.topo;
    let src = topo
        .map
        .get(source)
        .ok_or_else(|| Error::Job(format!("source vertex {source} is not in the graph")))?;
    let n = topo.local_len();
    let start = topo.start();
    let _state = ctx.reserve(n * 8 + topo.len() * (std::mem::size_of::<Option<f64>>() + 4))?;
    let mut dist = vec![f64::INFINITY; n];
    let mut active = bitmap(n);
    if topo.owner(src) == topo.me {
        dist[(src - start) as usize] = 0.0;
        set_bit(&mut active, (src - start) as usize);
    }
    let min = |a: f64, b: f64| a.min(b);
    let mut outbox = Outbox::<f64>::new(topo);
    let mut bad_weight = None;
    loop {
        ctx.check()?;
        g.for_each_active(ctx, &g.out, &active, |v, targets, weights| {
            let dv = dist[v as usize];
            for (&t, &w) in targets.iter().zip(weights) {
                if w.is_nan() || w < 0.0 {
                    bad_weight.get_or_insert((v, t, w));
                    continue;
                }
                let nd = dv + w;
                if topo.owner(t) == topo.me && nd >= dist[(t - start) as usize] {
                    continue;
                }
                outbox.send(topo, t, nd, &min);
            }
        })?;
        if let Some((v, t, w)) = bad_weight {
            return Err(Error::Job(format!(
                "SSSP needs non-negative weights; edge {} -> {} has weight {w}",
                topo.ids[(start + v) as usize],
                topo.ids[t as usize]
            )));
        }
        if global_sum(ctx, "sssp-sent", outbox.len() as u64)? == 0 {
            break;
        }
        active.iter_mut().for_each(|w| *w = 0);
        for (l, d) in outbox.deliver(ctx, topo, &min)? {
            let l = l as usize;
            if d < dist[l] {
                dist[l] = d;
                set_bit(&mut active, l);
            }
        }
    }
    Ok(dist)
}
