//! Pregel (bulk-synchronous vertex programs) and message aggregation.
//!
//! A superstep: every active vertex sends messages along its out-edges; messages are
//! combined per destination *before* they leave the worker (a dense slot per destination
//! plus a list of touched slots, so sparse supersteps cost what they touch), travel to the
//! destination's owner as one batch per worker (one collective exchange), and each vertex
//! that received something runs the vertex program and becomes active for the next
//! superstep. Vertices that receive nothing have voted to halt. The loop ends when no
//! messages are sent anywhere or after `max_supersteps`.

use morpheus_engine::{Context, Data, Result};
use morpheus_rdd::Item;

use crate::graph::{EdgeRef, Graph, Topology};

/// Per-destination combining of messages bound for any vertex of the graph.
pub(crate) struct Outbox<M> {
    slots: Vec<Option<M>>,
    touched: Vec<Vec<u32>>,
}

impl<M: Data> Outbox<M> {
    pub(crate) fn new(topo: &Topology) -> Self {
        Outbox {
            slots: vec![None; topo.len()],
            touched: vec![Vec::new(); topo.peers],
        }
    }

    /// Adds message `m` for global vertex `g`, combining with what is there.
    #[inline]
    pub(crate) fn send(&mut self, topo: &Topology, g: u32, m: M, combine: &impl Fn(M, M) -> M) {
        let slot = &mut self.slots[g as usize];
        *slot = Some(match slot.take() {
            Some(old) => combine(old, m),
            None => {
                self.touched[topo.owner(g)].push(g);
                m
            }
        });
    }

    /// Messages sent, after combining.
    pub(crate) fn len(&self) -> usize {
        self.touched.iter().map(Vec::len).sum()
    }

    /// Exchanges the combined messages (collective) and returns those for this worker's
    /// vertices as `(local index, message)`, combined across senders.
    pub(crate) fn deliver(
        &mut self,
        ctx: &Context<'_>,
        topo: &Topology,
        combine: &impl Fn(M, M) -> M,
    ) -> Result<Vec<(u32, M)>> {
        let mut out: Vec<Vec<(u32, M)>> = Vec::with_capacity(topo.peers);
        let slots = &mut self.slots;
        for (w, touched) in self.touched.iter_mut().enumerate() {
            let base = topo.starts[w];
            out.push(
                touched
                    .drain(..)
                    .map(|g| {
                        let m = slots[g as usize]
                            .take()
                            .expect("touched slot holds a message");
                        (g - base, m)
                    })
                    .collect(),
            );
        }
        let mine = std::mem::take(&mut out[topo.me]);
        if topo.peers == 1 {
            return Ok(mine);
        }
        let received = ctx.exchange("pregel-messages", out)?;
        if received.is_empty() {
            return Ok(mine);
        }
        // Combine what several workers sent to the same vertex.
        let base = topo.start();
        for (l, m) in mine.into_iter().chain(received) {
            let g = base + l;
            let slot = &mut self.slots[g as usize];
            *slot = Some(match slot.take() {
                Some(old) => combine(old, m),
                None => {
                    self.touched[topo.me].push(g);
                    m
                }
            });
        }
        let slots = &mut self.slots;
        Ok(self.touched[topo.me]
            .drain(..)
            .map(|g| {
                let m = slots[g as usize]
                    .take()
                    .expect("touched slot holds a message");
                (g - base, m)
            })
            .collect())
    }
}

/// Whether any worker still has work: the sum of `n` over workers is positive.
pub(crate) fn global_sum(ctx: &Context<'_>, name: &str, n: u64) -> Result<u64> {
    if ctx.peers() == 1 {
        return Ok(n);
    }
    Ok(ctx.all_gather(name, n)?.into_iter().sum())
}

impl<V: Item + PartialEq, E: Item> Graph<V, E> {
    /// Runs a Pregel computation and returns the graph with the final vertex values.
    ///
    /// - Superstep 0 runs `vprog(id, value, initial)` on every vertex; all are active.
    /// - In each superstep, every active vertex calls `send` for each out-edge; a returned
    ///   message goes to the edge's destination. Messages to the same vertex are combined
    ///   with `combine` (associative and commutative) before and after the exchange.
    /// - A vertex that receives a message runs `vprog(id, value, message)`; if its value
    ///   changed it is active in the next superstep, otherwise (and without messages) it
    ///   has voted to halt.
    /// - Ends when no message is sent, or after `max_supersteps` supersteps of messages.
    pub fn pregel<M: Data>(
        &self,
        ctx: &Context<'_>,
        initial: M,
        max_supersteps: usize,
        vprog: impl Fn(u64, &V, M) -> V,
        send: impl Fn(EdgeRef<'_, V, E>) -> Option<M>,
        combine: impl Fn(M, M) -> M,
    ) -> Result<Graph<V, E>> {
        let topo = &self.topo;
        let ids = topo.local_ids();
        let n = topo.local_len();
        let mut values: Vec<V> = ids
            .iter()
            .zip(&self.values)
            .map(|(&id, v)| vprog(id, v, initial.clone()))
            .collect();
        let mut active = vec![u64::MAX; n.div_ceil(64)];
        let mut outbox = Outbox::<M>::new(topo);
        for step in 0..max_supersteps {
            ctx.check()?;
            self.for_each_active(ctx, &self.out, &active, |v, targets, evals| {
                let src = ids[v as usize];
                let src_value = &values[v as usize];
                for (&d, e) in targets.iter().zip(evals) {
                    let edge = EdgeRef {
                        src,
                        src_value,
                        dst: topo.ids[d as usize],
                        value: e,
                    };
                    if let Some(m) = send(edge) {
                        outbox.send(topo, d, m, &combine);
                    }
                }
            })?;
            let sent = global_sum(ctx, "pregel-sent", outbox.len() as u64)?;
            if sent == 0 {
                tracing::debug!(supersteps = step, "pregel converged");
                break;
            }
            let inbox = outbox.deliver(ctx, topo, &combine)?;
            active.iter_mut().for_each(|w| *w = 0);
            for (l, m) in inbox {
                let l = l as usize;
                let new = vprog(ids[l], &values[l], m);
                if new != values[l] {
                    values[l] = new;
                    active[l / 64] |= 1 << (l % 64);
                }
            }
        }
        Ok(self.with_values(values))
    }
}

impl<V: Item, E: Item> Graph<V, E> {
    /// For each vertex, the combination of the messages `send` produces along its in-edges
    /// (`send` sees the edge with its source's value; `None` sends nothing). Vertices that
    /// receive nothing get `None`. Values align with [`Graph::local_ids`].
    pub fn aggregate_messages<M: Data>(
        &self,
        ctx: &Context<'_>,
        send: impl Fn(EdgeRef<'_, V, E>) -> Option<M>,
        combine: impl Fn(M, M) -> M,
    ) -> Result<Vec<Option<M>>> {
        let topo = &self.topo;
        let ids = topo.local_ids();
        let n = topo.local_len();
        let all = vec![u64::MAX; n.div_ceil(64)];
        let mut outbox = Outbox::<M>::new(topo);
        self.for_each_active(ctx, &self.out, &all, |v, targets, evals| {
            let src = ids[v as usize];
            for (&d, e) in targets.iter().zip(evals) {
                let edge = EdgeRef {
                    src,
                    src_value: &self.values[v as usize],
                    dst: topo.ids[d as usize],
                    value: e,
                };
                if let Some(m) = send(edge) {
                    outbox.send(topo, d, m, &combine);
                }
            }
        })?;
        let mut out = vec![None; n];
        for (l, m) in outbox.deliver(ctx, topo, &combine)? {
            out[l as usize] = Some(m);
        }
        Ok(out)
    }
}

/// Bitmap helpers shared by the algorithms.
pub(crate) fn bitmap(n: usize) -> Vec<u64> {
    vec![0u64; n.div_ceil(64)]
}

#[inline]
pub(crate) fn set_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

#[inline]
pub(crate) fn get_bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 == 1
}
