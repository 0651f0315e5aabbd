//! [`Rdd`]: construction, narrow transformations, persistence and actions.

use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use morpheus_engine::{BlockId, Context, Data, Error, Result, StorageLevel};

use crate::node::{next_id, MapPartitions, Node, Source, Union};
use crate::shuffle::{Combiner, Partitioning, Shuffle};

/// Element types of collections: exchangeable between workers and storable in blocks.
pub trait Item: Data + Sync {}
impl<T: Data + Sync> Item for T {}

/// Key types of pair collections: also hashable and totally ordered (spilled runs are merged
/// by key).
pub trait Key: Item + Hash + Eq + Ord {}
impl<T: Item + Hash + Eq + Ord> Key for T {}

/// A partitioned collection with lazy lineage. Cloning is cheap (it shares the lineage).
pub struct Rdd<T> {
    pub(crate) node: Rc<dyn Node<T>>,
    pub(crate) persisted: Option<u64>,
}

impl<T> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Self {
            node: Rc::clone(&self.node),
            persisted: self.persisted,
        }
    }
}

impl<T> std::fmt::Debug for Rdd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rdd")
            .field("partitions", &self.node.partitions())
            .finish_non_exhaustive()
    }
}

/// A persisted collection: partitions are kept in the block manager at a storage level.
struct Persist<T> {
    parent: Rc<dyn Node<T>>,
    level: StorageLevel,
    id: u64,
}

impl<T: Item> Node<T> for Persist<T> {
    fn partitions(&self) -> usize {
        self.parent.partitions()
    }
    fn prepare(&self, ctx: &Context<'_>) -> Result<()> {
        self.parent.prepare(ctx)
    }
    fn compute(&self, ctx: &Context<'_>, p: usize) -> Result<Vec<T>> {
        let id = BlockId::new(self.id, p as u32);
        if let Some(block) = ctx.blocks().get::<T>(id)? {
            return Ok(block.to_vec());
        }
        // Not cached, or a MemoryOnly block that was evicted: recompute from lineage.
        let data = self.parent.compute(ctx, p)?;
        match ctx.blocks().put(id, data.clone(), self.level) {
            Ok(()) => {}
            Err(morpheus_engine::BlockManagerError::BudgetExhausted { .. })
                if self.level == StorageLevel::MemoryAndDisk =>
            {
                ctx.blocks().put(id, data.clone(), StorageLevel::DiskOnly)?;
            }
            // A MemoryOnly partition that does not fit is simply not cached (as in Spark).
            Err(morpheus_engine::BlockManagerError::BudgetExhausted { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(data)
    }
    fn owner(&self, p: usize, peers: usize) -> usize {
        self.parent.owner(p, peers)
    }
}

/// Adds an index to each element, numbering partitions in order (needs every partition's
/// size first: a collective step).
struct ZipWithIndex<T> {
    parent: Rc<dyn Node<T>>,
    offsets: std::cell::RefCell<Option<Vec<u64>>>,
}

impl<T: Item> Node<(T, u64)> for ZipWithIndex<T> {
    fn partitions(&self) -> usize {
        self.parent.partitions()
    }
    fn prepare(&self, ctx: &Context<'_>) -> Result<()> {
        if self.offsets.borrow().is_some() {
            return Ok(());
        }
        self.parent.prepare(ctx)?;
        let n = self.parent.partitions();
        let mut sizes = Vec::new();
        for p in (0..n).filter(|&p| self.parent.owner(p, ctx.peers()) == ctx.index()) {
            sizes.push((p, self.parent.compute(ctx, p)?.len() as u64));
        }
        let mut all = vec![0u64; n];
        for (p, len) in ctx
            .all_gather("zip-with-index", sizes)?
            .into_iter()
            .flatten()
        {
            all[p] = len;
        }
        let mut offsets = Vec::with_capacity(n);
        let mut acc = 0;
        for len in all {
            offsets.push(acc);
            acc += len;
        }
        *self.offsets.borrow_mut() = Some(offsets);
        Ok(())
    }
    fn compute(&self, ctx: &Context<'_>, p: usize) -> Result<Vec<(T, u64)>> {
        let base = self
            .offsets
            .borrow()
            .as_ref()
            .map(|o| o[p])
            .ok_or_else(|| Error::Job("zip_with_index was not prepared".into()))?;
        Ok(self
            .parent
            .compute(ctx, p)?
            .into_iter()
            .zip(base..)
            .collect())
    }
    fn owner(&self, p: usize, peers: usize) -> usize {
        self.parent.owner(p, peers)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<T: Item> Rdd<T> {
    pub(crate) fn from_node(node: impl Node<T> + 'static) -> Self {
        Self {
            node: Rc::new(node),
            persisted: None,
        }
    }

    /// A collection computed partition by partition by `f` (called on the partition's owner).
    pub fn from_fn(partitions: usize, f: impl Fn(usize) -> Result<Vec<T>> + 'static) -> Self {
        Self::from_node(Source {
            partitions: partitions.max(1),
            f: Rc::new(f),
        })
    }

    /// Distributes `data` (the same on every worker, as SPMD code has it) over
    /// `partitions` partitions (0: the configured default); each worker keeps its own.
    pub fn parallelize(ctx: &Context<'_>, data: Vec<T>, partitions: usize) -> Self {
        let n = if partitions == 0 {
            ctx.config().default_partitions()
        } else {
            partitions
        };
        let data = Rc::new(data);
        Self::from_fn(n, move |p| {
            let (lo, hi) = (p * data.len() / n, (p + 1) * data.len() / n);
            Ok(data[lo..hi].to_vec())
        })
    }

    /// Number of partitions.
    pub fn partitions(&self) -> usize {
        self.node.partitions()
    }

    /// Applies `f` to each partition with its index.
    pub fn map_partitions_with_index<U: Item>(
        &self,
        f: impl Fn(usize, Vec<T>) -> Vec<U> + 'static,
    ) -> Rdd<U> {
        Rdd::from_node(MapPartitions {
            parent: Rc::clone(&self.node),
            f: Rc::new(move |p, v| Ok(f(p, v))),
        })
    }

    /// Applies `f` to each partition with its index; an error fails the action that
    /// computes the partition.
    pub fn try_map_partitions_with_index<U: Item>(
        &self,
        f: impl Fn(usize, Vec<T>) -> Result<Vec<U>> + 'static,
    ) -> Rdd<U> {
        Rdd::from_node(MapPartitions {
            parent: Rc::clone(&self.node),
            f: Rc::new(f),
        })
    }

    /// Applies `f` to each partition.
    pub fn map_partitions<U: Item>(&self, f: impl Fn(Vec<T>) -> Vec<U> + 'static) -> Rdd<U> {
        self.map_partitions_with_index(move |_, v| f(v))
    }

    /// Applies `f` to each element.
    pub fn map<U: Item>(&self, f: impl Fn(T) -> U + 'static) -> Rdd<U> {
        self.map_partitions(move |v| v.into_iter().map(&f).collect())
    }

    /// Applies `f` to each element and flattens the results.
    pub fn flat_map<U: Item, I: IntoIterator<Item = U>>(
        &self,
        f: impl Fn(T) -> I + 'static,
    ) -> Rdd<U> {
        self.map_partitions(move |v| v.into_iter().flat_map(&f).collect())
    }

    /// Keeps the elements for which `f` holds.
    pub fn filter(&self, f: impl Fn(&T) -> bool + 'static) -> Rdd<T> {
        self.map_partitions(move |v| v.into_iter().filter(|x| f(x)).collect())
    }

    /// Pairs each element with a key.
    pub fn key_by<K: Item>(&self, f: impl Fn(&T) -> K + 'static) -> Rdd<(K, T)> {
        self.map(move |x| (f(&x), x))
    }

    /// Both collections' elements (partitions of `self`, then of `other`).
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        Rdd::from_node(Union {
            a: Rc::clone(&self.node),
            b: Rc::clone(&other.node),
        })
    }

    /// A Bernoulli sample: each element kept with probability `fraction`, deterministic for
    /// a given `seed` and partitioning.
    pub fn sample(&self, fraction: f64, seed: u64) -> Rdd<T> {
        let threshold = (fraction.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
        self.map_partitions_with_index(move |p, v| {
            let mut state = splitmix(seed ^ (p as u64).wrapping_mul(0xa076_1d64_78bd_642f));
            v.into_iter()
                .filter(|_| {
                    state = splitmix(state);
                    state <= threshold
                })
                .collect()
        })
    }

    /// Keeps computed partitions at `level` (MemoryOnly: recomputed after eviction;
    /// MemoryAndDisk: spilled; DiskOnly: always on disk).
    pub fn persist(&self, level: StorageLevel) -> Rdd<T> {
        let id = next_id();
        Rdd {
            node: Rc::new(Persist {
                parent: Rc::clone(&self.node),
                level,
                id,
            }),
            persisted: Some(id),
        }
    }

    /// `persist(MemoryAndDisk)`.
    pub fn cache(&self) -> Rdd<T> {
        self.persist(StorageLevel::MemoryAndDisk)
    }

    /// Drops this worker's persisted partitions (memory and spill files).
    pub fn unpersist(&self, ctx: &Context<'_>) {
        if let Some(id) = self.persisted {
            ctx.blocks().remove_dataset(id);
        }
    }

    /// Each element with its position in the collection (partition order).
    pub fn zip_with_index(&self) -> Rdd<(T, u64)> {
        Rdd::from_node(ZipWithIndex {
            parent: Rc::clone(&self.node),
            offsets: Default::default(),
        })
    }

    /// Redistributes the elements evenly over `partitions` partitions (a shuffle).
    pub fn repartition(&self, partitions: usize) -> Rdd<T> {
        let n = partitions.max(1);
        let keyed = self.map_partitions_with_index(move |p, v| {
            v.into_iter()
                .enumerate()
                .map(|(i, x)| ((p as u64) << 40 | i as u64, x))
                .collect()
        });
        let shuffled = Shuffle::new(
            "repartition",
            keyed.node,
            Partitioning::Hash(n),
            Combiner::collect(),
            false,
        );
        Rdd::<(u64, Vec<T>)>::from_node(shuffled).flat_map(|(_, v)| v)
    }

    /// Fewer (or more) partitions. Partitions live on different workers, so this is a
    /// [`Rdd::repartition`] (a shuffle) here, not Spark's narrow coalesce.
    pub fn coalesce(&self, partitions: usize) -> Rdd<T> {
        self.repartition(partitions)
    }

    /// Orders the collection by `key` into `partitions` range partitions (0: keep the count).
    pub fn sort_by<K: Key>(
        &self,
        key: impl Fn(&T) -> K + 'static,
        ascending: bool,
        partitions: usize,
    ) -> Rdd<T> {
        self.key_by(key)
            .sort_by_key(ascending, partitions)
            .map(|(_, v)| v)
    }

    /// Computes the partitions this worker owns, as `(partition, elements)` (collective:
    /// every worker must call it, since computing may run shuffles).
    pub fn local_partitions(&self, ctx: &Context<'_>) -> Result<Vec<(usize, Vec<T>)>> {
        self.local(ctx)
    }

    fn local(&self, ctx: &Context<'_>) -> Result<Vec<(usize, Vec<T>)>> {
        self.node.prepare(ctx)?;
        let mut out = Vec::new();
        for p in 0..self.partitions() {
            if self.node.owner(p, ctx.peers()) == ctx.index() {
                ctx.check()?;
                out.push((p, self.node.compute(ctx, p)?));
            }
        }
        Ok(out)
    }

    /// All elements in partition order, on every worker.
    pub fn collect(&self, ctx: &Context<'_>) -> Result<Vec<T>> {
        let mut parts: Vec<(usize, Vec<T>)> = ctx
            .all_gather("collect", self.local(ctx)?)?
            .into_iter()
            .flatten()
            .collect();
        parts.sort_by_key(|(p, _)| *p);
        Ok(parts.into_iter().flat_map(|(_, v)| v).collect())
    }

    /// Number of elements.
    pub fn count(&self, ctx: &Context<'_>) -> Result<u64> {
        let mine: u64 = self.local(ctx)?.iter().map(|(_, v)| v.len() as u64).sum();
        Ok(ctx.all_gather("count", mine)?.into_iter().sum())
    }

    /// Combines all elements with `f` (associative); `None` for an empty collection.
    pub fn reduce(&self, ctx: &Context<'_>, f: impl Fn(T, T) -> T) -> Result<Option<T>> {
        let mine = self.local(ctx)?.into_iter().flat_map(|(_, v)| v).reduce(&f);
        Ok(ctx
            .all_gather("reduce", mine)?
            .into_iter()
            .flatten()
            .reduce(&f))
    }

    /// Folds each partition from `zero`, then the partial results from `zero`.
    pub fn fold(&self, ctx: &Context<'_>, zero: T, f: impl Fn(T, T) -> T) -> Result<T> {
        self.aggregate(ctx, zero, &f, &f)
    }

    /// Folds each partition with `seq` from `zero`, then combines partials with `comb`.
    pub fn aggregate<U: Item>(
        &self,
        ctx: &Context<'_>,
        zero: U,
        seq: impl Fn(U, T) -> U,
        comb: impl Fn(U, U) -> U,
    ) -> Result<U> {
        let partials: Vec<U> = self
            .local(ctx)?
            .into_iter()
            .map(|(_, v)| v.into_iter().fold(zero.clone(), &seq))
            .collect();
        Ok(ctx
            .all_gather("aggregate", partials)?
            .into_iter()
            .flatten()
            .fold(zero, comb))
    }

    /// The first `n` elements in partition order.
    pub fn take(&self, ctx: &Context<'_>, n: usize) -> Result<Vec<T>> {
        let heads: Vec<(usize, Vec<T>)> = self
            .local(ctx)?
            .into_iter()
            .map(|(p, mut v)| {
                v.truncate(n);
                (p, v)
            })
            .collect();
        let mut parts: Vec<(usize, Vec<T>)> = ctx
            .all_gather("take", heads)?
            .into_iter()
            .flatten()
            .collect();
        parts.sort_by_key(|(p, _)| *p);
        Ok(parts.into_iter().flat_map(|(_, v)| v).take(n).collect())
    }

    /// The first element, if any.
    pub fn first(&self, ctx: &Context<'_>) -> Result<Option<T>> {
        Ok(self.take(ctx, 1)?.pop())
    }

    /// Calls `f` on every element, on the worker that holds it.
    pub fn foreach(&self, ctx: &Context<'_>, f: impl Fn(T)) -> Result<()> {
        for (_, v) in self.local(ctx)? {
            v.into_iter().for_each(&f);
        }
        // Completes together on every worker.
        ctx.all_gather("foreach", ())?;
        Ok(())
    }
}

impl<T: Item + Ord> Rdd<T> {
    /// The `n` largest elements, largest first.
    pub fn top(&self, ctx: &Context<'_>, n: usize) -> Result<Vec<T>> {
        let mut mine: Vec<T> = self.local(ctx)?.into_iter().flat_map(|(_, v)| v).collect();
        mine.sort_unstable_by(|a, b| b.cmp(a));
        mine.truncate(n);
        let mut all: Vec<T> = ctx.all_gather("top", mine)?.into_iter().flatten().collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(n);
        Ok(all)
    }

    /// The `n` smallest elements, smallest first.
    pub fn take_ordered(&self, ctx: &Context<'_>, n: usize) -> Result<Vec<T>> {
        let mut mine: Vec<T> = self.local(ctx)?.into_iter().flat_map(|(_, v)| v).collect();
        mine.sort_unstable();
        mine.truncate(n);
        let mut all: Vec<T> = ctx
            .all_gather("take-ordered", mine)?
            .into_iter()
            .flatten()
            .collect();
        all.sort_unstable();
        all.truncate(n);
        Ok(all)
    }
}

impl<T: Key> Rdd<T> {
    /// The distinct elements (a shuffle).
    pub fn distinct(&self) -> Rdd<T> {
        self.map(|x| (x, ()))
            .reduce_by_key(|_, _| ())
            .map(|(x, ())| x)
    }

    /// How often each element occurs, on every worker.
    pub fn count_by_value(&self, ctx: &Context<'_>) -> Result<HashMap<T, u64>> {
        Ok(self
            .map(|x| (x, 1u64))
            .reduce_by_key(|a, b| a + b)
            .collect(ctx)?
            .into_iter()
            .collect())
    }
}
