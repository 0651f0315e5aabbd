//! Corruption detection: flipping any byte of a sealed segment is reported by `verify`
//! (with the file), and `open` refuses the store with an error instead of panicking.

use std::fs;

use morpheus_storage::{Error, Store, WriteBatch};

use super::common::{copy_dir, small};

#[test]
fn flipping_any_byte_of_a_sealed_segment_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(1, true)).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..60u64 {
        b.add_edge(i, (i * 7) % 50, 0.5);
    }
    b.put_vertex(
        3,
        Some("three"),
        vec![("x".into(), morpheus_storage::Value::F64(1.5))],
    );
    store.commit(b).unwrap();
    drop(store);
    // Segment 1 is sealed (the 1 KiB segment size made the writer roll past it).
    let sealed = path.join("shard-0000/0000000000000001.log");
    assert!(path.join("shard-0000/0000000000000002.log").exists());
    let bytes = fs::read(&sealed).unwrap();
    let copy = dir.path().join("copy");
    copy_dir(&path, &copy);
    let target = copy.join("shard-0000/0000000000000001.log");
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x5a;
        fs::write(&target, &bad).unwrap();
        let report = morpheus_storage::verify(&copy).unwrap();
        assert!(
            report.problems.iter().any(|p| p.path == target),
            "flip at byte {i} went unreported: {:?}",
            report.problems
        );
        match Store::open_read_only(&copy) {
            Err(Error::Corrupt { .. }) => {}
            other => panic!("flip at byte {i}: expected a corruption error, got {other:?}"),
        }
    }
    fs::write(&target, &bytes).unwrap();
    assert!(morpheus_storage::verify(&copy).unwrap().is_clean());
}

#[test]
fn garbage_manifest_and_commit_log_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    drop(Store::create(&path, &small(2, true)).unwrap());
    let commits = path.join("COMMITS");
    let mut c = fs::read(&commits).unwrap();
    let n = c.len();
    c[n - 3] ^= 1;
    fs::write(&commits, &c).unwrap();
    assert!(matches!(Store::open(&path), Err(Error::Corrupt { .. })));
    assert!(!morpheus_storage::verify(&path).unwrap().is_clean());
    fs::write(path.join("MANIFEST.json"), b"{ not json").unwrap();
    assert!(matches!(Store::open(&path), Err(Error::Corrupt { .. })));
    assert!(morpheus_storage::verify(&path).is_err());
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::NotAStore { .. })
    ));
}
