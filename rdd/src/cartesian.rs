//! The cartesian product: both sides are counted first (the product must stay under a
//! limit), then the smaller side is broadcast to every worker and stored there as blocks
//! (so it spills under memory pressure); each partition of the larger side is paired with
//! all of it.

use std::cell::RefCell;
use std::rc::Rc;

use morpheus_engine::{
    BlockId, BlockManagerError, Context, Error, Result, Spillable, StorageLevel,
};

use crate::node::{next_id, Node};
use crate::rdd::{Item, Rdd};

/// The broadcast side as this worker holds it.
struct Broadcast {
    /// Whether the left side (`self` of [`Rdd::cartesian`]) was broadcast.
    left: bool,
    dataset: u64,
    chunks: u32,
    /// Its number of elements.
    len: u64,
}

struct Cartesian<T, U> {
    left: Rc<dyn Node<T>>,
    right: Rc<dyn Node<U>>,
    max_pairs: u64,
    state: RefCell<Option<Broadcast>>,
}

/// Elements in this worker's partitions of `node`.
fn local_count<X>(ctx: &Context<'_>, node: &Rc<dyn Node<X>>) -> Result<u64> {
    let mut n = 0;
    for p in 0..node.partitions() {
        if node.owner(p, ctx.peers()) == ctx.index() {
            ctx.check()?;
            n += node.compute(ctx, p)?.len() as u64;
        }
    }
    Ok(n)
}

/// Sends this worker's partitions of `node` to every worker and stores what arrives as
/// blocks `(dataset, 0..chunks)` of at most 1/16 of the budget each; returns `chunks`.
fn broadcast<X: Item>(ctx: &Context<'_>, node: &Rc<dyn Node<X>>, dataset: u64) -> Result<u32> {
    let budget = ctx.blocks().budget_bytes();
    let mut chunks = 0u32;
    let store = |batch: Vec<X>, chunks: &mut u32| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let per_item = (X::estimate_bytes(&batch) / batch.len()).max(1);
        let chunk_len = (budget / 16 / per_item).max(1);
        let mut rest = batch.into_iter();
        loop {
            let chunk: Vec<X> = rest.by_ref().take(chunk_len).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            let id = BlockId::new(dataset, *chunks);
            let level = if X::estimate_bytes(&chunk) <= budget / 2 {
                StorageLevel::MemoryAndDisk
            } else {
                StorageLevel::DiskOnly
            };
            match ctx.blocks().put(id, chunk.clone(), level) {
                Ok(()) => {}
                // Everything else is pinned: keep this chunk on disk only.
                Err(BlockManagerError::BudgetExhausted { .. }) => {
                    ctx.blocks().put(id, chunk, StorageLevel::DiskOnly)?;
                }
                Err(e) => return Err(e.into()),
            }
            *chunks += 1;
        }
    };
    ctx.exchange_stream(
        "cartesian-broadcast",
        |tx| {
            for p in 0..node.partitions() {
                if node.owner(p, ctx.peers()) != ctx.index() {
                    continue;
                }
                let data = node.compute(ctx, p)?;
                if data.is_empty() {
                    continue;
                }
                for dest in 1..ctx.peers() {
                    tx.send(dest, data.clone())?;
                }
                tx.send(0, data)?;
            }
            Ok(())
        },
        |batch| store(batch, &mut chunks),
    )?;
    Ok(chunks)
}

impl<T: Item, U: Item> Node<(T, U)> for Cartesian<T, U> {
    fn partitions(&self) -> usize {
        self.left.partitions() + self.right.partitions()
    }

    fn prepare(&self, ctx: &Context<'_>) -> Result<()> {
        if self.state.borrow().is_some() {
            return Ok(());
        }
        self.left.prepare(ctx)?;
        self.right.prepare(ctx)?;
        let mine = (
            local_count(ctx, &self.left)?,
            local_count(ctx, &self.right)?,
        );
        let (nl, nr) = ctx
            .all_gather("cartesian-count", mine)?
            .into_iter()
            .fold((0u64, 0u64), |(a, b), (x, y)| (a + x, b + y));
        match nl.checked_mul(nr) {
            Some(pairs) if pairs <= self.max_pairs => {}
            pairs => {
                let pairs = pairs.map_or_else(|| "more than 2^64".to_owned(), |p| p.to_string());
                return Err(Error::Job(format!(
                    "cartesian product of {nl} × {nr} elements would have {pairs} pairs, \
                     more than the limit of {}",
                    self.max_pairs
                )));
            }
        }
        let left = nl < nr;
        let dataset = next_id();
        let chunks = if left {
            broadcast(ctx, &self.left, dataset)?
        } else {
            broadcast(ctx, &self.right, dataset)?
        };
        *self.state.borrow_mut() = Some(Broadcast {
            left,
            dataset,
            chunks,
            len: nl.min(nr),
        });
        Ok(())
    }

    fn compute(&self, ctx: &Context<'_>, q: usize) -> Result<Vec<(T, U)>> {
        let state = self.state.borrow();
        let b = state
            .as_ref()
            .ok_or_else(|| Error::Job("cartesian was not prepared".into()))?;
        let nl = self.left.partitions();
        // Partitions of the broadcast side are empty; the others pair their elements with
        // every broadcast one.
        if b.left == (q < nl) {
            return Ok(Vec::new());
        }
        let missing = |c: u32| Error::Job(format!("broadcast block {c} of cartesian is missing"));
        let mut out = Vec::new();
        if b.left {
            let big = self.right.compute(ctx, q - nl)?;
            out.reserve(big.len() * b.len as usize);
            for c in 0..b.chunks {
                let block = ctx
                    .blocks()
                    .get::<T>(BlockId::new(b.dataset, c))?
                    .ok_or_else(|| missing(c))?;
                for x in block.iter() {
                    out.extend(big.iter().map(|y| (x.clone(), y.clone())));
                }
            }
        } else {
            let big = self.left.compute(ctx, q)?;
            out.reserve(big.len() * b.len as usize);
            for c in 0..b.chunks {
                let block = ctx
                    .blocks()
                    .get::<U>(BlockId::new(b.dataset, c))?
                    .ok_or_else(|| missing(c))?;
                for x in &big {
                    out.extend(block.iter().map(|y| (x.clone(), y.clone())));
                }
            }
        }
        Ok(out)
    }

    fn owner(&self, q: usize, peers: usize) -> usize {
        let nl = self.left.partitions();
        if q < nl {
            self.left.owner(q, peers)
        } else {
            self.right.owner(q - nl, peers)
        }
    }
}

impl<T: Item> Rdd<T> {
    /// Every pair `(x, y)` of an element `x` of `self` and `y` of `other`, in no particular
    /// order.
    ///
    /// When it runs, both sides are counted first (they are computed twice: persist
    /// expensive inputs); if `count(self) × count(other)` exceeds `max_pairs`, the job
    /// fails with an error saying so. The smaller side is then broadcast to every worker
    /// (kept as blocks, which spill under memory pressure) and paired with each partition
    /// of the larger one. The result has `self.partitions() + other.partitions()`
    /// partitions, placed like a union; those of the broadcast side are empty.
    pub fn cartesian<U: Item>(&self, other: &Rdd<U>, max_pairs: u64) -> Rdd<(T, U)> {
        Rdd::from_node(Cartesian {
            left: Rc::clone(&self.node),
            right: Rc::clone(&other.node),
            max_pairs,
            state: RefCell::new(None),
        })
    }
}
