//! The BlockManager: byte accounting against a budget, LRU order over unpinned in-memory
//! blocks, eviction by storage level, read-back on access, and metrics.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;
use serde::Serialize;

use crate::codec::{self, Spillable};
use crate::error::{Error, Result};
use crate::store::{FileSpillStore, SpillHandle, SpillStore};

/// Names a block: a dataset (an RDD or graph partition set) and a partition of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BlockId {
    /// The dataset.
    pub dataset: u64,
    /// The partition.
    pub partition: u32,
}

impl BlockId {
    /// Block `partition` of `dataset`.
    pub fn new(dataset: u64, partition: u32) -> Self {
        Self { dataset, partition }
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dataset, self.partition)
    }
}

/// Where a persisted block may live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum StorageLevel {
    /// In memory; an evicted block is dropped and must be recomputed from lineage.
    MemoryOnly,
    /// In memory; an evicted block is spilled to disk and read back on access.
    MemoryAndDisk,
    /// On disk only; every access reads it back.
    DiskOnly,
}

/// Counters of a BlockManager (cumulative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SpillMetrics {
    /// Encoded bytes written to spill files.
    pub spilled_bytes: u64,
    /// Encoded bytes read back from spill files.
    pub read_back_bytes: u64,
    /// Accesses served from memory.
    pub hits: u64,
    /// Accesses that read a spilled block back.
    pub disk_reads: u64,
    /// Accesses to MemoryOnly blocks that had been evicted (recomputed by the caller).
    pub misses: u64,
    /// Blocks evicted from memory (spilled or dropped).
    pub evictions: u64,
    /// In-memory bytes now held.
    pub memory_bytes: u64,
    /// Spill files now on disk.
    pub spill_files: u64,
}

type AnyBlock = Arc<dyn Any + Send + Sync>;
type Encoder = fn(&(dyn Any + Send + Sync), &mut Vec<u8>) -> std::result::Result<(), String>;

fn encode_erased<T: Spillable>(
    data: &(dyn Any + Send + Sync),
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let v = data.downcast_ref::<Vec<T>>().ok_or("block type changed")?;
    codec::encode(v, out)
}

struct Entry {
    level: StorageLevel,
    bytes: usize,
    mem: Option<AnyBlock>,
    disk: Option<SpillHandle>,
    pins: u32,
    encode: Encoder,
}

struct Inner {
    entries: HashMap<BlockId, Entry>,
    /// Unpinned blocks held in memory, least recently used first.
    lru: LruCache<BlockId, ()>,
    used_bytes: usize,
}

#[derive(Default)]
struct Counters {
    spilled_bytes: AtomicU64,
    read_back_bytes: AtomicU64,
    hits: AtomicU64,
    disk_reads: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

/// Holds one worker's blocks under a memory budget. Thread-safe; normally used by its
/// worker alone.
pub struct BlockManager {
    budget_bytes: usize,
    inner: Mutex<Inner>,
    store: Box<dyn SpillStore>,
    counters: Counters,
}

impl fmt::Debug for BlockManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockManager")
            .field("budget_bytes", &self.budget_bytes)
            .field("metrics", &self.metrics())
            .finish()
    }
}

/// A block in use: it cannot be evicted until this handle is dropped.
pub struct Pinned<'a, T> {
    data: Arc<Vec<T>>,
    owner: Option<(&'a BlockManager, BlockId)>,
}

impl<T: fmt::Debug> fmt::Debug for Pinned<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned")
            .field("block", &self.owner.map(|(_, id)| id))
            .field("len", &self.data.len())
            .finish()
    }
}

impl<T> std::ops::Deref for Pinned<'_, T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.data
    }
}

impl<T> Pinned<'_, T> {
    /// The shared data (clone the `Arc` to keep it past the pin).
    pub fn arc(&self) -> &Arc<Vec<T>> {
        &self.data
    }
}

impl<T> Drop for Pinned<'_, T> {
    fn drop(&mut self) {
        if let Some((bm, id)) = self.owner.take() {
            bm.unpin(id);
        }
    }
}

impl BlockManager {
    /// A manager with `budget_bytes` of memory, spilling through `store`.
    pub fn new(budget_bytes: usize, store: Box<dyn SpillStore>) -> Self {
        Self {
            budget_bytes,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                lru: LruCache::unbounded(),
                used_bytes: 0,
            }),
            store,
            counters: Counters::default(),
        }
    }

    /// A manager spilling to a private directory under `spill_dir` (removed on drop).
    pub fn with_spill_dir(budget_bytes: usize, spill_dir: &Path) -> Result<Self> {
        Ok(Self::new(
            budget_bytes,
            Box::new(FileSpillStore::new(spill_dir)?),
        ))
    }

    /// The memory budget in bytes.
    pub fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }

    /// Bytes held in memory that eviction cannot free: pinned blocks and reservations.
    pub fn pinned_bytes(&self) -> usize {
        self.lock()
            .entries
            .values()
            .filter(|e| e.pins > 0 && e.mem.is_some())
            .map(|e| e.bytes)
            .sum()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent state (each method updates it
        // in place before anything can fail), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Snapshot of the counters.
    pub fn metrics(&self) -> SpillMetrics {
        let c = &self.counters;
        let used = self.lock().used_bytes;
        SpillMetrics {
            spilled_bytes: c.spilled_bytes.load(Ordering::Relaxed),
            read_back_bytes: c.read_back_bytes.load(Ordering::Relaxed),
            hits: c.hits.load(Ordering::Relaxed),
            disk_reads: c.disk_reads.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            memory_bytes: used as u64,
            spill_files: self.store.files() as u64,
        }
    }

    fn write_block(
        &self,
        id: BlockId,
        encode: Encoder,
        data: &(dyn Any + Send + Sync),
    ) -> Result<SpillHandle> {
        let mut buf = Vec::new();
        encode(data, &mut buf).map_err(|reason| Error::Codec { block: id, reason })?;
        let handle = self
            .store
            .write(&format!("d{}-p{}", id.dataset, id.partition), &buf)?;
        self.counters
            .spilled_bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(handle)
    }

    /// Evicts least recently used unpinned blocks until `bytes` more fit.
    fn make_room(&self, inner: &mut Inner, id: BlockId, bytes: usize) -> Result<()> {
        while inner.used_bytes + bytes > self.budget_bytes {
            let Some((victim, ())) = inner.lru.pop_lru() else {
                return Err(Error::BudgetExhausted {
                    block: id,
                    wanted_bytes: bytes,
                    free_bytes: self.budget_bytes.saturating_sub(inner.used_bytes),
                    budget_bytes: self.budget_bytes,
                    all_pinned: bytes <= self.budget_bytes,
                });
            };
            let entry = inner
                .entries
                .get_mut(&victim)
                .expect("LRU blocks have entries");
            let data = entry.mem.take().expect("LRU blocks are in memory");
            if entry.level == StorageLevel::MemoryAndDisk && entry.disk.is_none() {
                match self.write_block(victim, entry.encode, data.as_ref()) {
                    Ok(h) => entry.disk = Some(h),
                    Err(e) => {
                        // Keep the block: nothing is lost, the caller sees the error.
                        entry.mem = Some(data);
                        inner.lru.put(victim, ());
                        inner.lru.demote(&victim);
                        return Err(e);
                    }
                }
            }
            inner.used_bytes -= entry.bytes;
            self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(block = %victim, bytes = entry.bytes, level = ?entry.level, "evicted");
        }
        Ok(())
    }

    /// Stores `data` as block `id` (replacing any previous one) at `level`, evicting least
    /// recently used blocks as needed.
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`] when the block alone exceeds the budget (or everything
    /// else is pinned); spill I/O errors while evicting.
    pub fn put<T: Spillable>(&self, id: BlockId, data: Vec<T>, level: StorageLevel) -> Result<()> {
        self.remove(id);
        let bytes = codec::mem_bytes(&data);
        let encode: Encoder = encode_erased::<T>;
        let data: AnyBlock = Arc::new(data);
        if level == StorageLevel::DiskOnly {
            let handle = self.write_block(id, encode, data.as_ref())?;
            let entry = Entry {
                level,
                bytes,
                mem: None,
                disk: Some(handle),
                pins: 0,
                encode,
            };
            self.lock().entries.insert(id, entry);
            return Ok(());
        }
        let mut inner = self.lock();
        self.make_room(&mut inner, id, bytes)?;
        inner.used_bytes += bytes;
        inner.entries.insert(
            id,
            Entry {
                level,
                bytes,
                mem: Some(data),
                disk: None,
                pins: 0,
                encode,
            },
        );
        inner.lru.put(id, ());
        Ok(())
    }

    /// Charges `bytes` of memory held outside blocks (vertex state, scratch arrays) to the
    /// budget under `id` until [`BlockManager::remove`] is called with it, evicting unpinned
    /// blocks to make room. Replaces an earlier reservation with the same id.
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`] when it cannot fit even after evicting every unpinned
    /// block; spill I/O errors while evicting.
    pub fn reserve(&self, id: BlockId, bytes: usize) -> Result<()> {
        self.remove(id);
        let mut inner = self.lock();
        self.make_room(&mut inner, id, bytes)?;
        inner.used_bytes += bytes;
        inner.entries.insert(
            id,
            Entry {
                level: StorageLevel::MemoryOnly,
                bytes,
                // A permanently pinned placeholder: never in the LRU, never evicted.
                mem: Some(Arc::new(()) as AnyBlock),
                disk: None,
                pins: 1,
                encode: encode_erased::<u8>,
            },
        );
        Ok(())
    }

    /// Pins and returns block `id`, reading it back from disk when it was spilled. `None`
    /// when there is no such block, or it was MemoryOnly and evicted (recompute it).
    pub fn get<T: Spillable>(&self, id: BlockId) -> Result<Option<Pinned<'_, T>>> {
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(mem) = &entry.mem {
            let data = Arc::clone(mem)
                .downcast::<Vec<T>>()
                .map_err(|_| Error::TypeMismatch { block: id })?;
            entry.pins += 1;
            inner.lru.pop(&id);
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(Pinned {
                data,
                owner: Some((self, id)),
            }));
        }
        let Some(handle) = entry.disk.clone() else {
            // MemoryOnly and evicted.
            inner.entries.remove(&id);
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        let (level, bytes) = (entry.level, entry.bytes);
        let raw = self.store.read(&handle)?;
        self.counters
            .read_back_bytes
            .fetch_add(raw.len() as u64, Ordering::Relaxed);
        self.counters.disk_reads.fetch_add(1, Ordering::Relaxed);
        let data: Vec<T> =
            codec::decode(&raw).map_err(|reason| Error::Codec { block: id, reason })?;
        let data = Arc::new(data);
        if level == StorageLevel::DiskOnly {
            return Ok(Some(Pinned { data, owner: None }));
        }
        self.make_room(&mut inner, id, bytes)?;
        inner.used_bytes += bytes;
        let entry = inner
            .entries
            .get_mut(&id)
            .expect("present above; make_room evicts only unpinned LRU blocks");
        entry.mem = Some(Arc::clone(&data) as AnyBlock);
        entry.pins += 1;
        Ok(Some(Pinned {
            data,
            owner: Some((self, id)),
        }))
    }

    fn unpin(&self, id: BlockId) {
        let mut inner = self.lock();
        if let Some(e) = inner.entries.get_mut(&id) {
            e.pins = e.pins.saturating_sub(1);
            if e.pins == 0 && e.mem.is_some() {
                inner.lru.put(id, ());
            }
        }
    }

    /// Whether block `id` is known (in memory or spilled).
    pub fn contains(&self, id: BlockId) -> bool {
        self.lock().entries.contains_key(&id)
    }

    /// Drops block `id` from memory and disk.
    pub fn remove(&self, id: BlockId) {
        let mut inner = self.lock();
        if let Some(e) = inner.entries.remove(&id) {
            inner.lru.pop(&id);
            if e.mem.is_some() {
                inner.used_bytes -= e.bytes;
            }
            if let Some(h) = e.disk {
                self.store.remove(&h);
            }
        }
    }

    /// Drops every block of `dataset` (unpersist).
    pub fn remove_dataset(&self, dataset: u64) {
        let ids: Vec<BlockId> = self
            .lock()
            .entries
            .keys()
            .filter(|id| id.dataset == dataset)
            .copied()
            .collect();
        for id in ids {
            self.remove(id);
        }
    }
}

impl Drop for BlockManager {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        for e in inner.entries.values() {
            if let Some(h) = &e.disk {
                self.store.remove(h);
            }
        }
    }
}
