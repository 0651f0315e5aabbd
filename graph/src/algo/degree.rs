//! In- and out-degrees (multi-edges counted; for undirected graphs both are the degree).

use morpheus_engine::{Context, Result};
use morpheus_rdd::Item;

use super::bfs::local_degrees;
use super::sum_dense;
use crate::Graph;

/// `(in-degree, out-degree)` of every local vertex.
pub fn degrees<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let out: Vec<u64> = local_degrees(ctx, g)?.into_iter().map(u64::from).collect();
    if !g.topo.directed {
        return Ok((out.clone(), out));
    }
    let mut acc = vec![0u64; g.topo.len()];
    g.for_each_chunk(ctx, &g.out, |chunk| {
        for &t in &chunk.targets {
            acc[t as usize] += 1;
        }
        Ok(())
    })?;
    let inn = sum_dense(ctx, &g.topo, &acc, |a, b| *a += b)?;
    Ok((inn, out))
}
