//! BlockManager behaviour: LRU eviction order, pinning, storage levels, budget errors,
//! failing and corrupt spill stores, cleanup, and a random model check.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::collections::HashMap;
use std::fs;

use morpheus_spill::{BlockId, BlockManager, Error, FailingSpillStore, StorageLevel};
use proptest::prelude::*;

const KB: usize = 1000;

/// A block of `n` u64 values: 8n bytes in memory.
fn block(tag: u64, n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| tag * 1_000_000 + i).collect()
}

fn id(p: u32) -> BlockId {
    BlockId::new(7, p)
}

fn files_in(dir: &std::path::Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| fs::read_dir(e.unwrap().path()).unwrap().count())
        .sum()
}

#[test]
fn least_recently_used_unpinned_block_is_spilled_first() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(3 * 8 * KB, dir.path()).unwrap();
    for p in 0..3 {
        bm.put(id(p), block(u64::from(p), KB), StorageLevel::MemoryAndDisk)
            .unwrap();
    }
    assert_eq!(bm.metrics().spilled_bytes, 0);
    drop(bm.get::<u64>(id(0)).unwrap().unwrap()); // 0 becomes most recent
    bm.put(id(3), block(3, KB), StorageLevel::MemoryAndDisk)
        .unwrap(); // evicts 1
    let m = bm.metrics();
    assert_eq!((m.evictions, m.spill_files), (1, 1));
    assert!(m.spilled_bytes >= 8 * KB as u64);
    // 0, 2 and 3 are in memory; 1 comes back from disk, equal, evicting 2 (now the LRU).
    for p in [0, 2, 3] {
        assert_eq!(
            *bm.get::<u64>(id(p)).unwrap().unwrap(),
            block(u64::from(p), KB)
        );
    }
    assert_eq!(bm.metrics().disk_reads, 0);
    let one = bm.get::<u64>(id(1)).unwrap().unwrap();
    assert_eq!(*one, block(1, KB));
    let m = bm.metrics();
    assert_eq!(m.disk_reads, 1);
    assert!(m.read_back_bytes > 0);
    assert!(m.memory_bytes <= 3 * 8 * KB as u64);
}

#[test]
fn pinned_blocks_are_never_evicted() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(2 * 8 * KB, dir.path()).unwrap();
    bm.put(id(0), block(0, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    bm.put(id(1), block(1, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    let a = bm.get::<u64>(id(0)).unwrap().unwrap();
    let b = bm.get::<u64>(id(1)).unwrap().unwrap();
    let err = bm
        .put(id(2), block(2, KB), StorageLevel::MemoryAndDisk)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BudgetExhausted {
                all_pinned: true,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(bm.metrics().evictions, 0);
    drop(a);
    bm.put(id(2), block(2, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    assert_eq!(*b, block(1, KB), "the pinned block is intact");
    assert_eq!(bm.metrics().evictions, 1);
}

#[test]
fn a_block_larger_than_the_budget_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(4 * KB, dir.path()).unwrap();
    let err = bm
        .put(id(0), block(0, KB), StorageLevel::MemoryAndDisk)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("needs 8000 B")
            && msg.contains("4000 B budget")
            && msg.contains("--memory-budget"),
        "{msg}"
    );
    // DiskOnly blocks never occupy the budget.
    bm.put(id(0), block(0, KB), StorageLevel::DiskOnly).unwrap();
    assert_eq!(*bm.get::<u64>(id(0)).unwrap().unwrap(), block(0, KB));
    assert_eq!(bm.metrics().memory_bytes, 0);
}

#[test]
fn evicted_memory_only_blocks_are_misses_for_recomputation() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(8 * KB, dir.path()).unwrap();
    bm.put(id(0), block(0, KB), StorageLevel::MemoryOnly)
        .unwrap();
    bm.put(id(1), block(1, KB), StorageLevel::MemoryOnly)
        .unwrap();
    assert!(bm.get::<u64>(id(0)).unwrap().is_none());
    let m = bm.metrics();
    assert_eq!((m.misses, m.spilled_bytes, m.spill_files), (1, 0, 0));
    assert!(!bm.contains(id(0)));
    assert_eq!(*bm.get::<u64>(id(1)).unwrap().unwrap(), block(1, KB));
}

#[test]
fn wrong_type_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(100 * KB, dir.path()).unwrap();
    bm.put(id(0), block(0, 10), StorageLevel::MemoryAndDisk)
        .unwrap();
    assert!(matches!(
        bm.get::<String>(id(0)),
        Err(Error::TypeMismatch { .. })
    ));
}

#[test]
fn failing_spill_store_surfaces_errors_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FailingSpillStore::new(dir.path(), 1).unwrap();
    let bm = BlockManager::new(2 * 8 * KB, Box::new(store));
    bm.put(id(0), block(0, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    bm.put(id(1), block(1, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    bm.put(id(2), block(2, KB), StorageLevel::MemoryAndDisk)
        .unwrap(); // the one write that works
    let err = bm
        .put(id(3), block(3, KB), StorageLevel::MemoryAndDisk)
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("no space left"), "{err}");
    // Block 1, whose spill failed, is still in memory and intact.
    assert_eq!(*bm.get::<u64>(id(1)).unwrap().unwrap(), block(1, KB));
    // Reading the spilled block 0 back now fails cleanly too.
    assert!(matches!(bm.get::<u64>(id(0)), Err(Error::Io { .. })));
}

#[test]
fn corrupt_spill_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(8 * KB, dir.path()).unwrap();
    bm.put(id(0), block(0, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    bm.put(id(1), block(1, KB), StorageLevel::MemoryAndDisk)
        .unwrap();
    let spill_dir = fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = fs::read_dir(&spill_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = fs::read(&file).unwrap();
    bytes[30] ^= 0xff;
    fs::write(&file, bytes).unwrap();
    let err = bm.get::<u64>(id(0)).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("CRC"), "{err}");
}

#[test]
fn spill_files_are_deleted_on_remove_unpersist_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let bm = BlockManager::with_spill_dir(8 * KB, dir.path()).unwrap();
    for p in 0..6 {
        bm.put(id(p), block(u64::from(p), KB), StorageLevel::MemoryAndDisk)
            .unwrap();
    }
    bm.put(BlockId::new(9, 0), block(9, 10), StorageLevel::DiskOnly)
        .unwrap();
    assert_eq!(files_in(dir.path()), 6);
    bm.remove(id(0));
    assert_eq!(files_in(dir.path()), 5);
    bm.remove_dataset(7);
    assert_eq!(files_in(dir.path()), 1);
    assert_eq!(bm.metrics().memory_bytes, 0);
    drop(bm);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "private spill directory removed"
    );
}

#[derive(Clone, Debug)]
enum Op {
    Put(u32, usize, u8),
    Get(u32),
    Remove(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..10, 1usize..600, 0u8..3).prop_map(|(p, n, l)| Op::Put(p, n, l)),
        5 => (0u32..10).prop_map(Op::Get),
        1 => (0u32..10).prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Against a HashMap model: data read back always equals what was put; MemoryAndDisk
    /// and DiskOnly blocks are never lost; MemoryOnly blocks are either intact or a miss;
    /// memory stays within the budget; and nothing is left on disk at the end.
    #[test]
    fn block_manager_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let budget = 16 * KB;
        let bm = BlockManager::with_spill_dir(budget, dir.path()).unwrap();
        let mut model: HashMap<u32, (Vec<u64>, StorageLevel)> = HashMap::new();
        let mut tag = 0u64;
        for op in ops {
            match op {
                Op::Put(p, n, l) => {
                    tag += 1;
                    let level = [StorageLevel::MemoryOnly, StorageLevel::MemoryAndDisk, StorageLevel::DiskOnly][l as usize];
                    let data = block(tag, n);
                    bm.put(id(p), data.clone(), level).unwrap();
                    model.insert(p, (data, level));
                }
                Op::Get(p) => {
                    let got = bm.get::<u64>(id(p)).unwrap();
                    match (model.get(&p), got) {
                        (None, got) => prop_assert!(got.is_none()),
                        (Some((want, _)), Some(got)) => prop_assert_eq!(&*got, want),
                        (Some((_, level)), None) => {
                            prop_assert_eq!(*level, StorageLevel::MemoryOnly, "only MemoryOnly blocks may vanish");
                            model.remove(&p);
                        }
                    }
                }
                Op::Remove(p) => {
                    bm.remove(id(p));
                    model.remove(&p);
                }
            }
            prop_assert!(bm.metrics().memory_bytes <= budget as u64);
        }
        drop(bm);
        prop_assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
