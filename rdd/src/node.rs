//! Lineage nodes: how each partition of a collection is computed.

use std::cell::Cell;
use std::rc::Rc;

use morpheus_engine::{Context, Result};

/// A lineage node producing partitions of `T`.
pub(crate) trait Node<T> {
    /// Number of partitions.
    fn partitions(&self) -> usize;
    /// Runs the collective stages this node depends on, once, in lineage order. Every
    /// worker calls it in the same order.
    fn prepare(&self, ctx: &Context<'_>) -> Result<()>;
    /// Computes partition `p` (owned by this worker).
    fn compute(&self, ctx: &Context<'_>, p: usize) -> Result<Vec<T>>;
    /// The worker that computes partition `p`: `p % peers` unless the node inherits
    /// placement from its inputs (a union keeps each input's placement).
    fn owner(&self, p: usize, peers: usize) -> usize {
        p % peers
    }
}

thread_local! {
    static NEXT_ID: Cell<u64> = const { Cell::new(1 << 32) };
}

/// A dataset id for blocks. Every worker builds the same lineage in the same order, so ids
/// agree across workers; they start at 2^32 to stay clear of other users of the engine's
/// block manager.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.with(|c| {
        let id = c.get();
        c.set(id + 1);
        id
    })
}

/// A source computed by a closure from the partition index.
pub(crate) struct Source<T> {
    pub partitions: usize,
    pub f: Rc<dyn Fn(usize) -> Result<Vec<T>>>,
}

impl<T> Node<T> for Source<T> {
    fn partitions(&self) -> usize {
        self.partitions
    }
    fn prepare(&self, _: &Context<'_>) -> Result<()> {
        Ok(())
    }
    fn compute(&self, _: &Context<'_>, p: usize) -> Result<Vec<T>> {
        (self.f)(p)
    }
}

/// A narrow transformation of a parent's partitions (the fused pipeline).
pub(crate) struct MapPartitions<S, T> {
    pub parent: Rc<dyn Node<S>>,
    pub f: Rc<dyn Fn(usize, Vec<S>) -> Result<Vec<T>>>,
}

impl<S, T> Node<T> for MapPartitions<S, T> {
    fn partitions(&self) -> usize {
        self.parent.partitions()
    }
    fn prepare(&self, ctx: &Context<'_>) -> Result<()> {
        self.parent.prepare(ctx)
    }
    fn compute(&self, ctx: &Context<'_>, p: usize) -> Result<Vec<T>> {
        let input = self.parent.compute(ctx, p)?;
        (self.f)(p, input)
    }
    fn owner(&self, p: usize, peers: usize) -> usize {
        self.parent.owner(p, peers)
    }
}

/// Two collections side by side: partitions of `a`, then of `b`.
pub(crate) struct Union<T> {
    pub a: Rc<dyn Node<T>>,
    pub b: Rc<dyn Node<T>>,
}

impl<T> Node<T> for Union<T> {
    fn partitions(&self) -> usize {
        self.a.partitions() + self.b.partitions()
    }
    fn prepare(&self, ctx: &Context<'_>) -> Result<()> {
        self.a.prepare(ctx)?;
        self.b.prepare(ctx)
    }
    fn compute(&self, ctx: &Context<'_>, p: usize) -> Result<Vec<T>> {
        let na = self.a.partitions();
        if p < na {
            self.a.compute(ctx, p)
        } else {
            self.b.compute(ctx, p - na)
        }
    }
    fn owner(&self, p: usize, peers: usize) -> usize {
        let na = self.a.partitions();
        if p < na {
            self.a.owner(p, peers)
        } else {
            self.b.owner(p - na, peers)
        }
    }
}
