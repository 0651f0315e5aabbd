//! Crash recovery: a torn or uncommitted tail is discarded on open, at every byte offset.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use morpheus_storage::{Error, Store, WriteBatch};

use super::common::{assert_reported, content, copy_dir, crash_before_commit, edgelog_len, small};

/// Builds a store with one committed transaction, then a second one whose commit record is
/// removed again, as if the process died after writing the records but before the commit
/// record reached the disk. Returns (dir, store path, content after txn 1, the shard file
/// holding txn 2's records, its committed length).
fn store_with_uncommitted_tail() -> (
    tempfile::TempDir,
    PathBuf,
    super::common::Content,
    PathBuf,
    u64,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut opts = small(1, true);
    opts.segment_bytes = 1 << 20;
    let mut store = Store::create(&path, &opts).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..20 {
        b.add_edge(i, i + 1, 1.0);
    }
    store.commit(b).unwrap();
    let want = content(&store);
    let seg = path.join("shard-0000/0000000000000001.log");
    let committed = fs::metadata(&seg).unwrap().len();
    let commits_len = fs::metadata(path.join("COMMITS")).unwrap().len();
    let log_len = edgelog_len(&path);
    let mut b = WriteBatch::new();
    b.add_edge(3, 100, 2.0);
    b.put_vertex(5, Some("five"), vec![]);
    b.delete_edge(1, 2);
    store.commit(b).unwrap();
    drop(store);
    // Drop the second commit record: its segment bytes become an uncommitted tail.
    crash_before_commit(&path, commits_len, log_len);
    assert!(fs::metadata(&seg).unwrap().len() > committed + 100);
    (dir, path, want, seg, committed)
}

fn reopen_equals(path: &Path, want: &super::common::Content) {
    let report = morpheus_storage::verify(path).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let store = Store::open(path).unwrap();
    assert_eq!(&content(&store), want);
    assert_eq!(
        store.stats().uncommitted_bytes,
        0,
        "recovery removed the tail"
    );
}

#[test]
fn truncating_uncommitted_tail_at_every_offset_opens_at_last_commit() {
    let (dir, path, want, seg, committed) = store_with_uncommitted_tail();
    let full = fs::metadata(&seg).unwrap().len();
    for cut in committed..=full {
        let copy = dir.path().join(format!("cut-{cut}"));
        copy_dir(&path, &copy);
        let cseg = copy.join(seg.strip_prefix(&path).unwrap());
        OpenOptions::new()
            .write(true)
            .open(&cseg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        reopen_equals(&copy, &want);
        // Writing after recovery works and survives another reopen.
        let mut store = Store::open(&copy).unwrap();
        let mut b = WriteBatch::new();
        b.add_edge(1000, 1001, 1.0);
        store.commit(b).unwrap();
        drop(store);
        let store = Store::open(&copy).unwrap();
        assert_eq!(store.out_edges(1000).unwrap().len(), 1);
        drop(store);
        fs::remove_dir_all(&copy).unwrap();
    }
}

#[test]
fn torn_commit_record_at_every_offset_opens_at_previous_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(2, true)).unwrap();
    let mut b = WriteBatch::new();
    b.add_edge(1, 2, 1.0);
    store.commit(b).unwrap();
    let want = content(&store);
    let before = fs::metadata(path.join("COMMITS")).unwrap().len();
    let log_len = edgelog_len(&path);
    let mut b = WriteBatch::new();
    b.add_edge(2, 3, 1.0);
    store.commit(b).unwrap();
    drop(store);
    let after = fs::metadata(path.join("COMMITS")).unwrap().len();
    for cut in before..after {
        let copy = dir.path().join(format!("c{cut}"));
        copy_dir(&path, &copy);
        crash_before_commit(&copy, cut, log_len);
        reopen_equals(&copy, &want);
        fs::remove_dir_all(&copy).unwrap();
    }
}

#[test]
fn uncommitted_segments_after_a_roll_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(1, true)).unwrap();
    let mut b = WriteBatch::new();
    b.add_edge(1, 2, 1.0);
    store.commit(b).unwrap();
    let want = content(&store);
    let commits_len = fs::metadata(path.join("COMMITS")).unwrap().len();
    let log_len = edgelog_len(&path);
    let mut b = WriteBatch::new();
    for i in 0..500 {
        b.add_edge(i, i + 7, 1.0);
    }
    store.commit(b).unwrap();
    drop(store);
    let segs_before = fs::read_dir(path.join("shard-0000")).unwrap().count();
    assert!(segs_before > 3, "a 1 KiB segment size forces rolls");
    crash_before_commit(&path, commits_len, log_len);
    reopen_equals(&path, &want);
    let segments = fs::read_dir(path.join("shard-0000"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "SEGMENTS")
        .count();
    assert_eq!(segments, 1);
}

#[test]
fn read_only_open_ignores_tail_without_touching_files() {
    let (_dir, path, want, seg, committed) = store_with_uncommitted_tail();
    let len = fs::metadata(&seg).unwrap().len();
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(content(&store), want);
    assert_eq!(store.stats().uncommitted_bytes, len - committed);
    drop(store);
    assert_eq!(fs::metadata(&seg).unwrap().len(), len);
}

#[test]
fn missing_committed_bytes_are_corruption_not_a_panic() {
    let (_dir, path, _want, seg, committed) = store_with_uncommitted_tail();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(committed - 10)
        .unwrap();
    match Store::open(&path) {
        Err(Error::Corrupt { path: p, .. }) => assert_eq!(p, seg),
        other => panic!("expected corruption, got {other:?}"),
    }
    assert_reported(&path, |p| p.path == seg);
}

#[test]
fn second_writer_is_refused_while_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let store = Store::create(&path, &small(1, true)).unwrap();
    assert!(matches!(Store::open(&path), Err(Error::Locked { .. })));
    assert!(matches!(
        Store::open_read_only(&path),
        Err(Error::Locked { .. })
    ));
    drop(store);
    let a = Store::open_read_only(&path).unwrap();
    let b = Store::open_read_only(&path).unwrap();
    assert!(matches!(Store::open(&path), Err(Error::Locked { .. })));
    drop((a, b));
    Store::open(&path).unwrap();
}
