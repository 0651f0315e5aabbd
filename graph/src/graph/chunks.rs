//! CSR edge chunks: building them in ranges of sources whose staging fits the worker's
//! budget, and the in-edges of a loaded graph.
//!
//! Staging (the CSR arrays a range is sorted in before it is cut into chunks) is charged to
//! the budget with [`Context::reserve`], so building a range evicts (spills) the chunks
//! built before it. When a worker's whole staging does not fit in half of what its budget
//! can still free, its sources are split into consecutive ranges by degree, and each range
//! is built from its own pass over the input (the store, or the out-edge chunks).

use std::cell::Cell;
use std::rc::Rc;

use morpheus_engine::{BlockId, Context, Result, StorageLevel};
use morpheus_rdd::Item;

use super::{EdgeChunk, EdgeSet, Graph};

/// Bytes of edge data per chunk: 1/32 of the worker's budget, so chunks still fit beside
/// vertex state and cold ones can spill, within sane limits.
pub(super) fn chunk_bytes(ctx: &Context<'_>) -> usize {
    (ctx.blocks().budget_bytes() / 32).clamp(64, 16 << 20)
}

/// Bytes one range's staging may take: half of what the budget can still free (the rest
/// holds the chunks being cut and the vertex state reserved later).
pub(super) fn staging_limit(ctx: &Context<'_>) -> usize {
    let b = ctx.blocks();
    (b.budget_bytes().saturating_sub(b.pinned_bytes()) / 2).max(64 << 10)
}

/// Consecutive ranges `(lo, hi)` of `0..degree.len()` whose staging, `per_edge` bytes per
/// edge plus `per_vertex` per source, stays within `limit` (a source heavier than the
/// limit gets a range of its own).
pub(super) fn split_ranges(
    degree: &[u32],
    per_edge: usize,
    per_vertex: usize,
    limit: usize,
) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let (mut lo, mut bytes) = (0usize, 0usize);
    for (v, &d) in degree.iter().enumerate() {
        let b = d as usize * per_edge + per_vertex;
        if v > lo && bytes + b > limit {
            ranges.push((lo, v));
            (lo, bytes) = (v, 0);
        }
        bytes += b;
    }
    if lo < degree.len() || ranges.is_empty() {
        ranges.push((lo, degree.len()));
    }
    ranges
}

/// The chunks of an edge set as they are cut, range after range.
pub(super) struct ChunkSink {
    dataset: u64,
    /// First local vertex of each chunk so far (then the end, once finished).
    bounds: Vec<u32>,
    edges: u64,
}

impl ChunkSink {
    pub(super) fn new(ctx: &Context<'_>) -> Self {
        Self {
            dataset: ctx.new_dataset_id(),
            bounds: vec![0],
            edges: 0,
        }
    }

    /// The edge set; a worker without vertices (an empty graph, or fewer vertices than
    /// workers) still holds one empty chunk, so every chunk `bounds` names exists.
    pub(super) fn finish<E: Item>(mut self, ctx: &Context<'_>) -> Result<EdgeSet> {
        if self.bounds.len() == 1 {
            let empty = EdgeChunk::<E> {
                first: 0,
                offsets: vec![0],
                targets: Vec::new(),
                values: Vec::new(),
            };
            ctx.blocks().put(
                BlockId::new(self.dataset, 0),
                vec![empty],
                StorageLevel::MemoryAndDisk,
            )?;
            self.bounds.push(0);
        }
        Ok(EdgeSet {
            dataset: self.dataset,
            bounds: self.bounds,
            edges: self.edges,
        })
    }
}

/// A range's edges in CSR form before they are cut into chunks: `offsets[v]..offsets[v+1]`
/// index `targets` (and `values`, empty when `E` is zero-sized, whose one value is `unit`).
pub(super) struct Csr<E> {
    pub offsets: Vec<u64>,
    pub targets: Vec<u32>,
    pub values: Vec<Option<E>>,
    pub unit: Option<E>,
}

/// Staging bytes per edge of [`build_range`] (degrees, targets, staged pairs and values).
pub(super) fn build_bytes_per_edge<E>() -> usize {
    12 + 2 * std::mem::size_of::<Option<E>>()
}

/// Staging bytes per source of [`build_range`] (degree, offsets, fill cursor).
pub(super) const BUILD_BYTES_PER_VERTEX: usize = 20;

/// Builds CSR chunks for `n` local sources from edges `(source, target, value)` produced by
/// `scan` (see [`build_range`]; a counting pass first, then, when the staging does not fit
/// in one range, one filtering pass per range) and returns the edge set.
pub(crate) fn build_chunks<E: Item>(
    ctx: &Context<'_>,
    n: usize,
    order: Option<&[u64]>,
    unsorted: Option<&Cell<bool>>,
    scan: &dyn Fn(&mut dyn FnMut(u32, u32, E)) -> Result<()>,
) -> Result<EdgeSet> {
    let mut degree = vec![0u32; n];
    scan(&mut |s, _, _| degree[s as usize] += 1)?;
    let per_edge = build_bytes_per_edge::<E>();
    let ranges = split_ranges(
        &degree,
        per_edge,
        BUILD_BYTES_PER_VERTEX,
        staging_limit(ctx),
    );
    drop(degree);
    let mut sink = ChunkSink::new(ctx);
    if let [(0, hi)] = ranges[..] {
        build_range(ctx, &mut sink, 0, hi, order, unsorted, scan)?;
    } else {
        for (lo, hi) in ranges {
            let (l32, h32) = (lo as u32, hi as u32);
            build_range(ctx, &mut sink, lo, hi - lo, order, unsorted, &|f| {
                scan(&mut |s, d, e| {
                    if s >= l32 && s < h32 {
                        f(s - l32, d, e);
                    }
                })
            })?;
        }
    }
    sink.finish::<E>(ctx)
}

/// Builds the chunks of local sources `lo..lo + n` from edges `(source - lo, target, value)`
/// produced (twice: a counting pass and a filling pass) by `scan`, and puts them in the
/// block manager.
///
/// With `order`, each vertex's edges are sorted by `order[target]` (the targets' vertex ids):
/// in-edge lists are, so that sums over them run in the same order for any worker count.
/// A scan that can tell passes `unsorted` and sets it when some list is out of order.
pub(super) fn build_range<E: Item>(
    ctx: &Context<'_>,
    sink: &mut ChunkSink,
    lo: usize,
    n: usize,
    order: Option<&[u64]>,
    unsorted: Option<&Cell<bool>>,
    scan: &dyn Fn(&mut dyn FnMut(u32, u32, E)) -> Result<()>,
) -> Result<()> {
    let mut degree = vec![0u32; n + 1];
    scan(&mut |s, _, _| degree[s as usize] += 1)?;
    let offsets = prefix_sums(degree[..n].iter().map(|&d| u64::from(d)));
    drop(degree);
    let total = offsets[n];
    let _staging =
        ctx.reserve(total as usize * build_bytes_per_edge::<E>() + n * BUILD_BYTES_PER_VERTEX)?;
    let mut targets = vec![0u32; total as usize];
    let mut values: Vec<Option<E>> = Vec::new();
    let zero_sized = std::mem::size_of::<E>() == 0;
    if !zero_sized {
        values.resize(total as usize, None);
    }
    // Placing each edge straight at its source's slot writes all over `targets`: a cache
    // miss per edge once it outgrows the cache. Instead, edges are first appended to the
    // region of their bucket of 2^shift consecutive sources (at most 1024 sequential
    // streams), then each bucket's edges are placed within its region, which fits in cache.
    // Both passes keep each source's edges in scan order.
    let shift = (usize::BITS - n.saturating_sub(1).leading_zeros()).saturating_sub(10);
    let mut cursor: Vec<u64> = (0..n).step_by(1 << shift).map(|s| offsets[s]).collect();
    let mut staged: Vec<(u32, u32)> = vec![(0, 0); total as usize];
    let mut staged_values: Vec<Option<E>> = Vec::new();
    if !zero_sized {
        staged_values.resize(total as usize, None);
    }
    let mut unit: Option<E> = None;
    scan(&mut |s, d, e| {
        let c = &mut cursor[(s >> shift) as usize];
        let at = *c as usize;
        *c += 1;
        staged[at] = (s, d);
        if zero_sized {
            unit.get_or_insert(e);
        } else {
            staged_values[at] = Some(e);
        }
    })?;
    drop(cursor);
    let mut fill: Vec<u64> = offsets[..n].to_vec();
    for (at, &(s, d)) in staged.iter().enumerate() {
        let slot = fill[s as usize] as usize;
        fill[s as usize] += 1;
        targets[slot] = d;
        if !zero_sized {
            values[slot] = staged_values[at].take();
        }
    }
    drop((fill, staged, staged_values));
    let csr = Csr {
        offsets,
        targets,
        values,
        unit,
    };
    cut_chunks(ctx, sink, lo, n, csr, order, unsorted)
}

/// Offsets (with the total at the end) of lists of the given lengths. Over u64: a worker
/// may hold more than 4G edges in total.
pub(super) fn prefix_sums(lengths: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut offsets = Vec::with_capacity(lengths.size_hint().0 + 1);
    let mut total = 0u64;
    for d in lengths {
        offsets.push(total);
        total += d;
    }
    offsets.push(total);
    offsets
}

/// Sorts each of the first `n` lists by `order[target]`, keeping values with their targets.
fn sort_lists<E: Item>(n: usize, csr: &mut Csr<E>, order: &[u64]) {
    let zero_sized = std::mem::size_of::<E>() == 0;
    let Csr {
        offsets,
        targets,
        values,
        ..
    } = csr;
    // Each target's key is looked up once (the ids are a table of every vertex, read
    // at random): comparing through the table would look up two per comparison.
    let mut keyed: Vec<(u64, u32)> = Vec::new();
    let mut list: Vec<u32> = Vec::new();
    let mut moved: Vec<Option<E>> = Vec::new();
    for v in 0..n {
        let (a, b) = (offsets[v] as usize, offsets[v + 1] as usize);
        if b - a < 2 {
            continue;
        }
        // (key, position): the positions let values follow their targets.
        keyed.clear();
        keyed.extend(
            targets[a..b]
                .iter()
                .enumerate()
                .map(|(i, &t)| (order[t as usize], i as u32)),
        );
        if keyed.is_sorted_by_key(|k| k.0) {
            continue;
        }
        // In-edge lists are one ascending run per sending worker: the stable sort
        // finds the runs and merges them in linear time.
        keyed.sort_by_key(|k| k.0);
        list.clear();
        list.extend_from_slice(&targets[a..b]);
        for (slot, &(_, i)) in targets[a..b].iter_mut().zip(&keyed) {
            *slot = list[i as usize];
        }
        if !zero_sized {
            moved.clear();
            moved.extend(values[a..b].iter_mut().map(Option::take));
            for (slot, &(_, i)) in values[a..b].iter_mut().zip(&keyed) {
                *slot = moved[i as usize].take();
            }
        }
    }
}

/// Sorts each list by `order[target]` when asked (and when `unsorted` does not say they
/// already are), cuts the CSR of local sources `lo..lo + n` into chunks and puts them in
/// the block manager.
pub(super) fn cut_chunks<E: Item>(
    ctx: &Context<'_>,
    sink: &mut ChunkSink,
    lo: usize,
    n: usize,
    mut csr: Csr<E>,
    order: Option<&[u64]>,
    unsorted: Option<&Cell<bool>>,
) -> Result<()> {
    // A scan that reports its lists already sorted (`unsorted` stayed false) skips the pass.
    if let Some(order) = order.filter(|_| unsorted.is_none_or(Cell::get)) {
        sort_lists(n, &mut csr, order);
    }
    let Csr {
        offsets,
        targets,
        mut values,
        unit,
    } = csr;
    let zero_sized = std::mem::size_of::<E>() == 0;
    // Cut into chunks of about `chunk_bytes` each.
    let per_edge = 4 + std::mem::size_of::<E>();
    let budget = chunk_bytes(ctx);
    let mut first = 0usize;
    while first < n {
        let mut last = first;
        while last < n
            && ((offsets[last + 1] - offsets[first]) as usize * per_edge + (last - first) * 4)
                < budget
        {
            last += 1;
        }
        let last = last.max(first + 1).min(n);
        let (a, b) = (offsets[first] as usize, offsets[last] as usize);
        let chunk = EdgeChunk {
            first: (lo + first) as u32,
            offsets: offsets[first..=last]
                .iter()
                .map(|&o| (o - offsets[first]) as u32)
                .collect(),
            targets: targets[a..b].to_vec(),
            values: if zero_sized {
                match &unit {
                    Some(u) => vec![u.clone(); b - a],
                    None => Vec::new(),
                }
            } else {
                values[a..b]
                    .iter_mut()
                    .map(|v| v.take().expect("every edge slot was filled"))
                    .collect()
            },
        };
        let id = BlockId::new(sink.dataset, (sink.bounds.len() - 1) as u32);
        ctx.blocks()
            .put(id, vec![chunk], StorageLevel::MemoryAndDisk)?;
        sink.bounds.push((lo + last) as u32);
        first = last;
    }
    sink.edges += offsets[n];
    Ok(())
}

impl<V: Item, E: Item> Graph<V, E> {
    /// The in-edges (for each local vertex, the global sources of its incoming edges, in
    /// ascending source id), built on first use: on one worker by a counting sort of the
    /// out-chunks, otherwise by exchanges, in rounds of destination ranges that fit the
    /// budget.
    pub(crate) fn in_edges(&self, ctx: &Context<'_>) -> Result<Rc<EdgeSet>> {
        if let Some(set) = self.inn.borrow().as_ref() {
            return Ok(Rc::clone(set));
        }
        let set = if self.topo.peers == 1 {
            self.in_edges_local(ctx)?
        } else {
            self.in_edges_exchanged(ctx)?
        };
        let set = Rc::new(set);
        *self.inn.borrow_mut() = Some(Rc::clone(&set));
        Ok(set)
    }

    /// In-degree of every local vertex (collective): a count over the out-chunks, summed
    /// by a reduce-scatter.
    fn in_degrees(&self, ctx: &Context<'_>) -> Result<Vec<u32>> {
        let topo = &self.topo;
        let _count = ctx.reserve(topo.len() * 4 + topo.local_len() * 4)?;
        let mut count = vec![0u32; topo.len()];
        self.for_each_chunk(ctx, &self.out, |chunk| {
            for &d in &chunk.targets {
                count[d as usize] += 1;
            }
            Ok(())
        })?;
        crate::algo::sum_dense(ctx, topo, &count, |a, b| *a += b)
    }

    /// One worker: a counting sort straight from the out-edge chunks (sources come in
    /// ascending index, which on one worker is ascending id, so the lists come out sorted),
    /// one pass per destination range.
    fn in_edges_local(&self, ctx: &Context<'_>) -> Result<EdgeSet> {
        let n = self.topo.local_len();
        let (per_edge, limit) = (build_bytes_per_edge::<E>(), staging_limit(ctx));
        let ranges = if self.out.edges as usize * per_edge + n * BUILD_BYTES_PER_VERTEX <= limit {
            vec![(0, n)]
        } else {
            split_ranges(
                &self.in_degrees(ctx)?,
                per_edge,
                BUILD_BYTES_PER_VERTEX,
                limit,
            )
        };
        let mut sink = ChunkSink::new(ctx);
        for (lo, hi) in ranges {
            let (l32, h32) = (lo as u32, hi as u32);
            build_range::<E>(ctx, &mut sink, lo, hi - lo, None, None, &|f| {
                self.for_each_chunk(ctx, &self.out, |chunk| {
                    for i in 0..chunk.vertices() {
                        let src = chunk.first + i as u32;
                        let (t, w) = chunk.edges(i);
                        for (&d, e) in t.iter().zip(w) {
                            if d >= l32 && d < h32 {
                                f(d - l32, src, e.clone());
                            }
                        }
                    }
                    Ok(())
                })
            })?;
        }
        sink.finish::<E>(ctx)
    }

    /// Several workers: each round sends every worker the in-edges of its next range of
    /// destinations, which it builds into chunks. The ranges are cut by in-degree (when
    /// the edges could not fit in one round) and all-gathered, so every sender knows them.
    fn in_edges_exchanged(&self, ctx: &Context<'_>) -> Result<EdgeSet> {
        let topo = &self.topo;
        let (start, n, peers) = (topo.start() as usize, topo.local_len(), topo.peers);
        let record = std::mem::size_of::<(u32, u32, E)>();
        let per_edge = record + build_bytes_per_edge::<E>();
        // A round's staging is what this worker receives (senders hold a batch per worker).
        let limit = staging_limit(ctx);
        let total: u64 = ctx
            .all_gather("graph-in-total", self.out.edges)?
            .into_iter()
            .sum();
        let fits = total as usize * per_edge + n * BUILD_BYTES_PER_VERTEX <= limit;
        // Each round's bounds on every worker, and the edges this worker receives in each.
        let (bounds, expected): (Vec<Vec<u32>>, Vec<usize>) =
            if ctx.all_gather("graph-in-fits", fits)?.iter().all(|&f| f) {
                let bounds = topo.starts.windows(2).map(|w| vec![0, w[1] - w[0]]);
                (bounds.collect(), vec![total as usize])
            } else {
                let degree = self.in_degrees(ctx)?;
                let ranges = split_ranges(&degree, per_edge, BUILD_BYTES_PER_VERTEX, limit);
                let expected = ranges
                    .iter()
                    .map(|&(lo, hi)| degree[lo..hi].iter().map(|&d| d as usize).sum())
                    .collect();
                let mine: Vec<u32> = std::iter::once(0)
                    .chain(ranges.iter().map(|r| r.1 as u32))
                    .collect();
                (ctx.all_gather("graph-in-ranges", mine)?, expected)
            };
        let rounds = bounds.iter().map(|b| b.len() - 1).max().unwrap_or(0);
        // Round `r` of worker `w`: its local destinations `bounds[w][r]..bounds[w][r + 1]`
        // (empty once its ranges run out).
        let range = |w: usize, r: usize| {
            let b = &bounds[w];
            let last = *b.last().unwrap_or(&0);
            (
                b.get(r).copied().unwrap_or(last),
                b.get(r + 1).copied().unwrap_or(last),
            )
        };
        let mut sink = ChunkSink::new(ctx);
        for r in 0..rounds {
            let window: Vec<(u32, u32)> = (0..peers)
                .map(|w| {
                    let (a, b) = range(w, r);
                    (topo.starts[w] + a, topo.starts[w] + b)
                })
                .collect();
            let dest = |d: u32| {
                let o = topo.owner(d);
                (d >= window[o].0 && d < window[o].1).then_some(o)
            };
            // Charged before it arrives: what this worker receives in the round.
            let _held = ctx.reserve(expected.get(r).copied().unwrap_or(0) * record)?;
            let received = self.send_in_edges(ctx, &dest)?;
            let (lo, hi) = range(topo.me, r);
            let base = (start + lo as usize) as u32;
            build_range::<E>(
                ctx,
                &mut sink,
                lo as usize,
                (hi - lo) as usize,
                Some(&topo.ids),
                None,
                &|f| {
                    for (d, s, e) in received.iter().flatten() {
                        f(d - base, *s, e.clone());
                    }
                    Ok(())
                },
            )?;
        }
        sink.finish::<E>(ctx)
    }

    /// Sends each out-edge `(s, d)` whose `dest(d)` is a worker to it as `(d, s, value)`,
    /// in batches while the out-chunks are read (so the sender holds a batch per worker);
    /// returns the batches this worker received (kept as they arrive: concatenating them
    /// would copy every edge).
    fn send_in_edges(
        &self,
        ctx: &Context<'_>,
        dest: &dyn Fn(u32) -> Option<usize>,
    ) -> Result<Vec<Vec<(u32, u32, E)>>> {
        const BATCH: usize = 16 * 1024;
        let topo = &self.topo;
        let start = topo.start();
        let mut received: Vec<Vec<(u32, u32, E)>> = Vec::new();
        ctx.exchange_stream(
            "graph-in-edges",
            |sender| {
                let mut out: Vec<Vec<(u32, u32, E)>> =
                    (0..topo.peers).map(|_| Vec::with_capacity(BATCH)).collect();
                self.for_each_chunk(ctx, &self.out, |chunk| {
                    for i in 0..chunk.vertices() {
                        let src = start + chunk.first + i as u32;
                        let (t, w) = chunk.edges(i);
                        for (&d, e) in t.iter().zip(w) {
                            let Some(o) = dest(d) else { continue };
                            out[o].push((d, src, e.clone()));
                            if out[o].len() == BATCH {
                                let full =
                                    std::mem::replace(&mut out[o], Vec::with_capacity(BATCH));
                                sender.send(o, full)?;
                            }
                        }
                    }
                    Ok(())
                })?;
                for (o, batch) in out.into_iter().enumerate() {
                    if !batch.is_empty() {
                        sender.send(o, batch)?;
                    }
                }
                Ok(())
            },
            |batch| {
                received.push(batch);
                Ok(())
            },
        )?;
        Ok(received)
    }
}

#[cfg(test)]
mod tests {
    use super::split_ranges;

    #[test]
    fn ranges_cover_every_source_within_the_limit() {
        let degree = [5, 1, 1, 100, 2, 2, 2, 0];
        let r = split_ranges(&degree, 1, 0, 6);
        assert_eq!(r, vec![(0, 2), (2, 3), (3, 4), (4, 8)]);
        assert_eq!(split_ranges(&[], 4, 4, 10), vec![(0, 0)]);
        assert_eq!(split_ranges(&[1, 1], 4, 4, 100), vec![(0, 2)]);
    }
}
