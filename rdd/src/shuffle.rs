//! Wide stages: map-side combining, one timely exchange, reduce-side aggregation that spills
//! sorted runs past its memory share and merges them, and outputs stored as blocks.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::time::Instant;

use morpheus_engine::{BlockId, Context, Error, Result, StageMetrics, StorageLevel};

use crate::node::{next_id, Node};
use crate::rdd::{Item, Key};

/// Hash of a key that every worker and process agrees on (SipHash with fixed keys).
pub(crate) fn stable_hash<K: Hash>(k: &K) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

/// How records are assigned to output partitions.
#[derive(Clone, Copy)]
pub(crate) enum Partitioning {
    /// `hash(key) % n`.
    Hash(usize),
    /// By sorted key ranges into `n` partitions; boundaries are sampled when the stage runs.
    Range(usize),
}

/// How values of one key are combined (`C` is the per-key state).
pub(crate) struct Combiner<V, C> {
    pub create: Rc<dyn Fn(V) -> C>,
    pub merge_value: Rc<dyn Fn(&mut C, V)>,
    pub merge: Rc<dyn Fn(&mut C, C)>,
    /// Whether merging makes a combiner bigger (groups do; sums and maxima do not). Decides
    /// whether merges count against the reduce side's memory share.
    pub grows: bool,
}

impl<V: 'static> Combiner<V, Vec<V>> {
    /// Collects every value of a key (grouping, sorting, repartitioning).
    pub(crate) fn collect() -> Self {
        Self {
            create: Rc::new(|v| vec![v]),
            merge_value: Rc::new(|c: &mut Vec<V>, v| c.push(v)),
            merge: Rc::new(|c: &mut Vec<V>, mut o: Vec<V>| c.append(&mut o)),
            grows: true,
        }
    }
}

impl<V, C> Clone for Combiner<V, C> {
    fn clone(&self) -> Self {
        Self {
            create: Rc::clone(&self.create),
            merge_value: Rc::clone(&self.merge_value),
            merge: Rc::clone(&self.merge),
            grows: self.grows,
        }
    }
}

pub(crate) struct Shuffle<K, V, C> {
    pub name: &'static str,
    pub parent: Rc<dyn Node<(K, V)>>,
    pub partitioning: Partitioning,
    pub combiner: Combiner<V, C>,
    /// Whether each output partition must be sorted by key.
    pub sorted: bool,
    done: Cell<bool>,
    outputs: RefCell<HashMap<usize, Vec<BlockId>>>,
}

impl<K, V, C> Shuffle<K, V, C> {
    pub(crate) fn new(
        name: &'static str,
        parent: Rc<dyn Node<(K, V)>>,
        partitioning: Partitioning,
        combiner: Combiner<V, C>,
        sorted: bool,
    ) -> Self {
        Self {
            name,
            parent,
            partitioning,
            combiner,
            sorted,
            done: Cell::new(false),
            outputs: RefCell::new(HashMap::new()),
        }
    }
}

fn out_partitions(p: &Partitioning) -> usize {
    match p {
        Partitioning::Hash(n) | Partitioning::Range(n) => *n,
    }
}

/// Estimated in-memory bytes per (K, C) entry, from the encoded size of a few samples.
fn entry_bytes<T: serde::Serialize>(samples: &[&T]) -> usize {
    let slot = std::mem::size_of::<T>() + 16; // hash table overhead
    if samples.is_empty() {
        return slot;
    }
    let enc: u64 = samples
        .iter()
        .map(|s| bincode::serialized_size(s).unwrap_or(0))
        .sum();
    slot + (enc as usize / samples.len()).saturating_sub(std::mem::size_of::<T>())
}

/// A sorted run on disk: DiskOnly blocks `(dataset, 0..chunks)`.
struct Run {
    dataset: u64,
    chunks: u32,
}

/// Reads a run back one chunk at a time.
struct RunReader<K, C> {
    run: Run,
    next_chunk: u32,
    buf: VecDeque<(K, C)>,
}

impl<K: Key, C: Item> RunReader<K, C> {
    fn next(&mut self, ctx: &Context<'_>) -> Result<Option<(K, C)>> {
        while self.buf.is_empty() && self.next_chunk < self.run.chunks {
            let id = BlockId::new(self.run.dataset, self.next_chunk);
            let block = ctx
                .blocks()
                .get::<(K, C)>(id)?
                .ok_or_else(|| Error::Job(format!("spilled run block {id} is missing")))?;
            self.buf.extend(block.iter().cloned());
            drop(block);
            ctx.blocks().remove(id);
            self.next_chunk += 1;
        }
        Ok(self.buf.pop_front())
    }
}

/// Reduce-side state of one output partition.
struct Aggregation<K, C> {
    map: HashMap<K, C>,
    runs: Vec<Run>,
}

impl<K: Key, V: Item, C: Item> Shuffle<K, V, C> {
    fn route(&self, k: &K, bounds: &[K]) -> usize {
        match &self.partitioning {
            Partitioning::Hash(n) => (stable_hash(k) % *n as u64) as usize,
            Partitioning::Range(_) => bounds.partition_point(|b| b < k),
        }
    }

    /// Sorts and writes `entries` as a run of DiskOnly chunks.
    fn spill_run(&self, ctx: &Context<'_>, mut entries: Vec<(K, C)>, chunk: usize) -> Result<Run> {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let dataset = next_id();
        let mut chunks = 0u32;
        let mut rest = entries.into_iter();
        loop {
            let part: Vec<(K, C)> = rest.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            ctx.blocks()
                .put(BlockId::new(dataset, chunks), part, StorageLevel::DiskOnly)?;
            chunks += 1;
        }
        Ok(Run { dataset, chunks })
    }

    /// Stores one output partition as MemoryAndDisk chunks.
    fn store_output(
        &self,
        ctx: &Context<'_>,
        q: usize,
        entries: impl Iterator<Item = Result<(K, C)>>,
        chunk: usize,
    ) -> Result<u64> {
        // Dataset ids only need to be unique within this worker's block manager.
        let dataset = next_id();
        let mut ids = Vec::new();
        let mut buf = Vec::with_capacity(chunk.min(1 << 16));
        let mut n = 0u64;
        let flush = |buf: Vec<(K, C)>, ids: &mut Vec<BlockId>| -> Result<()> {
            let id = BlockId::new(dataset, ids.len() as u32);
            // A chunk whose entries are bigger than memory allows (one huge group) goes to
            // disk directly; everything else may stay in memory until evicted.
            let fits =
                morpheus_engine::Spillable::estimate_bytes(&buf) <= ctx.blocks().budget_bytes() / 2;
            let level = if fits {
                StorageLevel::MemoryAndDisk
            } else {
                StorageLevel::DiskOnly
            };
            ctx.blocks().put(id, buf, level)?;
            ids.push(id);
            Ok(())
        };
        for e in entries {
            buf.push(e?);
            n += 1;
            if buf.len() >= chunk {
                flush(std::mem::take(&mut buf), &mut ids)?;
            }
        }
        if !buf.is_empty() {
            flush(buf, &mut ids)?;
        }
        self.outputs.borrow_mut().insert(q, ids);
        Ok(n)
    }

    fn run_stage(&self, ctx: &Context<'_>) -> Result<()> {
        let started = Instant::now();
        let spill_before = ctx.blocks().metrics();
        let peers = ctx.peers();
        let nout = out_partitions(&self.partitioning);
        let budget = ctx.blocks().budget_bytes();
        let cmb = self.combiner.clone();

        // Map side. Range partitioning first samples every worker's keys (so it keeps its
        // inputs); hash partitioning streams one input partition at a time.
        let local: Vec<usize> = (0..self.parent.partitions())
            .filter(|&p| self.parent.owner(p, peers) == ctx.index())
            .collect();
        let mut kept: Option<Vec<Vec<(K, V)>>> = None;
        let bounds: Vec<K> = match self.partitioning {
            Partitioning::Hash(_) => Vec::new(),
            Partitioning::Range(n) => {
                let mut inputs = Vec::with_capacity(local.len());
                for &p in &local {
                    inputs.push(self.parent.compute(ctx, p)?);
                }
                let mut sample: Vec<K> = Vec::new();
                let total: usize = inputs.iter().map(Vec::len).sum();
                let step = (total / (20 * n).max(1)).max(1);
                for (i, (k, _)) in inputs.iter().flatten().enumerate() {
                    if i % step == 0 {
                        sample.push(k.clone());
                    }
                }
                kept = Some(inputs);
                let mut all: Vec<K> = ctx
                    .all_gather("sort-sample", sample)?
                    .into_iter()
                    .flatten()
                    .collect();
                all.sort_unstable();
                (1..n)
                    .filter_map(|i| all.get(i * all.len() / n).cloned())
                    .collect()
            }
        };
        let mut records_in = 0u64;
        // The map-side combine map is flushed into the exchange when it passes a quarter of
        // the budget.
        let map_limit = budget / 4;
        // Reduce side: merge into per-partition maps; spill sorted runs past half the budget.
        let mut aggs: HashMap<usize, Aggregation<K, C>> = (0..nout)
            .filter(|q| q % peers == ctx.index())
            .map(|q| {
                (
                    q,
                    Aggregation {
                        map: HashMap::new(),
                        runs: Vec::new(),
                    },
                )
            })
            .collect();
        let mut per_entry = 0usize;
        let mut held = 0usize;
        let limit = budget / 2;
        let produce = |tx: &mut morpheus_engine::Sender<'_, (u32, K, C)>| -> Result<()> {
            let mut combined: HashMap<K, C> = HashMap::new();
            let mut held_map = 0usize;
            let mut map_entry = 0usize;
            let flush = |combined: &mut HashMap<K, C>,
                         tx: &mut morpheus_engine::Sender<'_, (u32, K, C)>|
             -> Result<()> {
                let mut outgoing: Vec<Vec<(u32, K, C)>> = vec![Vec::new(); peers];
                for (k, c) in combined.drain() {
                    let q = self.route(&k, &bounds);
                    outgoing[q % peers].push((q as u32, k, c));
                }
                for (dest, batch) in outgoing.into_iter().enumerate() {
                    if !batch.is_empty() {
                        tx.send(dest, batch)?;
                    }
                }
                Ok(())
            };
            let mut next_input = {
                let mut kept = kept.take().map(Vec::into_iter);
                let mut parts = local.iter();
                move || -> Result<Option<Vec<(K, V)>>> {
                    if let Some(k) = kept.as_mut() {
                        return Ok(k.next());
                    }
                    match parts.next() {
                        Some(&p) => Ok(Some(self.parent.compute(ctx, p)?)),
                        None => Ok(None),
                    }
                }
            };
            while let Some(part) = next_input()? {
                records_in += part.len() as u64;
                for (k, v) in part {
                    match combined.entry(k) {
                        Entry::Occupied(mut e) => {
                            (cmb.merge_value)(e.get_mut(), v);
                            if cmb.grows {
                                held_map += map_entry;
                            }
                        }
                        Entry::Vacant(e) => {
                            if map_entry == 0 {
                                map_entry = entry_bytes(&[&(e.key().clone(), ())])
                                    + std::mem::size_of::<C>();
                            }
                            e.insert((cmb.create)(v));
                            held_map += map_entry;
                        }
                    }
                    if held_map > map_limit {
                        flush(&mut combined, tx)?;
                        held_map = 0;
                    }
                }
            }
            flush(&mut combined, tx)
        };
        ctx.exchange_stream(self.name, produce, |batch| {
            if per_entry == 0 {
                let sample: Vec<&(u32, K, C)> = batch.iter().take(32).collect();
                per_entry = entry_bytes(&sample);
            }
            for (q, k, c) in batch {
                let agg = aggs
                    .get_mut(&(q as usize))
                    .expect("records arrive at their partition's owner");
                match agg.map.entry(k) {
                    Entry::Occupied(mut e) => {
                        (cmb.merge)(e.get_mut(), c);
                        if cmb.grows {
                            held += per_entry;
                        }
                    }
                    Entry::Vacant(e) => {
                        e.insert(c);
                        held += per_entry;
                    }
                }
            }
            if held > limit {
                let chunk = (limit / 8 / per_entry.max(1)).max(1);
                for agg in aggs.values_mut() {
                    if !agg.map.is_empty() {
                        // Take the map rather than drain it: a drained map keeps its peak
                        // capacity, and every partition's would stay allocated.
                        let entries: Vec<(K, C)> =
                            std::mem::take(&mut agg.map).into_iter().collect();
                        agg.runs.push(self.spill_run(ctx, entries, chunk)?);
                    }
                }
                held = 0;
            }
            Ok(())
        })?;

        // Finish each partition: in memory, or a k-way merge of its runs.
        let chunk = (budget / 16 / per_entry.max(1)).max(1);
        let mut records_out = 0u64;
        let mut qs: Vec<usize> = aggs.keys().copied().collect();
        qs.sort_unstable();
        for q in qs {
            let agg = aggs.remove(&q).expect("listed above");
            if agg.runs.is_empty() {
                let mut entries: Vec<(K, C)> = agg.map.into_iter().collect();
                if self.sorted {
                    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                }
                records_out += self.store_output(ctx, q, entries.into_iter().map(Ok), chunk)?;
                continue;
            }
            let mut runs = agg.runs;
            if !agg.map.is_empty() {
                let spill_chunk = (limit / 8 / per_entry.max(1)).max(1);
                runs.push(self.spill_run(ctx, agg.map.into_iter().collect(), spill_chunk)?);
            }
            let mut readers: Vec<RunReader<K, C>> = runs
                .into_iter()
                .map(|run| RunReader {
                    run,
                    next_chunk: 0,
                    buf: VecDeque::new(),
                })
                .collect();
            let mut heap = BinaryHeap::new();
            for (i, r) in readers.iter_mut().enumerate() {
                if let Some((k, c)) = r.next(ctx)? {
                    heap.push(Reverse(HeapItem {
                        key: k,
                        run: i,
                        value: c,
                    }));
                }
            }
            let merged = MergeIter {
                ctx,
                readers: &mut readers,
                heap,
                merge: Rc::clone(&cmb.merge),
            };
            records_out += self.store_output(ctx, q, merged, chunk)?;
        }
        let spill_after = ctx.blocks().metrics();
        ctx.record_stage(StageMetrics {
            name: format!("{}:aggregate", self.name),
            records_in,
            records_out,
            shuffle_bytes: 0,
            spilled_bytes: spill_after.spilled_bytes - spill_before.spilled_bytes,
            read_back_bytes: spill_after.read_back_bytes - spill_before.read_back_bytes,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    }
}

struct HeapItem<K, C> {
    key: K,
    run: usize,
    value: C,
}

impl<K: Ord, C> PartialEq for HeapItem<K, C> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key && self.run == o.run
    }
}
impl<K: Ord, C> Eq for HeapItem<K, C> {}
impl<K: Ord, C> PartialOrd for HeapItem<K, C> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<K: Ord, C> Ord for HeapItem<K, C> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key).then(self.run.cmp(&o.run))
    }
}

/// K-way merge of sorted runs, combining equal keys.
struct MergeIter<'a, 'c, K, C> {
    ctx: &'a Context<'c>,
    readers: &'a mut Vec<RunReader<K, C>>,
    heap: BinaryHeap<Reverse<HeapItem<K, C>>>,
    merge: Rc<dyn Fn(&mut C, C)>,
}

impl<K: Key, C: Item> MergeIter<'_, '_, K, C> {
    fn advance(&mut self, run: usize) -> Result<()> {
        if let Some((key, value)) = self.readers[run].next(self.ctx)? {
            self.heap.push(Reverse(HeapItem { key, run, value }));
        }
        Ok(())
    }

    fn next_entry(&mut self) -> Result<Option<(K, C)>> {
        let Some(Reverse(first)) = self.heap.pop() else {
            return Ok(None);
        };
        self.advance(first.run)?;
        let (key, mut acc) = (first.key, first.value);
        while self.heap.peek().is_some_and(|Reverse(top)| top.key == key) {
            let Reverse(item) = self.heap.pop().expect("peeked");
            (self.merge)(&mut acc, item.value);
            self.advance(item.run)?;
        }
        Ok(Some((key, acc)))
    }
}

impl<K: Key, C: Item> Iterator for MergeIter<'_, '_, K, C> {
    type Item = Result<(K, C)>;
    fn next(&mut self) -> Option<Result<(K, C)>> {
        self.next_entry().transpose()
    }
}

impl<K: Key, V: Item, C: Item> Node<(K, C)> for Shuffle<K, V, C> {
    fn partitions(&self) -> usize {
        out_partitions(&self.partitioning)
    }

    fn prepare(&self, ctx: &Context<'_>) -> Result<()> {
        if self.done.get() {
            return Ok(());
        }
        self.parent.prepare(ctx)?;
        self.run_stage(ctx)?;
        self.done.set(true);
        Ok(())
    }

    fn compute(&self, ctx: &Context<'_>, q: usize) -> Result<Vec<(K, C)>> {
        let outputs = self.outputs.borrow();
        let ids = outputs.get(&q).ok_or_else(|| {
            Error::Job(format!(
                "partition {q} of stage {} was not computed here",
                self.name
            ))
        })?;
        let mut out = Vec::new();
        for &id in ids {
            let block = ctx
                .blocks()
                .get::<(K, C)>(id)?
                .ok_or_else(|| Error::Job(format!("stage output block {id} is missing")))?;
            out.extend(block.iter().cloned());
        }
        Ok(out)
    }
}
