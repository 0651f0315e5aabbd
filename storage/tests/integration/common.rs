//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use morpheus_storage::{CompactOptions, CompactReport, Problem, Store, StoreOptions, Value};

/// Recursively copies a directory (stores are small in tests).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file of a directory tree with its bytes, for "unchanged" assertions.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else if e.file_name() != "LOCK" {
                let rel = e
                    .path()
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// A store's full logical content: vertices (label, properties) and sorted out-edges.
pub type Content = (
    BTreeMap<u64, (String, BTreeMap<String, Value>)>,
    BTreeMap<u64, Vec<(u64, u64)>>,
);

/// Reads everything through the scan paths.
pub fn content(store: &Store) -> Content {
    let mut vertices = BTreeMap::new();
    let mut edges: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    for s in 0..store.shard_count() {
        store
            .for_each_vertex(s, |v| {
                vertices.insert(v.id, (v.label, v.properties));
            })
            .unwrap();
        store
            .scan_edges(s, |src, dst, w| {
                edges.entry(src).or_default().push((dst, w.to_bits()))
            })
            .unwrap();
    }
    for list in edges.values_mut() {
        list.sort_unstable();
    }
    (vertices, edges)
}

/// Options for small test stores: tiny segments so rolls, sealing and compaction happen.
pub fn small(shards: u32, directed: bool) -> StoreOptions {
    let mut o = StoreOptions::default();
    o.shards = shards;
    o.segment_bytes = 1024;
    o.directed = directed;
    o
}

/// Compacts every sealed segment with any dead bytes (dead ratio 0).
pub fn compact_all(store: &mut Store) -> CompactReport {
    let mut o = CompactOptions::default();
    o.dead_ratio = 0.0;
    store.compact(&o).unwrap()
}

/// Asserts that `verify` of the store in `dir` lists a problem matching `found`.
pub fn assert_reported(dir: &Path, found: impl Fn(&Problem) -> bool) {
    let report = morpheus_storage::verify(dir).unwrap();
    assert!(
        report.problems.iter().any(found),
        "not among the problems verify lists: {:?}",
        report.problems
    );
}

/// Length of the store's edge log (0 without one).
pub fn edgelog_len(store: &Path) -> u64 {
    fs::metadata(store.join("EDGELOG")).map_or(0, |m| m.len())
}

/// Puts the store in the state of a crash before a commit record was durable: the commit
/// log cut to `commits_len` and the edge log to `edgelog_len` (a transaction's frame is
/// appended only after its commit record is durable, so that crash never wrote it).
pub fn crash_before_commit(store: &Path, commits_len: u64, edgelog_len: u64) {
    for (name, len) in [("COMMITS", commits_len), ("EDGELOG", edgelog_len)] {
        if let Ok(f) = fs::OpenOptions::new().write(true).open(store.join(name)) {
            f.set_len(len).unwrap();
        }
    }
}
