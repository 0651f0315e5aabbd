//! Index checkpoints: an open that restores the index from them sees exactly what a full
//! scan sees; unusable or lying checkpoints are ignored by open and reported by `verify`;
//! records they cover are still CRC-checked when read; large commits write them unasked.

use std::fs;
use std::path::{Path, PathBuf};

use morpheus_storage::{Error, Store, WriteBatch};

use super::common::{assert_reported, compact_all, content, copy_dir, small};

fn ckpt(store: &Path, shard: u32) -> PathBuf {
    store.join(format!("shard-{shard:04}/index.ckpt"))
}

/// Everything an index determines, besides the content the scans return.
fn index_view(store: &Store) -> (String, Vec<morpheus_storage::Change>, Vec<Vec<u64>>) {
    let ids = (0..store.shard_count())
        .map(|s| {
            let mut v = store.vertex_ids(s).unwrap();
            v.sort_unstable();
            v
        })
        .collect();
    (format!("{:?}", store.stats()), store.changes_since(0), ids)
}

/// The same store opened with its checkpoints deleted: the index a full scan builds.
fn scanned_twin(path: &Path, to: &Path) -> Store {
    copy_dir(path, to);
    for s in 0..8 {
        let _ = fs::remove_file(ckpt(to, s));
    }
    Store::open_read_only(to).unwrap()
}

/// Two rounds of churn, a checkpoint, then more churn: the checkpoint covers sealed
/// segments and part of the active one, and the tail and newer segments are not covered.
fn churn_with_checkpoint(path: &Path) {
    let mut store = Store::create(path, &small(2, true)).unwrap();
    for round in 0..4u64 {
        if round == 2 {
            store.checkpoint().unwrap();
            assert!(ckpt(path, 0).exists() && ckpt(path, 1).exists());
        }
        let mut b = WriteBatch::new();
        for i in 0..30u64 {
            b.put_vertex(i, Some(&format!("r{round}")), vec![]);
            b.add_edge(i, (i * 7 + round) % 30, 0.5 + round as f64);
            if round > 0 {
                b.delete_edge(i, (i * 7 + round - 1) % 30);
            }
        }
        b.delete_vertex(29 - round);
        store.commit(b).unwrap();
    }
}

#[test]
fn an_index_restored_from_checkpoints_is_the_one_a_full_scan_builds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    churn_with_checkpoint(&path);
    let store = Store::open(&path).unwrap();
    let twin = scanned_twin(&path, &dir.path().join("twin"));
    assert_eq!(content(&store), content(&twin));
    assert_eq!(index_view(&store), index_view(&twin));
    assert!(store.stats().dead_bytes > 0, "the churn left dead records");
    drop((store, twin));
    assert!(morpheus_storage::verify(&path).unwrap().is_clean());

    // Writes after a restored open, a fresh checkpoint, compaction (which drops and may
    // rewrite checkpoints) and reopens keep agreeing with the full scan.
    let mut store = Store::open(&path).unwrap();
    let mut b = WriteBatch::new();
    b.add_edge(3, 4, 9.0);
    b.delete_vertex(5);
    store.commit(b).unwrap();
    store.checkpoint().unwrap();
    assert!(compact_all(&mut store).segments_compacted > 0);
    let want = content(&store);
    drop(store);
    let store = Store::open(&path).unwrap();
    let twin = scanned_twin(&path, &dir.path().join("twin2"));
    assert_eq!(content(&store), want);
    assert_eq!(index_view(&store), index_view(&twin));
    drop((store, twin));
    assert!(morpheus_storage::verify(&path).unwrap().is_clean());
}

#[test]
fn unusable_checkpoints_are_ignored_by_open_and_reported_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    churn_with_checkpoint(&path);
    let want = content(&Store::open_read_only(&path).unwrap());
    let good = fs::read(ckpt(&path, 0)).unwrap();

    // Damaged bytes fail the checkpoint's CRC.
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x20;
    fs::write(ckpt(&path, 0), &bad).unwrap();
    assert_eq!(content(&Store::open_read_only(&path).unwrap()), want);
    assert_reported(&path, |p| {
        p.path == ckpt(&path, 0) && p.message.contains("index checkpoint unusable")
    });

    // A writable open removes it (it would only be rejected again).
    drop(Store::open(&path).unwrap());
    assert!(!ckpt(&path, 0).exists());

    // A stale checkpoint naming a segment the cleaner removed.
    fs::write(ckpt(&path, 0), &good).unwrap();
    let mut store = Store::open(&path).unwrap();
    compact_all(&mut store);
    drop(store);
    fs::write(ckpt(&path, 0), &good).unwrap();
    assert_eq!(content(&Store::open_read_only(&path).unwrap()), want);
    assert_reported(&path, |p| p.message.contains("missing or shorter"));
    drop(Store::open(&path).unwrap());
    assert!(!ckpt(&path, 0).exists());
    assert_eq!(content(&Store::open_read_only(&path).unwrap()), want);
}

#[test]
fn a_checkpoint_that_disagrees_with_its_segments_is_reported() {
    // Two stores with the same layout: `a` has no self-loops, `b` has two. A's checkpoint,
    // copied into `b`, passes every check open makes, but not verify's comparison.
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, edges: [(u64, u64); 2]| {
        let path = dir.path().join(name);
        let mut store = Store::create(&path, &small(1, true)).unwrap();
        let mut b = WriteBatch::new();
        for (s, d) in edges {
            b.add_edge(s, d, 1.0);
        }
        store.commit(b).unwrap();
        store.checkpoint().unwrap();
        path
    };
    let a = make("a", [(1, 2), (2, 1)]);
    let b = make("b", [(1, 1), (2, 2)]);
    assert_eq!(
        fs::metadata(a.join("shard-0000/0000000000000001.log"))
            .unwrap()
            .len(),
        fs::metadata(b.join("shard-0000/0000000000000001.log"))
            .unwrap()
            .len(),
        "the two stores must share a layout for this test"
    );
    fs::copy(ckpt(&a, 0), ckpt(&b, 0)).unwrap();
    assert_reported(&b, |p| {
        p.path == ckpt(&b, 0) && p.message.contains("the segments say")
    });
    assert!(morpheus_storage::verify(&a).unwrap().is_clean());
}

#[test]
fn records_a_checkpoint_covers_are_still_crc_checked_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(1, true)).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..40u64 {
        b.add_edge(i, (i * 3) % 40, 0.25);
    }
    store.commit(b).unwrap();
    store.checkpoint().unwrap();
    drop(store);
    // The last byte of the first record of sealed segment 1: a payload byte of a cell the
    // checkpoint covers.
    let seg = path.join("shard-0000/0000000000000001.log");
    let mut bytes = fs::read(&seg).unwrap();
    let payload_len = u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
    bytes[32 + 40 + payload_len - 1] ^= 0x5a;
    fs::write(&seg, &bytes).unwrap();
    // Open trusts the checkpoint, so it succeeds; reading the damaged cell does not.
    let store = Store::open_read_only(&path).unwrap();
    let scans = store
        .for_each_vertex(0, |_| {})
        .and_then(|()| store.scan_edges(0, |_, _, _| {}).map(drop));
    assert!(matches!(scans, Err(Error::Corrupt { .. })), "{scans:?}");
    drop(store);
    assert_reported(&path, |p| p.path == seg);
}

#[test]
fn large_commits_write_checkpoints_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut o = small(1, true);
    o.segment_bytes = 64 << 20;
    let mut store = Store::create(&path, &o).unwrap();
    let mut b = WriteBatch::new();
    b.add_edge(0, 1, 1.0);
    store.commit(b).unwrap();
    assert!(
        !ckpt(&path, 0).exists(),
        "a small store needs no checkpoint"
    );
    // About 14 MiB of records: 150k edge blocks and as many vertices.
    let mut b = WriteBatch::new();
    for i in 0..150_000u64 {
        for k in 1..=4 {
            b.add_edge(i, (i + k * 7919) % 150_000, 1.0);
        }
    }
    store.commit(b).unwrap();
    assert!(ckpt(&path, 0).exists());
    let written = fs::metadata(ckpt(&path, 0)).unwrap().modified().unwrap();
    // A small commit after it does not rewrite it.
    let mut b = WriteBatch::new();
    b.add_edge(1, 2, 1.0);
    store.commit(b).unwrap();
    assert_eq!(
        fs::metadata(ckpt(&path, 0)).unwrap().modified().unwrap(),
        written
    );
    let want = store.stats();
    drop(store);
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(format!("{:?}", store.stats()), format!("{want:?}"));
    assert_eq!(store.out_edges(1).unwrap().len(), 5);
}
