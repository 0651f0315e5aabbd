//! Triangle counts of the undirected simple graph (direction, self-loops and multi-edges
//! ignored) under arc insertions and deletions: when a simple edge `{u, v}` appears or
//! disappears, every common neighbour `w` gains or loses the triangle `{u, v, w}`.

use super::dyngraph::DynGraph;

/// Per-vertex triangle counts and the total.
#[derive(Clone, Debug, Default)]
pub struct Triangles {
    pub(crate) per: Vec<u64>,
    pub(crate) total: u64,
}

/// The simple neighbours of `v` (out and in, sorted, distinct, without `v`).
fn simple(g: &DynGraph, v: u32) -> Vec<u32> {
    let mut n: Vec<u32> = g.out(v).to_vec();
    if g.directed() {
        n.extend_from_slice(g.inn(v));
        n.sort_unstable();
    }
    n.dedup();
    n.retain(|&w| w != v);
    n
}

impl Triangles {
    /// Counts from scratch (each triangle found once, from its lowest-ranked vertex).
    pub fn build(g: &DynGraph) -> Self {
        let n = g.slots();
        let nbrs: Vec<Vec<u32>> = (0..n as u32).map(|v| simple(g, v)).collect();
        let rank = |v: u32| (nbrs[v as usize].len(), v);
        let fwd: Vec<Vec<u32>> = (0..n as u32)
            .map(|v| {
                nbrs[v as usize]
                    .iter()
                    .copied()
                    .filter(|&u| rank(u) > rank(v))
                    .collect()
            })
            .collect();
        drop(nbrs);
        let mut mark = vec![u32::MAX; n];
        let mut per = vec![0u64; n];
        let mut total = 0u64;
        for v in 0..n as u32 {
            for &u in &fwd[v as usize] {
                mark[u as usize] = v;
            }
            for &u in &fwd[v as usize] {
                for &w in &fwd[u as usize] {
                    if mark[w as usize] == v {
                        total += 1;
                        per[v as usize] += 1;
                        per[u as usize] += 1;
                        per[w as usize] += 1;
                    }
                }
            }
        }
        Triangles { per, total }
    }

    pub(crate) fn grow(&mut self, n: usize) {
        if self.per.len() < n {
            self.per.resize(n, 0);
        }
    }

    /// The simple edge `{u, v}` just appeared (`add`) or disappeared in
    /// `g`; returns the number of triangles it closed or opened.
    pub fn edge_changed(&mut self, g: &DynGraph, u: u32, v: u32, add: bool) -> u64 {
        self.grow(g.slots());
        // Walk the smaller neighbourhood, probe the larger.
        let (a, b) = if g.out(u).len() + g.inn(u).len() <= g.out(v).len() + g.inn(v).len() {
            (u, v)
        } else {
            (v, u)
        };
        let mut found = 0u64;
        for w in simple(g, a) {
            if w != b && g.adjacent(w, b) {
                found += 1;
                if add {
                    self.per[w as usize] += 1;
                } else {
                    self.per[w as usize] -= 1;
                }
            }
        }
        if add {
            self.per[u as usize] += found;
            self.per[v as usize] += found;
            self.total += found;
        } else {
            self.per[u as usize] -= found;
            self.per[v as usize] -= found;
            self.total -= found;
        }
        found
    }
}
