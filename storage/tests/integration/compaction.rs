//! The cleaner: reclaims dead bytes, and every intermediate on-disk state a crash can leave
//! opens with all committed cells.

use std::fs;
use std::path::{Path, PathBuf};

use morpheus_storage::{Store, WriteBatch};

use super::common::{compact_all, content, copy_dir, small};

fn churned_store(dir: &Path) -> PathBuf {
    let path = dir.join("s");
    let mut store = Store::create(&path, &small(2, true)).unwrap();
    for round in 0..6u64 {
        let mut b = WriteBatch::new();
        for i in 0..40u64 {
            b.put_vertex(i, Some(&format!("r{round}")), vec![]);
            if round % 2 == 0 {
                b.add_edge(i, (i + round) % 40, 1.0);
            } else {
                b.delete_edge(i, (i + round - 1) % 40);
            }
        }
        b.delete_vertex(39 - round);
        store.commit(b).unwrap();
    }
    path
}

#[test]
fn compaction_reclaims_dead_bytes_and_keeps_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = churned_store(dir.path());
    let mut store = Store::open(&path).unwrap();
    let want = content(&store);
    let before = store.stats();
    assert!(before.dead_bytes > 0);
    let report = compact_all(&mut store);
    assert!(report.segments_compacted > 0);
    let after = store.stats();
    assert!(
        after.dead_bytes < before.dead_bytes / 2,
        "{} -> {}",
        before.dead_bytes,
        after.dead_bytes
    );
    assert_eq!(after.live_bytes, before.live_bytes);
    assert_eq!(content(&store), want);
    // Changes and tombstones survive compaction: the change log still lists deletions.
    assert!(store.changes_since(0).iter().any(|c| c.deleted));
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(content(&store), want);
    assert_eq!(store.stats().dead_bytes, after.dead_bytes);
    drop(store);
    assert!(morpheus_storage::verify(&path).unwrap().is_clean());
}

/// The three states a crash can leave, built by hand from a real compaction's files:
/// (1) a finished `.tmp` output not yet renamed, (2) the renamed output beside its
/// not-yet-deleted victims, (3) the final state.
#[test]
fn every_crash_state_of_compaction_opens_with_all_committed_cells() {
    let dir = tempfile::tempdir().unwrap();
    let path = churned_store(dir.path());
    let want = content(&Store::open_read_only(&path).unwrap());
    let before = dir.path().join("before");
    copy_dir(&path, &before);
    let mut store = Store::open(&path).unwrap();
    compact_all(&mut store);
    drop(store);
    let after = dir.path().join("after");
    copy_dir(&path, &after);

    let shard = Path::new("shard-0000");
    let files = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d.join(shard))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        v.sort();
        v
    };
    let outputs: Vec<String> = files(&after)
        .into_iter()
        .filter(|f| f.ends_with(".cmp"))
        .collect();
    assert!(!outputs.is_empty());

    // (1) outputs still named .tmp (some possibly torn), victims intact.
    let s1 = dir.path().join("state1");
    copy_dir(&before, &s1);
    for (i, o) in outputs.iter().enumerate() {
        let bytes = fs::read(after.join(shard).join(o)).unwrap();
        let keep = if i % 2 == 0 {
            bytes.len()
        } else {
            bytes.len() / 2
        };
        fs::write(s1.join(shard).join(format!("{o}.tmp")), &bytes[..keep]).unwrap();
    }
    let store = Store::open(&s1).unwrap();
    assert_eq!(content(&store), want);
    drop(store);
    assert!(
        files(&s1).iter().all(|f| !f.ends_with(".tmp")),
        "open removes leftovers"
    );

    // (2) outputs renamed, victims not yet deleted: every live record exists twice.
    let s2 = dir.path().join("state2");
    copy_dir(&before, &s2);
    for o in &outputs {
        fs::copy(after.join(shard).join(o), s2.join(shard).join(o)).unwrap();
    }
    let store = Store::open(&s2).unwrap();
    assert_eq!(content(&store), want);
    drop(store);
    assert!(morpheus_storage::verify(&s2).unwrap().is_clean());
    // A later compaction cleans up the duplicates.
    let mut store = Store::open(&s2).unwrap();
    compact_all(&mut store);
    assert_eq!(content(&store), want);
    drop(store);

    // (3) the final state.
    let store = Store::open(&after).unwrap();
    assert_eq!(content(&store), want);
}
