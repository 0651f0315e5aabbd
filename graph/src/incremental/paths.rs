//! BFS depths and shortest-path distances from one source under arc insertions and deletions,
//! over a shortest-path tree (each reached vertex keeps the parent it was reached from).
//!
//! Insertions relax the new arcs and run Dijkstra from whatever improved. Deletions (after
//! Ramalingam and Reps) look at the vertices whose tree arc went away in order of distance:
//! one with another in-neighbour at exactly the right distance over a positive-weight arc
//! keeps its distance and changes parent; the others lose it, and so do the tree children
//! they had. The vertices that lost their distance are then seeded from their surviving
//! in-neighbours and settled by Dijkstra among themselves. BFS is the same with every weight 1.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::dyngraph::{DynGraph, NONE};
use crate::{Error, Result};

/// An `f64` ordered by `total_cmp`, for the heap.
#[derive(Clone, Copy, Debug, PartialEq)]
struct D(f64);

impl Eq for D {}

impl PartialOrd for D {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for D {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

type Heap = BinaryHeap<Reverse<(D, u32)>>;

/// Distances and the shortest-path tree from one source.
#[derive(Clone, Debug, Default)]
pub struct Paths {
    pub(crate) source: u64,
    /// Every arc weighs 1 (BFS).
    pub(crate) unit: bool,
    pub(crate) dist: Vec<f64>,
    pub(crate) parent: Vec<u32>,
    /// Scratch: vertices that lost their distance in a deletion round.
    lost: Vec<bool>,
}

fn check_weight(g: &DynGraph, u: u32, v: u32, w: f64) -> Result<()> {
    if w.is_nan() || w < 0.0 {
        return Err(Error::InvalidArgument(format!(
            "SSSP needs weights >= 0, but edge {} -> {} has weight {w}",
            g.id(u),
            g.id(v)
        )));
    }
    Ok(())
}

impl Paths {
    fn weight(&self, w: f64) -> f64 {
        if self.unit {
            1.0
        } else {
            w
        }
    }

    /// Distances in `g` from `source` (all unreachable when it is not a vertex).
    ///
    /// # Errors
    /// A negative or NaN weight (SSSP).
    pub fn build(g: &DynGraph, source: u64, unit: bool) -> Result<Self> {
        let n = g.slots();
        let mut p = Paths {
            source,
            unit,
            dist: vec![f64::INFINITY; n],
            parent: vec![NONE; n],
            lost: vec![false; n],
        };
        if !unit && g.weighted() {
            for u in 0..n as u32 {
                for (i, &v) in g.out(u).iter().enumerate() {
                    check_weight(g, u, v, g.out_weight(u, i))?;
                }
            }
        }
        if let Some(s) = g.live_index(source) {
            p.dist[s as usize] = 0.0;
            if unit {
                p.bfs_from(g, s);
            } else {
                let mut heap = Heap::new();
                heap.push(Reverse((D(0.0), s)));
                p.settle(g, &mut heap);
            }
        }
        Ok(p)
    }

    /// Saved distances and parents.
    pub(crate) fn from_parts(source: u64, unit: bool, dist: Vec<f64>, parent: Vec<u32>) -> Self {
        let n = dist.len();
        Paths {
            source,
            unit,
            dist,
            parent,
            lost: vec![false; n],
        }
    }

    fn bfs_from(&mut self, g: &DynGraph, s: u32) {
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            let next = self.dist[v as usize] + 1.0;
            for &t in g.out(v) {
                if self.dist[t as usize] == f64::INFINITY {
                    self.dist[t as usize] = next;
                    self.parent[t as usize] = v;
                    queue.push_back(t);
                }
            }
        }
    }

    /// Dijkstra from the vertices in `heap`; returns how many were settled.
    fn settle(&mut self, g: &DynGraph, heap: &mut Heap) -> u64 {
        let mut settled = 0u64;
        while let Some(Reverse((D(d), v))) = heap.pop() {
            if d > self.dist[v as usize] {
                continue;
            }
            settled += 1;
            for (i, &t) in g.out(v).iter().enumerate() {
                let nd = d + self.weight(g.out_weight(v, i));
                if nd < self.dist[t as usize] {
                    self.dist[t as usize] = nd;
                    self.parent[t as usize] = v;
                    heap.push(Reverse((D(nd), t)));
                }
            }
        }
        settled
    }

    fn grow(&mut self, n: usize) {
        if self.dist.len() < n {
            let more = (n - self.dist.len()).max(super::dyngraph::spare_slots(n));
            self.dist.reserve_exact(more);
            self.parent.reserve_exact(more);
            self.lost.reserve_exact(more);
            self.dist.resize(n, f64::INFINITY);
            self.parent.resize(n, NONE);
            self.lost.resize(n, false);
        }
    }

    fn clear(&mut self) {
        self.dist.iter_mut().for_each(|d| *d = f64::INFINITY);
        self.parent.iter_mut().for_each(|p| *p = NONE);
    }

    /// After `arcs` (and every arc of `dead` vertices) were removed from `g`. Returns the
    /// number of vertices whose distance was recomputed.
    pub fn deleted(&mut self, g: &DynGraph, arcs: &[(u32, u32, f64)], dead: &[u32]) -> u64 {
        self.grow(g.slots());
        if g.live_index(self.source).is_none() {
            self.clear();
            return 0;
        }
        let mut check = Heap::new();
        for &x in dead {
            self.dist[x as usize] = f64::INFINITY;
            self.parent[x as usize] = NONE;
        }
        for &(u, v, _) in arcs {
            if g.is_alive(v) && self.parent[v as usize] == u {
                check.push(Reverse((D(self.dist[v as usize]), v)));
            }
        }
        // Tree parent gone: find another parent at the same distance, or lose the distance
        // (and make the tree children look for theirs).
        let mut lost: Vec<u32> = Vec::new();
        while let Some(Reverse((D(d), v))) = check.pop() {
            if self.lost[v as usize] || d != self.dist[v as usize] {
                continue;
            }
            let ins = g.inn(v);
            // Every vertex nearer than `d` is final by now (the heap is ordered by distance).
            let alt = ins.iter().enumerate().find(|&(i, &p)| {
                let w = self.weight(g.in_weight(v, i));
                w > 0.0 && g.is_alive(p) && !self.lost[p as usize] && self.dist[p as usize] + w == d
            });
            if let Some((_, &p)) = alt {
                self.parent[v as usize] = p;
                continue;
            }
            self.lost[v as usize] = true;
            lost.push(v);
            for &c in g.out(v) {
                if self.parent[c as usize] == v && !self.lost[c as usize] {
                    check.push(Reverse((D(self.dist[c as usize]), c)));
                }
            }
        }
        for &v in &lost {
            self.dist[v as usize] = f64::INFINITY;
            self.parent[v as usize] = NONE;
        }
        // Seed the lost vertices from their surviving in-neighbours, then settle them.
        let mut heap = Heap::new();
        for &v in &lost {
            let mut best = (f64::INFINITY, NONE);
            for (i, &p) in g.inn(v).iter().enumerate() {
                let c = self.dist[p as usize] + self.weight(g.in_weight(v, i));
                if c < best.0 {
                    best = (c, p);
                }
            }
            if best.1 != NONE {
                self.dist[v as usize] = best.0;
                self.parent[v as usize] = best.1;
                heap.push(Reverse((D(best.0), v)));
            }
        }
        self.settle(g, &mut heap);
        for &v in &lost {
            self.lost[v as usize] = false;
        }
        lost.len() as u64
    }

    /// After `arcs` were inserted into `g` and `born` vertices added. Returns the number of
    /// vertices settled again.
    ///
    /// # Errors
    /// A negative or NaN weight (SSSP).
    pub fn inserted(
        &mut self,
        g: &DynGraph,
        arcs: &[(u32, u32, f64)],
        born: &[u32],
    ) -> Result<u64> {
        self.grow(g.slots());
        let mut heap = Heap::new();
        for &v in born {
            self.dist[v as usize] = f64::INFINITY;
            self.parent[v as usize] = NONE;
            if g.id(v) == self.source {
                self.dist[v as usize] = 0.0;
                heap.push(Reverse((D(0.0), v)));
            }
        }
        for &(u, v, w) in arcs {
            if !self.unit {
                check_weight(g, u, v, w)?;
            }
            let nd = self.dist[u as usize] + self.weight(w);
            if nd < self.dist[v as usize] {
                self.dist[v as usize] = nd;
                self.parent[v as usize] = u;
                heap.push(Reverse((D(nd), v)));
            }
        }
        Ok(self.settle(g, &mut heap))
    }
}
