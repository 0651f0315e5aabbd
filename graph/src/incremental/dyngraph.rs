//! The mutable graph that incremental results are maintained over: dense indexes for
//! arbitrary u64 ids and sorted adjacency lists that take single-arc inserts and removals.

use rayon::prelude::*;

use morpheus_storage::Store;

use crate::{Error, Result};

/// No vertex (an absent parent, a dead label).
pub const NONE: u32 = u32::MAX;

pub use morpheus_storage::hash::{IntHasher, IntMap};

/// A graph held in memory for incremental maintenance.
///
/// Vertex `i` has id `ids[i]`; `ids[..base]` is ascending (binary search), later vertices
/// are found through `extra`. A deleted vertex keeps its slot (`alive[i] == false`) and is
/// revived if its id comes back. Out-lists (and, for directed graphs, in-lists) are sorted
/// by neighbour index, repeated for multi-edges, with weights alongside when the graph is
/// weighted. Undirected stores hold each edge in both directions, so their out-lists are
/// symmetric and serve as in-lists too.
#[derive(Clone, Debug, Default)]
pub struct DynGraph {
    pub(crate) directed: bool,
    pub(crate) weighted: bool,
    pub(crate) ids: Vec<u64>,
    pub(crate) base: usize,
    pub(crate) extra: IntMap<u64, u32>,
    /// Slot by id for ids below its length ([`NONE`] where absent): built when ids are
    /// dense enough (at most 4 table entries per vertex), so lookups skip the search.
    pub(crate) direct: Vec<u32>,
    pub(crate) alive: Vec<bool>,
    pub(crate) out: Vec<Vec<u32>>,
    pub(crate) out_w: Vec<Vec<f64>>,
    pub(crate) inn: Vec<Vec<u32>>,
    pub(crate) in_w: Vec<Vec<f64>>,
    pub(crate) arcs: u64,
    pub(crate) live: usize,
}

/// Capacity for a list of `d` entries: room for about 1/8 more, so the first insertions
/// after a build or a load do not reallocate (and copy) every list they touch.
pub(crate) fn slack(d: usize) -> usize {
    d + d / 8 + 2
}

/// Spare per-vertex slots to reserve beside `n` (see [`DynGraph::reserve_slots`]).
pub(crate) fn spare_slots(n: usize) -> usize {
    n / 8 + 1024
}

/// Removes one `(v, w)` per item of `items` (sorted by `v`) from a sorted list; says for
/// each item whether it was found. The positions are found by binary search and the list is
/// closed up block by block (`copy_within`), so the cost is a memmove of the tail after the
/// first removed entry, not a pass over every entry.
fn remove_from(
    list: &mut Vec<u32>,
    weights: Option<&mut Vec<f64>>,
    items: impl Iterator<Item = (u32, f64)>,
) -> Vec<bool> {
    let mut hits: Vec<usize> = Vec::new();
    let mut found = Vec::new();
    for (v, w) in items {
        let start = list.partition_point(|&x| x < v);
        let end = list.partition_point(|&x| x <= v);
        let pos = (start..end).find(|&i| {
            !hits.contains(&i)
                && weights
                    .as_ref()
                    .is_none_or(|ws| ws[i].to_bits() == w.to_bits())
        });
        found.push(pos.is_some());
        hits.extend(pos);
    }
    if hits.is_empty() {
        return found;
    }
    hits.sort_unstable();
    fn close_up<T: Copy>(xs: &mut Vec<T>, hits: &[usize]) {
        let mut to = hits[0];
        for (j, &h) in hits.iter().enumerate() {
            let next = hits.get(j + 1).copied().unwrap_or(xs.len());
            xs.copy_within(h + 1..next, to);
            to += next - h - 1;
        }
        xs.truncate(to);
    }
    close_up(list, &hits);
    if let Some(ws) = weights {
        close_up(ws, &hits);
    }
    found
}

/// Merges `items` (sorted by `v`) into a sorted list from the back, in place: each item's
/// place is found by binary search and the block after it moved once.
fn merge_into(
    list: &mut Vec<u32>,
    mut weights: Option<&mut Vec<f64>>,
    items: impl Iterator<Item = (u32, f64)>,
) {
    let items: Vec<(u32, f64)> = items.collect();
    let (old, k) = (list.len(), items.len());
    list.resize(old + k, 0);
    if let Some(w) = weights.as_deref_mut() {
        w.resize(old + k, 0.0);
    }
    // `end` is the end of the not yet moved prefix of the old entries.
    let mut end = old;
    for (j, &(v, w)) in items.iter().enumerate().rev() {
        let pos = list[..end].partition_point(|&x| x <= v);
        // Old entries in pos..end go right by j + 1 (the items still to place).
        list.copy_within(pos..end, pos + j + 1);
        list[pos + j] = v;
        if let Some(ws) = weights.as_deref_mut() {
            ws.copy_within(pos..end, pos + j + 1);
            ws[pos + j] = w;
        }
        end = pos;
    }
}

/// Sorts a list by neighbour (then weight bits, so equal multisets compare equal).
fn sort_list(list: &mut [u32], weights: Option<&mut Vec<f64>>) {
    match weights {
        None => list.sort_unstable(),
        Some(ws) => {
            let mut pairs: Vec<(u32, u64)> = list
                .iter()
                .zip(ws.iter())
                .map(|(&v, w)| (v, w.to_bits()))
                .collect();
            pairs.sort_unstable();
            for (i, (v, w)) in pairs.into_iter().enumerate() {
                list[i] = v;
                ws[i] = f64::from_bits(w);
            }
        }
    }
}

impl DynGraph {
    /// A graph over `ids` (ascending, distinct) with `arcs` given as dense indexes.
    pub(crate) fn from_arcs(
        ids: Vec<u64>,
        alive: Vec<bool>,
        directed: bool,
        weighted: bool,
        arcs: &[(u32, u32, f64)],
    ) -> Self {
        let n = ids.len();
        let mut deg = vec![0usize; n];
        let mut indeg = vec![0usize; if directed { n } else { 0 }];
        for &(s, d, _) in arcs {
            deg[s as usize] += 1;
            if directed {
                indeg[d as usize] += 1;
            }
        }
        let lists = |deg: &[usize]| -> Vec<Vec<u32>> {
            deg.iter().map(|&d| Vec::with_capacity(slack(d))).collect()
        };
        let wlists = |deg: &[usize]| -> Vec<Vec<f64>> {
            if weighted {
                deg.iter().map(|&d| Vec::with_capacity(slack(d))).collect()
            } else {
                Vec::new()
            }
        };
        let mut out = lists(&deg);
        let mut out_w = wlists(&deg);
        let mut inn = lists(&indeg);
        let mut in_w = if directed { wlists(&indeg) } else { Vec::new() };
        for &(s, d, w) in arcs {
            out[s as usize].push(d);
            if weighted {
                out_w[s as usize].push(w);
            }
            if directed {
                inn[d as usize].push(s);
                if weighted {
                    in_w[d as usize].push(w);
                }
            }
        }
        let sort_all = |l: &mut Vec<Vec<u32>>, w: &mut Vec<Vec<f64>>| {
            if w.is_empty() {
                l.par_iter_mut().for_each(|l| sort_list(l, None));
            } else {
                l.par_iter_mut()
                    .zip(w.par_iter_mut())
                    .for_each(|(l, w)| sort_list(l, Some(w)));
            }
        };
        sort_all(&mut out, &mut out_w);
        sort_all(&mut inn, &mut in_w);
        let live = alive.iter().filter(|&&a| a).count();
        let mut g = DynGraph {
            directed,
            weighted,
            base: n,
            ids,
            extra: IntMap::default(),
            direct: Vec::new(),
            alive,
            out,
            out_w,
            inn,
            in_w,
            arcs: arcs.len() as u64,
            live,
        };
        g.index_ids();
        g.reserve_slots();
        g
    }

    /// Leaves room for about 1/8 more vertex slots, so the first update that creates
    /// vertices does not reallocate (and copy) every per-vertex table at once.
    pub(crate) fn reserve_slots(&mut self) {
        let more = spare_slots(self.ids.len());
        let (d, w) = (self.directed, self.weighted);
        // `reserve_exact`: plain `reserve` may double the capacity.
        self.ids.reserve_exact(more);
        self.alive.reserve_exact(more);
        self.out.reserve_exact(more);
        self.inn.reserve_exact(if d { more } else { 0 });
        self.out_w.reserve_exact(if w { more } else { 0 });
        self.in_w.reserve_exact(if w && d { more } else { 0 });
    }

    /// Builds the direct id table when the ids are dense enough.
    pub(crate) fn index_ids(&mut self) {
        let n = self.ids.len();
        let max = self.ids.iter().copied().max().unwrap_or(0);
        if n == 0 || max >= (4 * n as u64 + 1024) {
            self.direct = Vec::new();
            return;
        }
        let mut direct = vec![NONE; max as usize + 1];
        for (i, &id) in self.ids.iter().enumerate() {
            direct[id as usize] = i as u32;
        }
        self.direct = direct;
        self.extra.retain(|&id, _| id as usize >= self.direct.len());
    }

    /// Reads every vertex and edge of `store` (shards scanned in parallel).
    ///
    /// # Errors
    /// A store read failure; more than `u32::MAX` vertices.
    pub fn from_store(store: &Store) -> Result<Self> {
        let err = |e: morpheus_storage::Error| Error::InvalidArgument(format!("graph store: {e}"));
        let shards: Vec<u32> = (0..store.shard_count()).collect();
        let parts: Vec<(Vec<u64>, Vec<(u64, u64, f64)>)> = shards
            .par_iter()
            .map(|&s| {
                let ids = store.vertex_ids(s).map_err(err)?;
                let mut edges = Vec::new();
                store
                    .scan_edges(s, |a, b, w| edges.push((a, b, w)))
                    .map_err(err)?;
                Ok((ids, edges))
            })
            .collect::<Result<_>>()?;
        let mut ids: Vec<u64> = parts.iter().flat_map(|p| p.0.iter().copied()).collect();
        ids.extend(
            parts
                .iter()
                .flat_map(|p| p.1.iter().flat_map(|e| [e.0, e.1])),
        );
        ids.par_sort_unstable();
        ids.dedup();
        ids.shrink_to_fit();
        if ids.len() >= NONE as usize {
            return Err(Error::InvalidArgument(format!(
                "{} vertices: incremental state holds fewer than {NONE}",
                ids.len()
            )));
        }
        let first = ids.first().copied().unwrap_or(0);
        let contiguous = ids
            .last()
            .is_some_and(|&l| l - first == ids.len() as u64 - 1);
        let idx = |id: u64| -> u32 {
            if contiguous {
                (id - first) as u32
            } else {
                ids.binary_search(&id).map_or(NONE, |i| i as u32)
            }
        };
        let weighted = store.manifest().weighted;
        let arcs: Vec<(u32, u32, f64)> = parts
            .par_iter()
            .flat_map_iter(|p| {
                p.1.iter()
                    .map(|&(a, b, w)| (idx(a), idx(b), if weighted { w } else { 1.0 }))
            })
            .collect();
        drop(parts);
        let alive = vec![true; ids.len()];
        Ok(Self::from_arcs(
            ids,
            alive,
            store.manifest().directed,
            weighted,
            &arcs,
        ))
    }

    /// Number of vertex slots (live and deleted).
    pub fn slots(&self) -> usize {
        self.ids.len()
    }

    /// Number of live vertices.
    pub fn vertex_count(&self) -> usize {
        self.live
    }

    /// Number of arcs (an undirected edge counts twice).
    pub fn arc_count(&self) -> u64 {
        self.arcs
    }

    /// Whether the graph is directed.
    pub fn directed(&self) -> bool {
        self.directed
    }

    /// Whether arcs carry weights.
    pub fn weighted(&self) -> bool {
        self.weighted
    }

    /// The slot of `id`, live or deleted.
    pub fn index_of(&self, id: u64) -> Option<u32> {
        if let Some(&i) = self.direct.get(id as usize) {
            return (i != NONE).then_some(i);
        }
        match self.ids[..self.base].binary_search(&id) {
            Ok(i) => Some(i as u32),
            Err(_) => self.extra.get(&id).copied(),
        }
    }

    /// The slot of a live vertex `id`.
    pub fn live_index(&self, id: u64) -> Option<u32> {
        self.index_of(id).filter(|&i| self.alive[i as usize])
    }

    /// The id in slot `v`.
    pub fn id(&self, v: u32) -> u64 {
        self.ids[v as usize]
    }

    /// Whether slot `v` holds a live vertex.
    pub fn is_alive(&self, v: u32) -> bool {
        self.alive[v as usize]
    }

    /// Out-neighbours of `v` (sorted, repeated for multi-edges).
    pub fn out(&self, v: u32) -> &[u32] {
        &self.out[v as usize]
    }

    /// Weights aligned with [`DynGraph::out`] (all 1.0 when unweighted).
    pub fn out_weight(&self, v: u32, i: usize) -> f64 {
        if self.weighted {
            self.out_w[v as usize][i]
        } else {
            1.0
        }
    }

    /// In-neighbours of `v`.
    pub fn inn(&self, v: u32) -> &[u32] {
        if self.directed {
            &self.inn[v as usize]
        } else {
            &self.out[v as usize]
        }
    }

    /// Weights aligned with [`DynGraph::inn`].
    pub fn in_weight(&self, v: u32, i: usize) -> f64 {
        match (self.weighted, self.directed) {
            (false, _) => 1.0,
            (true, true) => self.in_w[v as usize][i],
            (true, false) => self.out_w[v as usize][i],
        }
    }

    /// Calls `f` for every neighbour of `v` ignoring direction (in-lists of directed
    /// graphs included; repeats possible).
    pub fn for_each_neighbor(&self, v: u32, mut f: impl FnMut(u32)) {
        self.out[v as usize].iter().for_each(|&w| f(w));
        if self.directed {
            self.inn[v as usize].iter().for_each(|&w| f(w));
        }
    }

    /// Whether an arc `u -> v` exists.
    pub fn has_arc(&self, u: u32, v: u32) -> bool {
        self.out[u as usize].binary_search(&v).is_ok()
    }

    /// Whether `u` and `v` are adjacent in the undirected simple graph.
    pub fn adjacent(&self, u: u32, v: u32) -> bool {
        u != v && (self.has_arc(u, v) || self.has_arc(v, u))
    }

    /// Ids of the live vertices, ascending, with their slots.
    pub fn live_in_id_order(&self) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = (0..self.ids.len() as u32)
            .filter(|&i| self.alive[i as usize])
            .map(|i| (self.ids[i as usize], i))
            .collect();
        if self.ids.len() > self.base {
            v.sort_unstable();
        }
        v
    }

    /// Adds vertex `id` (reviving its slot if it had one); returns its slot and whether it
    /// was absent before.
    pub(crate) fn add_vertex(&mut self, id: u64) -> (u32, bool) {
        if let Some(i) = self.index_of(id) {
            let was = std::mem::replace(&mut self.alive[i as usize], true);
            if !was {
                self.live += 1;
            }
            return (i, !was);
        }
        let i = self.ids.len() as u32;
        self.ids.push(id);
        match self.direct.get_mut(id as usize) {
            Some(d) => *d = i,
            None => {
                self.extra.insert(id, i);
            }
        }
        self.alive.push(true);
        self.out.push(Vec::new());
        if self.weighted {
            self.out_w.push(Vec::new());
        }
        if self.directed {
            self.inn.push(Vec::new());
            if self.weighted {
                self.in_w.push(Vec::new());
            }
        }
        self.live += 1;
        (i, true)
    }

    /// Marks `v` deleted (its arcs must have been removed).
    pub(crate) fn remove_vertex(&mut self, v: u32) {
        if std::mem::replace(&mut self.alive[v as usize], false) {
            self.live -= 1;
        }
    }

    /// Inserts one arc.
    pub(crate) fn insert_arc(&mut self, u: u32, v: u32, w: f64) {
        self.insert_many(&[(u, v, w)]);
    }

    /// Removes one arc `u -> v` of weight `w`; false when there is none.
    pub(crate) fn remove_arc(&mut self, u: u32, v: u32, w: f64) -> bool {
        !self.remove_many(&[(u, v, w)]).is_empty()
    }

    /// Removes many arcs at once: each touched list is rewritten once (`O(len)`), instead
    /// of once per arc. Returns the arcs that were present (and are now gone).
    pub(crate) fn remove_many(&mut self, arcs: &[(u32, u32, f64)]) -> Vec<(u32, u32, f64)> {
        let mut by_src: Vec<(u32, u32, f64)> = arcs.to_vec();
        by_src.sort_unstable_by_key(|&(u, v, w)| (u, v, w.to_bits()));
        let mut gone = Vec::with_capacity(arcs.len());
        let weighted = self.weighted;
        for group in by_src.chunk_by(|a, b| a.0 == b.0) {
            let u = group[0].0 as usize;
            let hits = remove_from(
                &mut self.out[u],
                weighted.then(|| &mut self.out_w[u]),
                group.iter().map(|&(_, v, w)| (v, w)),
            );
            gone.extend(group.iter().zip(hits).filter(|p| p.1).map(|p| *p.0));
        }
        if self.directed {
            let mut by_dst: Vec<(u32, u32, f64)> = gone.clone();
            by_dst.sort_unstable_by_key(|&(u, v, w)| (v, u, w.to_bits()));
            for group in by_dst.chunk_by(|a, b| a.1 == b.1) {
                let v = group[0].1 as usize;
                remove_from(
                    &mut self.inn[v],
                    weighted.then(|| &mut self.in_w[v]),
                    group.iter().map(|&(u, _, w)| (u, w)),
                );
            }
        }
        self.arcs -= gone.len() as u64;
        gone
    }

    /// Inserts many arcs at once, merging into each touched list once.
    pub(crate) fn insert_many(&mut self, arcs: &[(u32, u32, f64)]) {
        let weighted = self.weighted;
        let mut sorted: Vec<(u32, u32, f64)> = arcs.to_vec();
        sorted.sort_unstable_by_key(|&(u, v, w)| (u, v, w.to_bits()));
        for group in sorted.chunk_by(|a, b| a.0 == b.0) {
            let u = group[0].0 as usize;
            merge_into(
                &mut self.out[u],
                weighted.then(|| &mut self.out_w[u]),
                group.iter().map(|&(_, v, w)| (v, w)),
            );
        }
        if self.directed {
            sorted.sort_unstable_by_key(|&(u, v, w)| (v, u, w.to_bits()));
            for group in sorted.chunk_by(|a, b| a.1 == b.1) {
                let v = group[0].1 as usize;
                merge_into(
                    &mut self.inn[v],
                    weighted.then(|| &mut self.in_w[v]),
                    group.iter().map(|&(u, _, w)| (u, w)),
                );
            }
        }
        self.arcs += arcs.len() as u64;
    }

    /// The out-arcs of `v` as `(neighbour id, weight)`, sorted by id then weight bits.
    pub(crate) fn out_by_id(&self, v: u32) -> Vec<(u64, f64)> {
        let mut arcs: Vec<(u64, f64)> = self.out[v as usize]
            .iter()
            .enumerate()
            .map(|(i, &d)| (self.ids[d as usize], self.out_weight(v, i)))
            .collect();
        arcs.sort_unstable_by_key(|&(d, w)| (d, w.to_bits()));
        arcs
    }

    /// Bytes held by the graph (heap capacity of every list and table).
    pub fn memory_bytes(&self) -> u64 {
        let lists = |l: &Vec<Vec<u32>>| -> usize {
            l.capacity() * std::mem::size_of::<Vec<u32>>()
                + l.iter().map(|v| v.capacity() * 4).sum::<usize>()
        };
        let wlists = |l: &Vec<Vec<f64>>| -> usize {
            l.capacity() * std::mem::size_of::<Vec<f64>>()
                + l.iter().map(|v| v.capacity() * 8).sum::<usize>()
        };
        (self.ids.capacity() * 8
            + self.direct.capacity() * 4
            + self.alive.capacity()
            + self.extra.capacity() * 16
            + lists(&self.out)
            + lists(&self.inn)
            + wlists(&self.out_w)
            + wlists(&self.in_w)) as u64
    }
}
