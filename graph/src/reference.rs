//! Plain sequential twins of every graph algorithm (the COST baseline): one thread, flat
//! vectors, no engine. They follow the LDBC Graphalytics definitions exactly and are what
//! the parallel algorithms in [`crate::algo`] are tested and benchmarked against.
//!
//! A [`RefGraph`] holds the vertex ids sorted ascending and CSR out- and in-adjacency over
//! dense indexes (rows sorted by neighbour index). Every per-vertex result is a `Vec`
//! indexed like [`RefGraph::ids`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::{Error, Result};

/// Depth BFS gives a vertex it cannot reach (Graphalytics: `i64::MAX`).
pub const UNREACHABLE: i64 = i64::MAX;

/// A graph in memory for the sequential twins: vertex ids sorted ascending, CSR out- and
/// in-adjacency over dense indexes.
///
/// For an undirected graph the out- and in-adjacency are the same symmetric adjacency
/// (stored once); every edge appears in the rows of both endpoints, a self-loop once.
#[derive(Clone, Debug, Default)]
pub struct RefGraph {
    ids: Vec<u64>,
    out_offsets: Vec<usize>,
    out_targets: Vec<u32>,
    out_weights: Vec<f64>,
    /// Empty for undirected graphs (the out-adjacency serves both directions).
    in_offsets: Vec<usize>,
    in_sources: Vec<u32>,
    in_weights: Vec<f64>,
    directed: bool,
}

/// One CSR: offsets, neighbour indexes, weights.
type Csr = (Vec<usize>, Vec<u32>, Vec<f64>);

/// Groups `(key, value, weight)` triples by key into a CSR, keeping the input order within
/// each row (a stable counting sort).
fn scatter(n: usize, arcs: impl Iterator<Item = (u32, u32, f64)> + Clone) -> Csr {
    let mut offsets = vec![0usize; n + 1];
    let mut m = 0usize;
    for (k, _, _) in arcs.clone() {
        offsets[k as usize + 1] += 1;
        m += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut values = vec![0u32; m];
    let mut weights = vec![0.0f64; m];
    for (k, v, w) in arcs {
        let at = &mut fill[k as usize];
        values[*at] = v;
        weights[*at] = w;
        *at += 1;
    }
    (offsets, values, weights)
}

/// The arcs of a CSR as `(row, neighbour, weight)`, rows ascending.
fn arcs_of(csr: &Csr) -> impl Iterator<Item = (u32, u32, f64)> + Clone + '_ {
    let (offsets, values, weights) = csr;
    (0..offsets.len().saturating_sub(1)).flat_map(move |r| {
        (offsets[r]..offsets[r + 1]).map(move |e| (r as u32, values[e], weights[e]))
    })
}

impl RefGraph {
    /// Builds a graph from `vertices` and `edges` given as `(src, dst, weight)`.
    ///
    /// For an undirected graph each edge is given once and is used in both directions
    /// (self-loops once). Endpoints missing from `vertices` are added. Duplicate edges are
    /// kept as given (multigraph).
    ///
    /// # Panics
    ///
    /// When there are more than `u32::MAX` vertices; [`RefGraph::try_new`] returns an
    /// error instead.
    pub fn new(
        vertices: impl IntoIterator<Item = u64>,
        edges: &[(u64, u64, f64)],
        directed: bool,
    ) -> Self {
        match Self::try_new(vertices, edges, directed) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`RefGraph::new`], but fails when there are more than `u32::MAX` vertices.
    pub fn try_new(
        vertices: impl IntoIterator<Item = u64>,
        edges: &[(u64, u64, f64)],
        directed: bool,
    ) -> Result<Self> {
        let mut ids: Vec<u64> = vertices.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        // Endpoints missing from `vertices` (usually none).
        let mut missing: Vec<u64> = edges
            .iter()
            .flat_map(|&(s, d, _)| [s, d])
            .filter(|id| ids.binary_search(id).is_err())
            .collect();
        if !missing.is_empty() {
            ids.append(&mut missing);
            ids.sort_unstable();
            ids.dedup();
        }
        ids.shrink_to_fit();
        let n = ids.len();
        if n > u32::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "{n} vertices: the reference graph holds at most {} vertices",
                u32::MAX
            )));
        }
        // Dense ids (a contiguous range) map by subtraction, others by binary search.
        let first = ids.first().copied().unwrap_or(0);
        let contiguous = ids.last().is_some_and(|&l| l - first == n as u64 - 1);
        let idx = |id: u64| -> u32 {
            if contiguous {
                (id - first) as u32
            } else {
                match ids.binary_search(&id) {
                    Ok(i) => i as u32,
                    Err(_) => unreachable!("every endpoint was added to the ids"),
                }
            }
        };
        let dense: Vec<(u32, u32, f64)> =
            edges.iter().map(|&(s, d, w)| (idx(s), idx(d), w)).collect();
        // Two stable counting sorts give rows sorted by neighbour: group by destination,
        // then walk destinations in ascending order grouping by source (and back again).
        let by_dst = if directed {
            scatter(n, dense.iter().map(|&(s, d, w)| (d, s, w)))
        } else {
            let mirrored = dense.iter().flat_map(|&(s, d, w)| {
                let back = (s != d).then_some((s, d, w));
                std::iter::once((d, s, w)).chain(back)
            });
            scatter(n, mirrored)
        };
        drop(dense);
        let out = scatter(n, arcs_of(&by_dst).map(|(d, s, w)| (s, d, w)));
        drop(by_dst);
        let (in_offsets, in_sources, in_weights) = if directed {
            scatter(n, arcs_of(&out).map(|(s, d, w)| (d, s, w)))
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let (out_offsets, out_targets, out_weights) = out;
        Ok(RefGraph {
            ids,
            out_offsets,
            out_targets,
            out_weights,
            in_offsets,
            in_sources,
            in_weights,
            directed,
        })
    }

    /// Vertex ids, sorted ascending; a vertex's position here is its dense index.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Dense index of vertex `id`.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// Whether edges are directed.
    pub fn directed(&self) -> bool {
        self.directed
    }

    /// Number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.ids.len()
    }

    /// Number of adjacency entries in the out-CSR: the number of edges of a directed
    /// graph; for an undirected graph each edge counts twice, a self-loop once.
    pub fn arc_count(&self) -> usize {
        self.out_targets.len()
    }

    /// Out-neighbours (dense indexes, ascending, repeated for multi-edges) of vertex `v`.
    pub fn out_neighbors(&self, v: usize) -> &[u32] {
        &self.out_targets[self.out_offsets[v]..self.out_offsets[v + 1]]
    }

    /// Weights of the out-edges of `v`, aligned with [`RefGraph::out_neighbors`].
    pub fn out_weights(&self, v: usize) -> &[f64] {
        &self.out_weights[self.out_offsets[v]..self.out_offsets[v + 1]]
    }

    /// In-neighbours (dense indexes, ascending, repeated for multi-edges) of vertex `v`;
    /// for an undirected graph the same as [`RefGraph::out_neighbors`].
    pub fn in_neighbors(&self, v: usize) -> &[u32] {
        if self.directed {
            &self.in_sources[self.in_offsets[v]..self.in_offsets[v + 1]]
        } else {
            self.out_neighbors(v)
        }
    }

    /// Weights of the in-edges of `v`, aligned with [`RefGraph::in_neighbors`].
    pub fn in_weights(&self, v: usize) -> &[f64] {
        if self.directed {
            &self.in_weights[self.in_offsets[v]..self.in_offsets[v + 1]]
        } else {
            self.out_weights(v)
        }
    }

    /// Out-degree of `v` (multi-edges counted).
    pub fn out_degree(&self, v: usize) -> usize {
        self.out_offsets[v + 1] - self.out_offsets[v]
    }

    /// In-degree of `v` (multi-edges counted).
    pub fn in_degree(&self, v: usize) -> usize {
        self.in_neighbors(v).len()
    }

    fn vertex(&self, id: u64, what: &str) -> Result<usize> {
        self.index_of(id).ok_or_else(|| {
            Error::InvalidArgument(format!("{what} {id} is not a vertex of the graph"))
        })
    }

    /// The undirected simple graph: for every vertex the sorted, distinct neighbours in
    /// either direction, without the vertex itself.
    fn simple_undirected(&self) -> (Vec<usize>, Vec<u32>) {
        let n = self.vertex_count();
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0usize);
        let mut targets: Vec<u32> =
            Vec::with_capacity(self.out_targets.len() + self.in_sources.len());
        for v in 0..n {
            let (a, b) = (self.out_neighbors(v), self.in_neighbors(v));
            let me = v as u32;
            // Merge two sorted lists, dropping duplicates and `v` itself.
            let (mut i, mut j) = (0, 0);
            let row = targets.len();
            let push = |x: u32, targets: &mut Vec<u32>| {
                if x != me && targets.len() > row && targets[targets.len() - 1] == x {
                    return;
                }
                if x != me {
                    targets.push(x);
                }
            };
            if self.directed {
                while i < a.len() && j < b.len() {
                    if a[i] <= b[j] {
                        push(a[i], &mut targets);
                        i += 1;
                    } else {
                        push(b[j], &mut targets);
                        j += 1;
                    }
                }
                b[j..].iter().for_each(|&x| push(x, &mut targets));
            }
            a[i..].iter().for_each(|&x| push(x, &mut targets));
            offsets.push(targets.len());
        }
        (offsets, targets)
    }
}

/// Hop count from `source_id` along out-edges; [`UNREACHABLE`] where no path exists.
pub fn bfs(g: &RefGraph, source_id: u64) -> Result<Vec<i64>> {
    let s = g.vertex(source_id, "BFS source")?;
    let mut depth = vec![UNREACHABLE; g.vertex_count()];
    depth[s] = 0;
    let mut queue: Vec<u32> = Vec::with_capacity(g.vertex_count());
    queue.push(s as u32);
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head] as usize;
        head += 1;
        let next = depth[v] + 1;
        for &t in g.out_neighbors(v) {
            if depth[t as usize] == UNREACHABLE {
                depth[t as usize] = next;
                queue.push(t);
            }
        }
    }
    Ok(depth)
}

/// An `f64` ordered by [`f64::total_cmp`], for the Dijkstra heap.
#[derive(Clone, Copy, PartialEq)]
struct Dist(f64);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Shortest-path distances from `source_id` along out-edges (Dijkstra on the weights,
/// which must be `>= 0`); `f64::INFINITY` where no path exists.
pub fn sssp(g: &RefGraph, source_id: u64) -> Result<Vec<f64>> {
    let s = g.vertex(source_id, "SSSP source")?;
    if let Some(e) = g.out_weights.iter().position(|w| w.is_nan() || *w < 0.0) {
        let src = g.out_offsets.partition_point(|&o| o <= e) - 1;
        return Err(Error::InvalidArgument(format!(
            "SSSP needs weights >= 0, but edge {} -> {} has weight {}",
            g.ids[src], g.ids[g.out_targets[e] as usize], g.out_weights[e]
        )));
    }
    let mut dist = vec![f64::INFINITY; g.vertex_count()];
    let mut done = vec![false; g.vertex_count()];
    dist[s] = 0.0;
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((Dist(0.0), s as u32)));
    while let Some(Reverse((Dist(d), v))) = heap.pop() {
        let v = v as usize;
        if done[v] {
            continue;
        }
        done[v] = true;
        for (&t, &w) in g.out_neighbors(v).iter().zip(g.out_weights(v)) {
            let nd = d + w;
            if nd < dist[t as usize] {
                dist[t as usize] = nd;
                heap.push(Reverse((Dist(nd), t)));
            }
        }
    }
    Ok(dist)
}

/// PageRank parameters: the same options as the parallel [`crate::algo::pagerank`].
pub use crate::algo::PageRankOptions;

/// Graphalytics PageRank: `PR_0(v) = 1/|V|`; each iteration
/// `PR(v) = (1-d)/|V| + d · (Σ_{u→v} PR(u)/outdeg(u) + D/|V|)` where `D` is the rank held
/// by dangling vertices (out-degree 0). Multi-edges count with multiplicity.
pub fn pagerank(g: &RefGraph, damping: f64, iterations: usize) -> Vec<f64> {
    pagerank_core(g, &PageRankOptions::graphalytics(damping, iterations), None)
}

/// PageRank with options: see [`PageRankOptions`]. Fails on a damping factor outside
/// `[0, 1]`, a negative tolerance, or a personalization set that is empty or names a
/// vertex not in the graph.
pub fn pagerank_with(g: &RefGraph, opts: &PageRankOptions) -> Result<Vec<f64>> {
    if !(0.0..=1.0).contains(&opts.damping) {
        return Err(Error::InvalidArgument(format!(
            "damping factor must be within [0, 1], not {}",
            opts.damping
        )));
    }
    if let Some(t) = opts.tolerance {
        if t.is_nan() || t < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "tolerance must be >= 0, not {t}"
            )));
        }
    }
    let sources = match &opts.personalized {
        None => None,
        Some(s) if s.is_empty() => {
            return Err(Error::InvalidArgument(
                "personalized PageRank needs at least one source".into(),
            ))
        }
        Some(s) => {
            let mut idx = s
                .iter()
                .map(|&id| g.vertex(id, "personalization source"))
                .collect::<Result<Vec<usize>>>()?;
            idx.sort_unstable();
            idx.dedup();
            Some(idx)
        }
    };
    Ok(pagerank_core(g, opts, sources.as_deref()))
}

fn pagerank_core(g: &RefGraph, opts: &PageRankOptions, sources: Option<&[usize]>) -> Vec<f64> {
    let n = g.vertex_count();
    if n == 0 {
        return Vec::new();
    }
    let d = opts.damping;
    let teleport: Vec<f64> = match sources {
        None => vec![1.0 / n as f64; n],
        Some(s) => {
            let mut t = vec![0.0; n];
            let w = 1.0 / s.len() as f64;
            s.iter().for_each(|&v| t[v] = w);
            t
        }
    };
    let mut rank = if opts.graphx {
        vec![1.0; n]
    } else {
        teleport.clone()
    };
    let inv_deg: Vec<f64> = (0..n)
        .map(|v| match g.out_degree(v) {
            0 => 0.0,
            k => 1.0 / k as f64,
        })
        .collect();
    let mut contrib = vec![0.0f64; n];
    for _ in 0..opts.iterations {
        let mut dangling = 0.0;
        for v in 0..n {
            if inv_deg[v] == 0.0 {
                dangling += rank[v];
            }
            contrib[v] = rank[v] * inv_deg[v];
        }
        let mut delta = 0.0;
        for v in 0..n {
            let sum: f64 = g.in_neighbors(v).iter().map(|&u| contrib[u as usize]).sum();
            let new = if opts.graphx {
                (1.0 - d) + d * sum
            } else {
                (1.0 - d) * teleport[v] + d * (sum + dangling * teleport[v])
            };
            delta += (new - rank[v]).abs();
            rank[v] = new;
        }
        if opts.tolerance.is_some_and(|t| delta < t) {
            break;
        }
    }
    rank
}

/// Finds the root of `v` with path halving.
fn find(parent: &mut [u32], mut v: u32) -> u32 {
    while parent[v as usize] != v {
        let p = parent[v as usize];
        parent[v as usize] = parent[p as usize];
        v = parent[v as usize];
    }
    v
}

/// Weakly connected components (direction ignored): each vertex's label is the smallest
/// vertex id in its component.
pub fn wcc(g: &RefGraph) -> Vec<u64> {
    let n = g.vertex_count();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    for v in 0..n {
        for &t in g.out_neighbors(v) {
            let (a, b) = (find(&mut parent, v as u32), find(&mut parent, t));
            // The smaller index (= smaller id) becomes the root.
            match a.cmp(&b) {
                std::cmp::Ordering::Less => parent[b as usize] = a,
                std::cmp::Ordering::Greater => parent[a as usize] = b,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    (0..n as u32)
        .map(|v| g.ids[find(&mut parent, v) as usize])
        .collect()
}

/// The most frequent value of `buf` (sorted in place), the smallest on ties.
fn most_frequent(buf: &mut [u64]) -> Option<u64> {
    buf.sort_unstable();
    let mut best: Option<(u64, usize)> = None;
    let mut i = 0;
    while i < buf.len() {
        let mut j = i + 1;
        while j < buf.len() && buf[j] == buf[i] {
            j += 1;
        }
        if best.is_none_or(|(_, c)| j - i > c) {
            best = Some((buf[i], j - i));
        }
        i = j;
    }
    best.map(|(l, _)| l)
}

/// Graphalytics community detection by label propagation, `iterations` synchronous
/// rounds. Labels start as the vertex ids; each vertex takes the most frequent label among
/// its neighbours (directed: in- and out-neighbours, a reciprocal neighbour counting
/// twice; multi-edges count per edge), the smallest on ties; a vertex without neighbours
/// keeps its label.
pub fn cdlp(g: &RefGraph, iterations: usize) -> Vec<u64> {
    let n = g.vertex_count();
    let mut labels = g.ids.clone();
    let mut next = labels.clone();
    let mut buf: Vec<u64> = Vec::new();
    for _ in 0..iterations {
        let mut changed = false;
        for (v, slot) in next.iter_mut().enumerate() {
            buf.clear();
            buf.extend(g.out_neighbors(v).iter().map(|&t| labels[t as usize]));
            if g.directed {
                buf.extend(g.in_neighbors(v).iter().map(|&t| labels[t as usize]));
            }
            *slot = most_frequent(&mut buf).unwrap_or(labels[v]);
            changed |= *slot != labels[v];
        }
        std::mem::swap(&mut labels, &mut next);
        if !changed {
            // A fixed point: every further round gives the same labels.
            break;
        }
    }
    debug_assert_eq!(labels.len(), n);
    labels
}

/// Graphalytics local clustering coefficient. `N(v)` is the set of distinct neighbours
/// (in ∪ out for directed graphs) without `v`; with `d = |N(v)| < 2` the value is 0.
/// Otherwise it is the number of distinct edges `u → w` with `u ≠ w` both in `N(v)`,
/// divided by `d(d-1)` (for an undirected graph each edge counts in both directions, which
/// is the number of connected pairs over `d(d-1)/2`).
pub fn lcc(g: &RefGraph) -> Vec<f64> {
    let n = g.vertex_count();
    let (offsets, nbrs) = g.simple_undirected();
    let mut mark = vec![u32::MAX; n];
    let mut out = vec![0.0; n];
    for v in 0..n {
        let nv = &nbrs[offsets[v]..offsets[v + 1]];
        let d = nv.len();
        if d < 2 {
            continue;
        }
        for &u in nv {
            mark[u as usize] = v as u32;
        }
        let mut links = 0u64;
        for &u in nv {
            let mut prev = u32::MAX;
            for &w in g.out_neighbors(u as usize) {
                if w != prev && w != u && mark[w as usize] == v as u32 {
                    links += 1;
                }
                prev = w;
            }
        }
        out[v] = links as f64 / (d as f64 * (d as f64 - 1.0));
    }
    out
}

/// Triangles of the undirected simple graph (direction, self-loops and multi-edges
/// ignored): the total and, per vertex, the triangles it belongs to.
pub fn triangle_count(g: &RefGraph) -> (u64, Vec<u64>) {
    let n = g.vertex_count();
    let (offsets, nbrs) = g.simple_undirected();
    // Orient every edge from lower to higher (degree, index) rank: each triangle is then
    // found once, from its lowest vertex, and forward lists stay short.
    let deg = |v: usize| offsets[v + 1] - offsets[v];
    let higher = |a: usize, b: usize| (deg(b), b) > (deg(a), a);
    let mut fwd_off = Vec::with_capacity(n + 1);
    fwd_off.push(0usize);
    let mut fwd: Vec<u32> = Vec::with_capacity(nbrs.len() / 2);
    for v in 0..n {
        fwd.extend(
            nbrs[offsets[v]..offsets[v + 1]]
                .iter()
                .filter(|&&u| higher(v, u as usize)),
        );
        fwd_off.push(fwd.len());
    }
    drop(nbrs);
    let mut mark = vec![u32::MAX; n];
    let mut per = vec![0u64; n];
    let mut total = 0u64;
    for v in 0..n {
        let fv = &fwd[fwd_off[v]..fwd_off[v + 1]];
        for &u in fv {
            mark[u as usize] = v as u32;
        }
        for &u in fv {
            for &w in &fwd[fwd_off[u as usize]..fwd_off[u as usize + 1]] {
                if mark[w as usize] == v as u32 {
                    total += 1;
                    per[v] += 1;
                    per[u as usize] += 1;
                    per[w as usize] += 1;
                }
            }
        }
    }
    (total, per)
}

/// Strongly connected components (iterative Tarjan, no recursion): each vertex's label is
/// the smallest vertex id in its component. For an undirected graph this is [`wcc`].
pub fn scc(g: &RefGraph) -> Vec<u64> {
    if !g.directed {
        return wcc(g);
    }
    let n = g.vertex_count();
    const NONE: u32 = u32::MAX;
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    // Call stack: (vertex, position of the next out-edge to look at).
    let mut calls: Vec<(u32, usize)> = Vec::new();
    let mut next_index = 0u32;
    let mut labels = vec![0u64; n];
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        calls.push((root as u32, g.out_offsets[root]));
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root as u32);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            let vu = v as usize;
            if *pos < g.out_offsets[vu + 1] {
                let t = g.out_targets[*pos] as usize;
                *pos += 1;
                if index[t] == NONE {
                    index[t] = next_index;
                    low[t] = next_index;
                    next_index += 1;
                    stack.push(t as u32);
                    on_stack[t] = true;
                    calls.push((t as u32, g.out_offsets[t]));
                } else if on_stack[t] {
                    low[vu] = low[vu].min(index[t]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(p, _)) = calls.last() {
                low[p as usize] = low[p as usize].min(low[vu]);
            }
            if low[vu] == index[vu] {
                // Pop the component; its smallest index is its smallest id.
                let mut min = u32::MAX;
                let start = stack.iter().rposition(|&x| x == v).unwrap_or(0);
                for &x in &stack[start..] {
                    on_stack[x as usize] = false;
                    min = min.min(x);
                }
                for &x in &stack[start..] {
                    labels[x as usize] = g.ids[min as usize];
                }
                stack.truncate(start);
            }
        }
    }
    labels
}

/// Core number of every vertex of the undirected simple graph (direction, self-loops and
/// duplicate edges ignored), by the Batagelj–Zaversnik bucket algorithm.
pub fn kcore(g: &RefGraph) -> Vec<u64> {
    let n = g.vertex_count();
    let (offsets, nbrs) = g.simple_undirected();
    let mut deg: Vec<usize> = (0..n).map(|v| offsets[v + 1] - offsets[v]).collect();
    let max_deg = deg.iter().copied().max().unwrap_or(0);
    // bin[k] = first position in `vert` of the vertices of degree k.
    let mut bin = vec![0usize; max_deg + 2];
    for &k in &deg {
        bin[k + 1] += 1;
    }
    for k in 0..=max_deg {
        bin[k + 1] += bin[k];
    }
    let mut pos = vec![0usize; n];
    let mut vert = vec![0u32; n];
    {
        let mut fill = bin.clone();
        for v in 0..n {
            pos[v] = fill[deg[v]];
            vert[pos[v]] = v as u32;
            fill[deg[v]] += 1;
        }
    }
    for i in 0..n {
        let v = vert[i] as usize;
        for &u in &nbrs[offsets[v]..offsets[v + 1]] {
            let u = u as usize;
            if deg[u] > deg[v] {
                // Move u to the front of its bin, then shrink the bin by one.
                let du = deg[u];
                let pu = pos[u];
                let pw = bin[du];
                let w = vert[pw] as usize;
                if u != w {
                    vert.swap(pu, pw);
                    pos[u] = pw;
                    pos[w] = pu;
                }
                bin[du] += 1;
                deg[u] -= 1;
            }
        }
    }
    deg.into_iter().map(|k| k as u64).collect()
}

/// `(in-degree, out-degree)` of every vertex, multi-edges counted. For an undirected
/// graph both are the degree (the number of adjacency entries; a self-loop counts once).
pub fn degrees(g: &RefGraph) -> (Vec<u64>, Vec<u64>) {
    let n = g.vertex_count();
    let out: Vec<u64> = (0..n).map(|v| g.out_degree(v) as u64).collect();
    let inn = if g.directed {
        (0..n).map(|v| g.in_degree(v) as u64).collect()
    } else {
        out.clone()
    };
    (inn, out)
}

/// Whether `dst_id` is reachable from `src_id` along out-edges within `max_depth` edges
/// (any length when `None`), by an iterative depth-first search with an explicit stack:
/// `Some(length)` of the path found (not necessarily the shortest), `None` when there is
/// none. `src == dst` gives `Some(0)`.
///
/// With a depth limit the search remembers the smallest depth at which it reached each
/// vertex and searches a vertex again when it reaches it at a smaller depth, so it finds a
/// path whenever one of length `<= max_depth` exists.
pub fn path_exists(
    g: &RefGraph,
    src_id: u64,
    dst_id: u64,
    max_depth: Option<u64>,
) -> Result<Option<u64>> {
    let s = g.vertex(src_id, "path source")?;
    let t = g.vertex(dst_id, "path target")?;
    if s == t {
        return Ok(Some(0));
    }
    let limit = max_depth.unwrap_or(u64::MAX);
    if limit == 0 {
        return Ok(None);
    }
    // best[v]: smallest depth at which v was entered so far.
    let mut best = vec![u64::MAX; g.vertex_count()];
    best[s] = 0;
    // Explicit DFS stack of (vertex, next out-edge position, depth).
    let mut stack: Vec<(u32, usize, u64)> = vec![(s as u32, g.out_offsets[s], 0)];
    while let Some((v, pos, depth)) = stack.last_mut() {
        let vu = *v as usize;
        if *pos == g.out_offsets[vu + 1] || *depth >= limit {
            stack.pop();
            continue;
        }
        let u = g.out_targets[*pos] as usize;
        *pos += 1;
        let du = *depth + 1;
        if u == t {
            return Ok(Some(du));
        }
        // Without a depth limit one visit per vertex is enough.
        if du < best[u] && (max_depth.is_some() || best[u] == u64::MAX) {
            best[u] = du;
            stack.push((u as u32, g.out_offsets[u], du));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn unit(edges: &[(u64, u64)]) -> Vec<(u64, u64, f64)> {
        edges.iter().map(|&(s, d)| (s, d, 1.0)).collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-12, "index {i}: {x} != {y}");
        }
    }

    #[test]
    fn builds_sorted_csr_both_ways() {
        let g = RefGraph::new(
            [30, 5],
            &unit(&[(10, 20), (10, 5), (20, 10), (10, 5)]),
            true,
        );
        assert_eq!(g.ids(), &[5, 10, 20, 30]);
        assert_eq!(g.index_of(20), Some(2));
        assert_eq!(g.index_of(7), None);
        assert_eq!(g.out_neighbors(1), &[0, 0, 2]);
        assert_eq!(g.in_neighbors(0), &[1, 1]);
        assert_eq!(g.in_neighbors(1), &[2]);
        assert!(g.out_neighbors(3).is_empty() && g.in_neighbors(3).is_empty());
        assert_eq!(g.arc_count(), 4);

        let u = RefGraph::new([], &[(1, 2, 0.5), (2, 2, 3.0), (3, 1, 2.0)], false);
        assert!(!u.directed());
        assert_eq!(u.out_neighbors(0), &[1, 2]);
        assert_eq!(u.out_weights(0), &[0.5, 2.0]);
        assert_eq!(u.out_neighbors(1), &[0, 1]);
        assert_eq!(u.in_neighbors(1), u.out_neighbors(1));
        assert_eq!(u.in_weights(1), &[0.5, 3.0]);
        assert_eq!(u.arc_count(), 5);
        assert_eq!(degrees(&u), (vec![2, 2, 1], vec![2, 2, 1]));
        assert_eq!(degrees(&g), (vec![2, 1, 1, 0], vec![0, 3, 1, 0]));
    }

    #[test]
    fn bfs_hops_and_unreachable() {
        let g = RefGraph::new([9], &unit(&[(1, 2), (2, 3), (1, 3), (3, 4), (4, 1)]), true);
        assert_eq!(bfs(&g, 1).unwrap(), vec![0, 1, 1, 2, UNREACHABLE]);
        assert_eq!(bfs(&g, 4).unwrap(), vec![1, 2, 2, 0, UNREACHABLE]);
        assert!(bfs(&g, 5).is_err());
        let u = RefGraph::new([], &unit(&[(1, 2), (2, 3)]), false);
        assert_eq!(bfs(&u, 3).unwrap(), vec![2, 1, 0]);
    }

    #[test]
    fn sssp_dijkstra() {
        let e = [
            (1, 2, 4.0),
            (1, 3, 1.0),
            (3, 2, 2.0),
            (2, 4, 1.0),
            (5, 1, 1.0),
        ];
        let g = RefGraph::new([], &e, true);
        assert_eq!(
            sssp(&g, 1).unwrap(),
            vec![0.0, 3.0, 1.0, 4.0, f64::INFINITY]
        );
        let u = RefGraph::new([], &e, false);
        assert_eq!(sssp(&u, 4).unwrap(), vec![4.0, 1.0, 3.0, 0.0, 5.0]);
        let bad = RefGraph::new([], &[(1, 2, 1.0), (2, 3, -1.0)], true);
        let err = sssp(&bad, 1).unwrap_err().to_string();
        assert!(err.contains("2 -> 3"), "{err}");
        assert!(sssp(&g, 42).is_err());
    }

    #[test]
    fn pagerank_graphalytics_by_hand() {
        // 1 -> 2, 1 -> 3, 2 -> 3, 3 dangling; |V| = 3, d = 0.5.
        let g = RefGraph::new([], &unit(&[(1, 2), (1, 3), (2, 3)]), true);
        let p0 = 1.0 / 3.0;
        // Iteration 1: dangling D = p0.
        let base = 0.5 / 3.0 + 0.5 * p0 / 3.0;
        let p1 = [base, base + 0.5 * p0 / 2.0, base + 0.5 * (p0 / 2.0 + p0)];
        close(&pagerank(&g, 0.5, 1), &p1);
        let base2 = 0.5 / 3.0 + 0.5 * p1[2] / 3.0;
        let p2 = [
            base2,
            base2 + 0.5 * p1[0] / 2.0,
            base2 + 0.5 * (p1[0] / 2.0 + p1[1]),
        ];
        close(&pagerank(&g, 0.5, 2), &p2);
        // Ranks stay a distribution.
        let sum: f64 = pagerank(&g, 0.85, 30).iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        assert!(pagerank(&RefGraph::new([], &[], true), 0.85, 3).is_empty());
    }

    #[test]
    fn pagerank_multi_edges_count() {
        // 1 => 2 twice, 1 -> 3 once: 2 gets two thirds of 1's rank.
        let g = RefGraph::new([], &unit(&[(1, 2), (1, 2), (1, 3), (2, 1), (3, 1)]), true);
        let p = pagerank(&g, 1.0, 1);
        close(&p, &[2.0 / 3.0, 2.0 / 9.0, 1.0 / 9.0]);
    }

    #[test]
    fn pagerank_options() {
        let g = RefGraph::new([], &unit(&[(1, 2), (2, 3), (3, 1), (3, 4)]), true);
        // GraphX: start 1.0, (1-d) + d * sum, dangling dropped.
        let gx = PageRankOptions {
            graphx: true,
            ..PageRankOptions::graphalytics(0.5, 1)
        };
        close(&pagerank_with(&g, &gx).unwrap(), &[0.75, 1.0, 1.0, 0.75]);
        // Personalized on {1}: teleport and dangling mass only to 1.
        let pp = PageRankOptions {
            personalized: Some(vec![1, 1]),
            ..PageRankOptions::graphalytics(0.5, 2)
        };
        let r = pagerank_with(&g, &pp).unwrap();
        // it 1: from [1,0,0,0]: 1 -> 0.5 + 0 ; 2 -> 0.5*1 ; 3, 4 -> 0.
        // it 2: from [0.5,0.5,0,0]: 1 -> 0.5; 2 -> 0.25; 3 -> 0.25; 4 -> 0.
        close(&r, &[0.5, 0.25, 0.25, 0.0]);
        // A tolerance stops early at the fixed point.
        let tol = PageRankOptions {
            tolerance: Some(1e-10),
            ..PageRankOptions::graphalytics(0.85, 10_000)
        };
        let early = pagerank_with(&g, &tol).unwrap();
        let converged = pagerank(&g, 0.85, 200);
        assert!(early
            .iter()
            .zip(&converged)
            .all(|(a, b)| (a - b).abs() < 1e-9));
        assert_ne!(early, converged, "stopped before the fixed point");
        let bad = |o: PageRankOptions| pagerank_with(&g, &o).is_err();
        assert!(bad(PageRankOptions::graphalytics(1.5, 1)));
        assert!(bad(PageRankOptions {
            personalized: Some(vec![]),
            ..Default::default()
        }));
        assert!(bad(PageRankOptions {
            personalized: Some(vec![99]),
            ..Default::default()
        }));
        assert!(bad(PageRankOptions {
            tolerance: Some(-1.0),
            ..Default::default()
        }));
    }

    #[test]
    fn wcc_smallest_id() {
        let g = RefGraph::new([100], &unit(&[(7, 3), (5, 7), (9, 8), (8, 9)]), true);
        assert_eq!(g.ids(), &[3, 5, 7, 8, 9, 100]);
        assert_eq!(wcc(&g), vec![3, 3, 3, 8, 8, 100]);
        let u = RefGraph::new([], &unit(&[(4, 2), (6, 4), (1, 1)]), false);
        assert_eq!(wcc(&u), vec![1, 2, 2, 2]);
    }

    #[test]
    fn cdlp_rules() {
        // Undirected star 1 - {2, 3, 4} plus 3 - 4: round 1: 1 sees {2,3,4} -> 2;
        // 2 sees {1} -> 1; 3 sees {1,4} -> 1; 4 sees {1,3} -> 1.
        let u = RefGraph::new([9], &unit(&[(1, 2), (1, 3), (1, 4), (3, 4)]), false);
        assert_eq!(cdlp(&u, 1), vec![2, 1, 1, 1, 9]);
        // Round 2: 1 sees {1,1,1} -> 1; 2 sees {2} -> 2; 3 sees {2,1} -> 1; 4 -> 1.
        assert_eq!(cdlp(&u, 2), vec![1, 2, 1, 1, 9]);
        assert_eq!(cdlp(&u, 0), vec![1, 2, 3, 4, 9]);
        // Directed: a reciprocal neighbour counts twice. 1 <-> 3, 2 -> 1, 4 -> 1:
        // 1 sees 3, 3, 2, 4 -> 3.
        let d = RefGraph::new([], &unit(&[(1, 3), (3, 1), (2, 1), (4, 1)]), true);
        assert_eq!(cdlp(&d, 1), vec![3, 1, 1, 1]);
        // Multi-edges count per edge: 1 -> 2 twice, 3 -> 1 once: 1 sees 2, 2, 3 -> 2.
        let m = RefGraph::new([], &unit(&[(1, 2), (1, 2), (3, 1)]), true);
        assert_eq!(cdlp(&m, 1)[0], 2);
    }

    #[test]
    fn lcc_directed_and_undirected() {
        // Undirected triangle 1-2-3 plus pendant 4 on 1.
        let u = RefGraph::new([], &unit(&[(1, 2), (2, 3), (3, 1), (1, 4), (1, 2)]), false);
        close(&lcc(&u), &[1.0 / 3.0, 1.0, 1.0, 0.0]);
        // Directed: N(1) = {2, 3}; edges among them: 2 -> 3 only: 1/2.
        let d = RefGraph::new([], &unit(&[(1, 2), (3, 1), (2, 3), (2, 3), (1, 1)]), true);
        close(&lcc(&d), &[0.5, 0.5, 0.5]);
        // Both directions between neighbours count.
        let d2 = RefGraph::new([], &unit(&[(1, 2), (1, 3), (2, 3), (3, 2)]), true);
        close(&lcc(&d2)[..1], &[1.0]);
    }

    #[test]
    fn triangles() {
        // Two triangles sharing the edge 2-3; a self-loop, a duplicate and a reversed
        // duplicate are ignored.
        let e = unit(&[
            (1, 2),
            (2, 3),
            (3, 1),
            (2, 4),
            (4, 3),
            (1, 1),
            (2, 3),
            (3, 2),
        ]);
        for directed in [true, false] {
            let g = RefGraph::new([5], &e, directed);
            assert_eq!(triangle_count(&g), (2, vec![1, 2, 2, 1, 0]));
        }
        let k4 = unit(&[(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]);
        assert_eq!(
            triangle_count(&RefGraph::new([], &k4, false)),
            (4, vec![3; 4])
        );
    }

    #[test]
    fn scc_components() {
        // 1 -> 2 -> 3 -> 1, 3 -> 4, 4 <-> 5, 6 alone.
        let g = RefGraph::new(
            [6],
            &unit(&[(2, 3), (1, 2), (3, 1), (3, 4), (4, 5), (5, 4)]),
            true,
        );
        assert_eq!(scc(&g), vec![1, 1, 1, 4, 4, 6]);
        let u = RefGraph::new([], &unit(&[(1, 2), (3, 2)]), false);
        assert_eq!(scc(&u), vec![1, 1, 1]);
    }

    #[test]
    fn scc_long_path_has_no_recursion() {
        let n = 1_000_000u64;
        let mut e: Vec<(u64, u64, f64)> = (0..n - 1).map(|i| (i, i + 1, 1.0)).collect();
        let g = RefGraph::new([], &e, true);
        let labels = scc(&g);
        assert!(labels.iter().enumerate().all(|(i, &l)| l == i as u64));
        e.push((n - 1, 0, 1.0));
        let cyc = RefGraph::new([], &e, true);
        assert!(scc(&cyc).iter().all(|&l| l == 0));
        assert_eq!(path_exists(&cyc, 0, n - 1, None).unwrap(), Some(n - 1));
    }

    #[test]
    fn kcore_numbers() {
        // K4 on 1..4, a tail 4 - 5 - 6, isolated 7, duplicates and self-loop ignored.
        let e = unit(&[
            (1, 2),
            (1, 3),
            (1, 4),
            (2, 3),
            (2, 4),
            (3, 4),
            (4, 5),
            (5, 6),
            (5, 5),
            (6, 5),
        ]);
        let g = RefGraph::new([7], &e, true);
        assert_eq!(kcore(&g), vec![3, 3, 3, 3, 1, 1, 0]);
        let u = RefGraph::new([7], &e, false);
        assert_eq!(kcore(&u), vec![3, 3, 3, 3, 1, 1, 0]);
    }

    #[test]
    fn path_exists_depth_limited() {
        // 1 -> 2 -> 3 -> 4 -> 5 and a shortcut 1 -> 4; DFS visits 2 first (sorted rows).
        let g = RefGraph::new([9], &unit(&[(1, 2), (2, 3), (3, 4), (4, 5), (1, 4)]), true);
        assert_eq!(path_exists(&g, 1, 1, Some(0)).unwrap(), Some(0));
        assert_eq!(path_exists(&g, 1, 5, Some(1)).unwrap(), None);
        assert_eq!(path_exists(&g, 1, 5, Some(2)).unwrap(), Some(2));
        // The search reaches 4 first at depth 3 (the limit) via 2 and 3; only searching 4
        // again when it is reached at depth 1 finds 1 -> 4 -> 5.
        assert_eq!(path_exists(&g, 1, 5, Some(3)).unwrap(), Some(2));
        assert_eq!(path_exists(&g, 1, 5, Some(4)).unwrap(), Some(4));
        assert!(path_exists(&g, 1, 5, None).unwrap().is_some());
        assert_eq!(path_exists(&g, 5, 1, None).unwrap(), None);
        assert_eq!(path_exists(&g, 1, 9, None).unwrap(), None);
        assert!(path_exists(&g, 1, 10, None).is_err());
        assert!(path_exists(&g, 10, 1, None).is_err());
    }
}
