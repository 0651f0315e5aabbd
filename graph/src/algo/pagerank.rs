//! PageRank, as LDBC Graphalytics defines it by default: ranks start at `1/|V|`; every
//! iteration `PR(v) = (1 - d)/|V| + d · (Σ_{u→v} PR(u)/out(u) + D/|V|)` where `D` is the
//! rank held by dangling vertices (no out-edges), for a fixed number of iterations.
//!
//! Options: stop early when the L1 change falls below a tolerance; personalized PageRank
//! (teleport and dangling mass go to a source set); and a GraphX-compatible mode (ranks
//! start at 1, `PR(v) = (1 - d) + d · Σ`, dangling mass dropped).
//!
//! Each iteration all-gathers the contributions (rank / out-degree, computed by each
//! vertex's owner; 8 bytes per vertex per worker) and every worker pulls those of its
//! vertices' in-neighbours through its in-edge chunks.

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::Item;

use super::{all_dense, all_dense_into};
use crate::Graph;

/// PageRank parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRankOptions {
    /// Damping factor `d` (probability of following an edge).
    pub damping: f64,
    /// Number of iterations (the maximum, with a tolerance).
    pub iterations: usize,
    /// Stop when the L1 norm of the change in ranks is below this.
    pub tolerance: Option<f64>,
    /// Personalized PageRank: teleport (and dangling mass) only to these vertex ids.
    pub personalized: Option<Vec<u64>>,
    /// GraphX-compatible ranks: start at 1.0, `(1 - d) + d · Σ`, dangling mass dropped.
    pub graphx: bool,
}

impl PageRankOptions {
    /// Graphalytics PageRank with damping `d` for `iterations` iterations.
    pub fn graphalytics(damping: f64, iterations: usize) -> Self {
        PageRankOptions {
            damping,
            iterations,
            tolerance: None,
            personalized: None,
            graphx: false,
        }
    }

    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.damping) {
            return Err(Error::Job(format!(
                "damping factor must be within [0, 1], not {}",
                self.damping
            )));
        }
        if let Some(t) = self.tolerance {
            if t.is_nan() || t < 0.0 {
                return Err(Error::Job(format!("tolerance must be >= 0, not {t}")));
            }
        }
        if matches!(&self.personalized, Some(s) if s.is_empty()) {
            return Err(Error::Job(
                "personalized PageRank needs at least one source".into(),
            ));
        }
        Ok(())
    }
}

impl Default for PageRankOptions {
    fn default() -> Self {
        PageRankOptions::graphalytics(0.85, 20)
    }
}

/// PageRank of every local vertex.
pub fn pagerank<V: Item, E: Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    opts: &PageRankOptions,
) -> Result<Vec<f64>> {
    opts.validate()?;
    let topo = &g.topo;
    let n = topo.local_len();
    if topo.len() == 0 {
        return Ok(Vec::new());
    }
    let d = opts.damping;
    // Teleport weight of each local vertex.
    // Teleport weight of each local vertex: uniform, or over the personalization set.
    let uniform = 1.0 / topo.len() as f64;
    let teleport: Option<Vec<f64>> = match &opts.personalized {
        None => None,
        Some(sources) => {
            let mut ids: Vec<u64> = sources.clone();
            ids.sort_unstable();
            ids.dedup();
            for &s in &ids {
                if topo.map.get(s).is_none() {
                    return Err(Error::Job(format!(
                        "personalization source {s} is not a vertex"
                    )));
                }
            }
            let w = 1.0 / ids.len() as f64;
            Some(
                topo.local_ids()
                    .iter()
                    .map(|v| if ids.binary_search(v).is_ok() { w } else { 0.0 })
                    .collect(),
            )
        }
    };
    let teleport_of = |l: usize| teleport.as_ref().map_or(uniform, |t| t[l]);
    // Pull: each vertex sums its in-neighbours' contributions, in ascending id order (the
    // in-edge lists are sorted by source id), from the all-gathered ranks; the dangling
    // mass is summed over the dangling vertices in id order too. Every worker count thus
    // adds the same numbers in the same order as the sequential twin: identical ranks.
    let inn = g.in_edges(ctx)?;
    let outdeg = super::bfs::local_degrees(ctx, g)?;
    let outdeg = all_dense(ctx, topo, &outdeg)?;
    let mut dangling_set: Vec<u32> = (0..topo.len() as u32)
        .filter(|&v| outdeg[v as usize] == 0)
        .collect();
    dangling_set.sort_unstable_by_key(|&v| topo.ids[v as usize]);
    // Out-degrees and the gathered contributions of every vertex (and the gather's parts
    // while they are copied), the dangling set, local ranks and contributions.
    let _state = ctx.reserve(
        topo.len() * 20
            + dangling_set.len() * 4
            + n * 16
            + teleport.as_ref().map_or(0, |t| t.len() * 8),
    )?;
    let mut rank: Vec<f64> = if opts.graphx {
        vec![1.0; n]
    } else {
        (0..n).map(teleport_of).collect()
    };
    // Each worker turns its own ranks into contributions, rank · (1 / out-degree), before
    // they are gathered; a dangling vertex sends its rank, which the dangling sum reads
    // (no edge leaves it, so the pull below never does).
    let local_outdeg = &outdeg[topo.start() as usize..topo.start() as usize + n];
    let mut contrib: Vec<f64> = Vec::new();
    for it in 0..opts.iterations {
        ctx.check()?;
        let local: Vec<f64> = rank
            .iter()
            .zip(local_outdeg)
            .map(|(&r, &k)| if k == 0 { r } else { r * (1.0 / f64::from(k)) })
            .collect();
        all_dense_into(ctx, topo, local, &mut contrib)?;
        let dangling: f64 = dangling_set.iter().map(|&v| contrib[v as usize]).sum();
        let mut delta = 0.0;
        g.for_each_chunk_serpentine(ctx, &inn, it % 2 == 1, |chunk| {
            let base = chunk.first as usize;
            for i in 0..chunk.vertices() {
                let l = base + i;
                let sum: f64 = chunk.edges(i).0.iter().map(|&u| contrib[u as usize]).sum();
                let new = if opts.graphx {
                    (1.0 - d) + d * sum
                } else {
                    let t = teleport_of(l);
                    (1.0 - d) * t + d * (sum + dangling * t)
                };
                delta += (new - rank[l]).abs();
                rank[l] = new;
            }
            Ok(())
        })?;
        if let Some(tol) = opts.tolerance {
            let delta = global_f64(ctx, delta)?;
            if delta < tol {
                tracing::debug!(iterations = it + 1, delta, "pagerank converged");
                break;
            }
        }
    }
    Ok(rank)
}

/// Sum of `x` over workers.
fn global_f64(ctx: &Context<'_>, x: f64) -> Result<f64> {
    if ctx.peers() == 1 {
        return Ok(x);
    }
    Ok(ctx.all_gather("graph-sum-f64", x)?.into_iter().sum())
}
