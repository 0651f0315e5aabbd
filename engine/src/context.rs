//! Worker launch, the per-worker [`Context`], the first-error slot and the exchange.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use morpheus_spill::{BlockId, BlockManager};
use timely::container::CapacityContainerBuilder;
use timely::container::{ContainerBuilder, LengthPreservingContainerBuilder, PushInto};
use timely::dataflow::channels::pact::ExchangeCore;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

use crate::cluster::{self, Link};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::{JobMetrics, StageMetrics};
use crate::Data;

/// First error wins: which worker failed first, and a flag every worker polls. In a
/// cluster run, the connections too: a failure here closes them, and a lost peer fails
/// every worker.
#[derive(Clone, Default)]
struct ErrorSlot {
    failed: Arc<AtomicBool>,
    first: Arc<Mutex<Option<usize>>>,
    link: Option<Arc<Link>>,
}

impl ErrorSlot {
    fn record(&self, worker: usize) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(worker);
        self.failed.store(true, Ordering::SeqCst);
        if let Some(link) = &self.link {
            link.fail();
        }
    }

    fn check(&self) -> Result<()> {
        if let Some(lost) = self.link.as_ref().and_then(|l| l.lost()) {
            return Err(lost);
        }
        if self.failed.load(Ordering::SeqCst) {
            let worker = self
                .first
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or(usize::MAX);
            return Err(Error::Aborted { worker });
        }
        Ok(())
    }
}

/// What one worker sees: its identity, its block manager, metrics and collective operations.
pub struct Context<'w> {
    worker: RefCell<&'w mut Worker>,
    index: usize,
    peers: usize,
    config: Config,
    blocks: BlockManager,
    slot: ErrorSlot,
    metrics: RefCell<JobMetrics>,
    next_dataset: Cell<u64>,
    next_reservation: Cell<u32>,
    /// One [`Channel`] per record type exchanged, built on first use.
    channels: RefCell<HashMap<TypeId, Box<dyn Any>>>,
}

/// The dataflow that carries every exchange of one record type: built on the first and
/// reused, each exchange one epoch of its input. (Building a dataflow per exchange cost
/// about 10 µs on one worker and 40 µs per collective on two, which iterative algorithms
/// paid every round.) Workers build them in the same order, since exchanges are collective.
struct Channel<D: Data> {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<(u32, Vec<D>)>>>,
    probe: ProbeHandle<u64>,
    /// Received batches with their epoch.
    inbox: Rc<RefCell<Vec<(u64, Vec<D>)>>>,
}

impl<D: Data> Channel<D> {
    fn build(worker: &mut Worker) -> Self {
        let inbox: Rc<RefCell<Vec<(u64, Vec<D>)>>> = Rc::default();
        let mut input = InputHandle::new();
        let sink = Rc::clone(&inbox);
        let probe = worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                    ExchangeCore::<EagerBuilder<(u32, Vec<D>)>, _>::new_core(
                        |(dest, _): &(u32, Vec<D>)| u64::from(*dest),
                    ),
                    "Collect",
                    move |_cap, _info| {
                        move |input, _output| {
                            input.for_each(|time, data| {
                                // Input handles always send under a time.
                                let t = time.least().copied().unwrap_or_default();
                                sink.borrow_mut()
                                    .extend(data.drain(..).map(|(_, batch)| (t, batch)));
                            });
                        }
                    },
                )
                .probe()
                .0
        });
        Channel {
            input,
            probe,
            inbox,
        }
    }
}

/// Memory charged to a worker's budget while alive (see [`Context::reserve`]).
#[derive(Debug)]
pub struct Reservation<'a> {
    blocks: &'a BlockManager,
    id: BlockId,
}

impl Reservation<'_> {
    /// Changes the reserved amount (evicting blocks if it grows).
    pub fn resize(&self, bytes: usize) -> Result<()> {
        Ok(self.blocks.reserve(self.id, bytes)?)
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.blocks.remove(self.id);
    }
}

/// Dataset id of reservations: their own range, clear of collections and graphs.
const RESERVATION_DATASET: u64 = u64::MAX - 1;

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("index", &self.index)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl Context<'_> {
    /// This worker's global index, `0..peers()`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Total number of workers in the job.
    pub fn peers(&self) -> usize {
        self.peers
    }

    /// The job configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This worker's block manager.
    pub fn blocks(&self) -> &BlockManager {
        &self.blocks
    }

    /// Charges `bytes` of memory the caller holds outside blocks (vertex state, scratch
    /// arrays) to this worker's budget until the returned guard drops: cold blocks are
    /// evicted (spilled) to make room, so the budget bounds the job's data, not only its
    /// blocks.
    ///
    /// # Errors
    /// The reservation does not fit even after evicting every unpinned block.
    pub fn reserve(&self, bytes: usize) -> Result<Reservation<'_>> {
        let n = self.next_reservation.get();
        self.next_reservation.set(n.wrapping_add(1));
        let id = BlockId::new(RESERVATION_DATASET, n);
        self.blocks.reserve(id, bytes).map_err(|e| match e {
            morpheus_spill::Error::BudgetExhausted {
                free_bytes,
                budget_bytes,
                ..
            } => Error::Job(format!(
                "memory budget too small: worker {} needs {bytes} B for in-memory state but only \
                 {free_bytes} B of its {budget_bytes} B budget can be freed; raise the memory budget",
                self.index
            )),
            other => other.into(),
        })?;
        Ok(Reservation {
            blocks: &self.blocks,
            id,
        })
    }

    /// A fresh dataset id; every worker gets the same sequence, since every worker builds
    /// the same collections in the same order.
    pub fn new_dataset_id(&self) -> u64 {
        let id = self.next_dataset.get();
        self.next_dataset.set(id + 1);
        id
    }

    /// Fails if another worker has failed (so this one stops instead of waiting for it).
    pub fn check(&self) -> Result<()> {
        self.slot.check()
    }

    /// Records a finished stage.
    pub fn record_stage(&self, stage: StageMetrics) {
        let mut m = self.metrics.borrow_mut();
        m.records_in += stage.records_in;
        m.records_out += stage.records_out;
        m.shuffle_bytes += stage.shuffle_bytes;
        m.stages.push(stage);
    }

    /// Collective all-to-all exchange: `outgoing[w]` goes to worker `w`; returns everything
    /// sent to this worker. Batches travel whole (dense containers, not tuples).
    pub fn exchange<D: Data>(&self, name: &str, outgoing: Vec<Vec<D>>) -> Result<Vec<D>> {
        let mut received = Vec::new();
        self.exchange_with(name, outgoing, |batch| {
            received.extend(batch);
            Ok(())
        })?;
        Ok(received)
    }

    /// Like [`Context::exchange`], but hands each received batch to `on_batch` as it
    /// arrives (so a consumer can aggregate or spill without holding everything).
    pub fn exchange_with<D: Data>(
        &self,
        name: &str,
        outgoing: Vec<Vec<D>>,
        on_batch: impl FnMut(Vec<D>) -> Result<()>,
    ) -> Result<()> {
        assert_eq!(
            outgoing.len(),
            self.peers,
            "exchange needs one outgoing vector per worker"
        );
        self.exchange_stream(
            name,
            |tx| {
                for (dest, records) in outgoing.into_iter().enumerate() {
                    tx.send(dest, records)?;
                }
                Ok(())
            },
            on_batch,
        )
    }

    /// The streaming exchange: `produce` sends batches to workers through the [`Sender`]
    /// while the dataflow runs (each send also steps the worker, so received batches reach
    /// `on_batch` as they arrive). Memory on both sides stays bounded by what the producer
    /// and consumer hold, not by the volume exchanged.
    pub fn exchange_stream<D: Data>(
        &self,
        name: &str,
        produce: impl FnOnce(&mut Sender<'_, D>) -> Result<()>,
        mut on_batch: impl FnMut(Vec<D>) -> Result<()>,
    ) -> Result<()> {
        self.check()?;
        let started = Instant::now();
        let spill_before = self.blocks.metrics();
        let mut worker = self.worker.borrow_mut();
        let key = TypeId::of::<D>();
        let reused = self.channels.borrow_mut().remove(&key);
        let mut channel: Box<Channel<D>> = match reused.map(|c| c.downcast::<Channel<D>>()) {
            Some(Ok(c)) => c,
            _ => Box::new(Channel::build(&mut worker)),
        };
        let epoch = *channel.input.time();
        let Channel {
            input,
            probe,
            inbox,
        } = &mut *channel;
        let mut tx = Sender {
            worker: &mut worker,
            input,
            inbox,
            on_batch: &mut on_batch,
            peers: self.peers,
            slot: &self.slot,
            records_in: 0,
            records_out: 0,
        };
        produce(&mut tx)?;
        let (records_in, mut records_out) = (tx.records_in, tx.records_out);
        input.advance_to(epoch + 1);
        // Batches of the next epoch may arrive from a peer that is done with this one:
        // they stay in the inbox for the next exchange.
        let mut deliver = || -> Result<()> {
            let batches = std::mem::take(&mut *inbox.borrow_mut());
            let (now, later): (Vec<_>, Vec<_>) =
                batches.into_iter().partition(|(t, _)| *t <= epoch);
            inbox.borrow_mut().extend(later);
            for (_, b) in now {
                records_out += b.len() as u64;
                on_batch(b)?;
            }
            Ok(())
        };
        // The inbox and the probe change only while the worker steps, so once the probe
        // has passed the epoch after a delivery, every batch of it has been delivered.
        loop {
            deliver()?;
            if !probe.less_than(&(epoch + 1)) {
                break;
            }
            self.check()?;
            worker.step_or_park(Some(Duration::from_micros(100)));
        }
        self.channels.borrow_mut().insert(key, channel);
        drop(worker);
        let spill_after = self.blocks.metrics();
        self.record_stage(StageMetrics {
            name: name.to_owned(),
            records_in,
            records_out,
            shuffle_bytes: records_in * std::mem::size_of::<D>() as u64,
            spilled_bytes: spill_after.spilled_bytes - spill_before.spilled_bytes,
            read_back_bytes: spill_after.read_back_bytes - spill_before.read_back_bytes,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    /// Collective: every worker contributes `value`; every worker gets all values in worker
    /// order.
    pub fn all_gather<D: Data>(&self, name: &str, value: D) -> Result<Vec<D>> {
        let me = self.index as u64;
        let out = (0..self.peers).map(|_| vec![(me, value.clone())]).collect();
        let mut all = self.exchange(name, out)?;
        all.sort_by_key(|(w, _)| *w);
        Ok(all.into_iter().map(|(_, v)| v).collect())
    }
}

/// A container builder for the exchange that ships every record (one batch of up to 16 Ki
/// records) as soon as it is pushed. timely's default builder fills 8 KiB containers,
/// which for 32-byte `(worker, Vec)` records holds 256 batches per destination before
/// anything moves: hundreds of MiB in flight in a large shuffle.
struct EagerBuilder<T> {
    pending: std::collections::VecDeque<Vec<T>>,
    current: Option<Vec<T>>,
}

impl<T> Default for EagerBuilder<T> {
    fn default() -> Self {
        EagerBuilder {
            pending: std::collections::VecDeque::new(),
            current: None,
        }
    }
}

impl<T> PushInto<T> for EagerBuilder<T> {
    fn push_into(&mut self, item: T) {
        self.pending.push_back(vec![item]);
    }
}

impl<T: 'static> ContainerBuilder for EagerBuilder<T> {
    type Container = Vec<T>;
    fn extract(&mut self) -> Option<&mut Vec<T>> {
        self.current = self.pending.pop_front();
        self.current.as_mut()
    }
    fn finish(&mut self) -> Option<&mut Vec<T>> {
        self.extract()
    }
}

impl<T: 'static> LengthPreservingContainerBuilder for EagerBuilder<T> {}

/// The sending end of a streaming exchange (see [`Context::exchange_stream`]).
pub struct Sender<'a, D: Data> {
    worker: &'a mut Worker,
    input: &'a mut InputHandle<u64, CapacityContainerBuilder<Vec<(u32, Vec<D>)>>>,
    /// Only this epoch's batches can arrive while this worker is still sending.
    inbox: &'a Rc<RefCell<Vec<(u64, Vec<D>)>>>,
    on_batch: &'a mut dyn FnMut(Vec<D>) -> Result<()>,
    peers: usize,
    slot: &'a ErrorSlot,
    records_in: u64,
    records_out: u64,
}

impl<D: Data> Sender<'_, D> {
    /// Sends `records` to worker `dest`, then lets the dataflow make progress (delivering
    /// batches that arrived here to the consumer).
    pub fn send(&mut self, dest: usize, records: Vec<D>) -> Result<()> {
        const BATCH: usize = 16 * 1024;
        assert!(dest < self.peers, "destination worker {dest} out of range");
        self.records_in += records.len() as u64;
        if records.len() <= BATCH {
            self.input.send((dest as u32, records));
        } else {
            // Move records into right-sized batches. (Splitting the tail off instead would
            // copy the rest each time and leave every batch holding the whole capacity.)
            let mut rest = records.into_iter();
            loop {
                let batch: Vec<D> = rest.by_ref().take(BATCH).collect();
                if batch.is_empty() {
                    break;
                }
                self.input.send((dest as u32, batch));
            }
        }
        // Push buffered batches into the dataflow now, so memory held here stays small.
        self.input.flush();
        self.slot.check()?;
        self.worker.step_or_park(Some(Duration::ZERO));
        let batches = std::mem::take(&mut *self.inbox.borrow_mut());
        for (_, b) in batches {
            self.records_out += b.len() as u64;
            (self.on_batch)(b)?;
        }
        Ok(())
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Runs `job` on every worker of `config` (this process's share of them) and returns each
/// local worker's result in index order, with the metrics of this process's workers merged.
///
/// # Errors
/// The first failure of any worker: its error or panic, naming the worker. Other workers
/// stop at their next collective step instead of waiting.
pub fn execute<T, F>(config: Config, job: F) -> Result<(Vec<T>, JobMetrics)>
where
    T: Send + 'static,
    F: for<'w> Fn(&Context<'w>) -> Result<T> + Send + Sync + 'static,
{
    config.validate()?;
    crate::malloc::bound_resident_memory();
    let network = if config.processes > 1 {
        Some(cluster::connect(&config)?)
    } else {
        None
    };
    let slot = ErrorSlot {
        link: network.as_ref().map(|n| Arc::clone(&n.link)),
        ..ErrorSlot::default()
    };
    let errors: Arc<Mutex<Vec<(usize, Error)>>> = Arc::default();
    let started = Instant::now();
    let budget = (config.memory_budget_bytes / config.workers as u64) as usize;
    let (cfg, worker_slot, worker_errors) = (config.clone(), slot.clone(), Arc::clone(&errors));
    let work = move |worker: &mut Worker| {
        let index = worker.index();
        let peers = worker.peers();
        let fail = |e: Error| {
            worker_slot.record(index);
            worker_errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((index, e));
            None
        };
        let blocks = match cfg.spill_fault_after_writes {
            Some(n) => morpheus_spill::FailingSpillStore::new(&cfg.spill_dir, n)
                .map(|s| BlockManager::new(budget, Box::new(s))),
            None => BlockManager::with_spill_dir(budget, &cfg.spill_dir),
        };
        let blocks = match blocks {
            Ok(b) => b,
            Err(e) => return fail(e.into()),
        };
        let ctx = Context {
            worker: RefCell::new(worker),
            index,
            peers,
            config: cfg.clone(),
            blocks,
            slot: worker_slot.clone(),
            metrics: RefCell::new(JobMetrics::default()),
            next_dataset: Cell::new(0),
            next_reservation: Cell::new(0),
            channels: RefCell::default(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| job(&ctx)));
        if !matches!(outcome, Ok(Ok(_))) {
            // Timely steps a worker until its dataflows complete after this closure returns;
            // an exchange abandoned because a peer failed never will, so drop them.
            let mut w = ctx.worker.borrow_mut();
            for id in w.installed_dataflows() {
                w.drop_dataflow(id);
            }
        }
        let mut metrics = ctx.metrics.take();
        let spill = ctx.blocks.metrics();
        metrics.spilled_bytes += spill.spilled_bytes;
        metrics.read_back_bytes += spill.read_back_bytes;
        match outcome {
            Ok(Ok(v)) => Some((v, metrics)),
            Ok(Err(e)) => fail(e),
            Err(p) => fail(Error::WorkerPanicked {
                worker: index,
                message: panic_message(p.as_ref()),
            }),
        }
    };
    // Cluster runs use the connections made (and checked) by `cluster::connect`.
    let (guards, network) = match network {
        Some(mut n) => {
            let builders = std::mem::take(&mut n.builders);
            (
                timely::execute::execute_from(builders, Box::new(()), Default::default(), work),
                Some(n),
            )
        }
        None => (timely::execute(config.timely()?, work), None),
    };
    let guards = match guards {
        Ok(g) => g,
        Err(e) => {
            if let Some(n) = network {
                n.finish(true);
            }
            return Err(Error::Startup(e));
        }
    };
    let mut results = Vec::new();
    let mut merged = JobMetrics {
        workers: config.workers,
        processes: config.processes,
        ..Default::default()
    };
    let mut panicked = None;
    for (i, r) in guards.join().into_iter().enumerate() {
        match r {
            Ok(Some((v, m))) => {
                merged.merge_worker(&m);
                results.push(v);
            }
            Ok(None) => {}
            Err(message) => {
                panicked.get_or_insert(Error::WorkerPanicked {
                    worker: config.process_id * config.workers + i,
                    message,
                });
            }
        }
    }
    merged.seconds = started.elapsed().as_secs_f64();
    let mut errors = std::mem::take(&mut *errors.lock().unwrap_or_else(|p| p.into_inner()));
    // A peer lost before this process failed on its own is the root cause of whatever the
    // workers saw (poisoned queues, aborted exchanges).
    let lost = network
        .as_ref()
        .filter(|n| !n.link.failed_here())
        .and_then(|n| n.link.lost());
    if let Some(n) = network {
        n.finish(lost.is_some() || !errors.is_empty() || panicked.is_some());
    }
    if let Some(e) = lost {
        return Err(e);
    }
    if !errors.is_empty() {
        // Report the root cause: a real failure rather than an "aborted because" echo, or
        // a panic on a queue poisoned by a failure elsewhere.
        errors.sort_by_key(|(w, e)| (consequence(e), *w));
        return Err(errors.swap_remove(0).1);
    }
    if let Some(e) = panicked {
        return Err(e);
    }
    Ok((results, merged))
}

/// How far an error is from a root cause: 0 a failure of its own, 1 a panic on timely's
/// poisoned queues (a failure elsewhere), 2 a worker that stopped because another failed.
fn consequence(e: &Error) -> u8 {
    match e {
        Error::Aborted { .. } => 2,
        Error::WorkerPanicked { message, .. } if message.contains("poisoned") => 1,
        _ => 0,
    }
}
