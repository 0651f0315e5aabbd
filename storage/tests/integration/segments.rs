//! Segment lists and the manifest checksum: a sealed segment that goes missing, shrinks or
//! grows is corruption for every open and for `verify`, and no writable open hides it; each
//! crash state of a commit that seals segments, and of a compaction, opens with every
//! committed cell.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use morpheus_storage::{Error, Store, WriteBatch};

use super::common::{
    compact_all, content, copy_dir, crash_before_commit, edgelog_len, small, snapshot, Content,
};

/// A one-shard store with 1 KiB segments, several of them sealed, and an index checkpoint.
fn sealed_store(dir: &Path) -> (PathBuf, Content) {
    let path = dir.join("s");
    let mut store = Store::create(&path, &small(1, true)).unwrap();
    for round in 0..3u64 {
        let mut b = WriteBatch::new();
        for i in 0..80u64 {
            b.add_edge(i, (i * 7 + round) % 90, 1.0);
        }
        store.commit(b).unwrap();
    }
    store.checkpoint().unwrap();
    let want = content(&store);
    drop(store);
    (path, want)
}

fn seg(path: &Path, id: u64) -> PathBuf {
    path.join(format!("shard-0000/{id:016}.log"))
}

/// Offsets at which records of a segment file start (after the 32-byte header).
fn record_starts(bytes: &[u8]) -> Vec<u64> {
    let mut at = 32usize;
    let mut out = Vec::new();
    while at + 40 <= bytes.len() {
        out.push(at as u64);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 40 + len;
    }
    out
}

fn expect_corrupt(r: Result<Store, Error>, file: &Path) {
    match r {
        Err(Error::Corrupt { path, .. }) => assert_eq!(path, file),
        Err(e) => panic!("expected corruption of {}, got {e}", file.display()),
        Ok(_) => panic!(
            "expected corruption of {}, the store opened",
            file.display()
        ),
    }
}

fn truncate(file: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(file)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_missing_short_or_long_sealed_segment_is_corruption_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sealed_store(dir.path());
    let victim = seg(&path, 2);
    let bytes = fs::read(&victim).unwrap();
    let starts = record_starts(&bytes);
    assert!(starts.len() > 2, "segment 2 holds several records");
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("deleted", Box::new(|f| fs::remove_file(f).unwrap())),
        ("cut at a record boundary", {
            let at = starts[starts.len() - 1];
            Box::new(move |f| truncate(f, at))
        }),
        ("cut to its header", Box::new(|f| truncate(f, 32))),
        (
            "grown",
            Box::new(|f| {
                let mut o = OpenOptions::new().append(true).open(f).unwrap();
                o.write_all(&[0u8; 100]).unwrap();
            }),
        ),
    ];
    for (what, damage) in cases {
        let copy = dir.path().join(what.replace(' ', "-"));
        copy_dir(&path, &copy);
        let file = seg(&copy, 2);
        damage(&file);
        expect_corrupt(Store::open_read_only(&copy), &file);
        let before = snapshot(&copy);
        expect_corrupt(Store::open(&copy), &file);
        assert_eq!(
            snapshot(&copy),
            before,
            "{what}: a failed open changes nothing"
        );
        expect_corrupt(Store::open_read_only(&copy), &file);
        let report = morpheus_storage::verify(&copy).unwrap();
        assert!(
            report.problems.iter().any(|p| p.path == file),
            "{what}: verify does not name {}: {:?}",
            file.display(),
            report.problems
        );
    }
}

#[test]
fn a_missing_or_damaged_segment_list_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sealed_store(dir.path());
    let list = path.join("shard-0000/SEGMENTS");
    let good = fs::read(&list).unwrap();
    let mut bad = good.clone();
    bad[20] ^= 1;
    fs::write(&list, &bad).unwrap();
    expect_corrupt(Store::open_read_only(&path), &list);
    expect_corrupt(Store::open(&path), &list);
    fs::remove_file(&list).unwrap();
    expect_corrupt(Store::open(&path), &list);
    let report = morpheus_storage::verify(&path).unwrap();
    assert!(report.problems.iter().any(|p| p.path == list));
    fs::write(&list, &good).unwrap();
    Store::open(&path).unwrap();
}

/// A commit that seals segments, stopped after its segment list is written (or before) and
/// before its commit record: the store opens at the previous commit, read-only and
/// writable, and keeps working.
#[test]
fn a_crash_between_the_segment_list_and_the_commit_record_opens_at_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (path, want) = sealed_store(dir.path());
    let commits_len = fs::metadata(path.join("COMMITS")).unwrap().len();
    let log_len = edgelog_len(&path);
    let list = path.join("shard-0000/SEGMENTS");
    let old_list = fs::read(&list).unwrap();
    let mut store = Store::open(&path).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..300u64 {
        b.add_edge(1000 + i, i, 2.0);
    }
    store.commit(b).unwrap();
    drop(store);
    assert_ne!(
        fs::read(&list).unwrap(),
        old_list,
        "the commit sealed segments"
    );
    crash_before_commit(&path, commits_len, log_len);
    for list_written in [true, false] {
        let copy = dir.path().join(format!("crash-{list_written}"));
        copy_dir(&path, &copy);
        if !list_written {
            fs::write(copy.join("shard-0000/SEGMENTS"), &old_list).unwrap();
        }
        assert_eq!(content(&Store::open_read_only(&copy).unwrap()), want);
        let report = morpheus_storage::verify(&copy).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        assert!(report.uncommitted_bytes > 0);
        let mut store = Store::open(&copy).unwrap();
        assert_eq!(content(&store), want);
        let mut b = WriteBatch::new();
        for i in 0..200u64 {
            b.add_edge(5000 + i, i, 1.0);
        }
        store.commit(b).unwrap();
        let want2 = content(&store);
        drop(store);
        assert!(morpheus_storage::verify(&copy).unwrap().is_clean());
        assert_eq!(content(&Store::open_read_only(&copy).unwrap()), want2);
    }
}

/// Every crash state of a compaction: outputs renamed but not listed; listed with victims
/// not yet unlinked. Both open with every committed cell; `verify` warns about the
/// leftovers, which a writable open removes.
#[test]
fn every_crash_state_of_a_compaction_with_segment_lists_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(1, true)).unwrap();
    for round in 0..4u64 {
        let mut b = WriteBatch::new();
        for i in 0..60u64 {
            b.add_edge(i, i + 1 + round, 1.0);
        }
        if round > 0 {
            b.delete_edges((0..60u64).map(|i| (i, i + round)));
        }
        store.commit(b).unwrap();
    }
    let want = content(&store);
    drop(store);
    let before = dir.path().join("before");
    copy_dir(&path, &before);
    let mut store = Store::open(&path).unwrap();
    assert!(compact_all(&mut store).segments_compacted > 0);
    drop(store);
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d.join("shard-0000"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".log") || n.ends_with(".cmp"))
            .collect();
        v.sort();
        v
    };
    let (old, new) = (names(&before), names(&path));
    let outputs: Vec<&String> = new.iter().filter(|n| !old.contains(n)).collect();
    let victims: Vec<&String> = old.iter().filter(|n| !new.contains(n)).collect();
    assert!(!outputs.is_empty() && !victims.is_empty());
    // (a) outputs renamed, the list not yet rewritten; (b) the list rewritten, victims
    // still there.
    let states = [
        ("outputs-unlisted", &before, &path, &outputs),
        ("victims-unlinked-not", &path, &before, &victims),
    ];
    for (name, base, from, extra) in states {
        let s = dir.path().join(name);
        copy_dir(base, &s);
        for f in extra.iter() {
            fs::copy(
                from.join("shard-0000").join(f),
                s.join("shard-0000").join(f),
            )
            .unwrap();
        }
        assert_eq!(content(&Store::open_read_only(&s).unwrap()), want, "{name}");
        let report = morpheus_storage::verify(&s).unwrap();
        assert!(report.is_clean(), "{name}: {:?}", report.problems);
        assert_eq!(
            report.warnings.len(),
            extra.len(),
            "{name}: {:?}",
            report.warnings
        );
        let store = Store::open(&s).unwrap();
        assert_eq!(content(&store), want, "{name}");
        drop(store);
        assert_eq!(names(&s), names(base), "{name}: the leftovers are removed");
        let report = morpheus_storage::verify(&s).unwrap();
        assert!(report.is_clean() && report.warnings.is_empty(), "{name}");
    }
}

fn edit_manifest(path: &Path, f: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) {
    let file = path.join("MANIFEST.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    f(v.as_object_mut().unwrap());
    fs::write(&file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn an_edited_manifest_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sealed_store(dir.path());
    let file = path.join("MANIFEST.json");
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"checksum\""));
    fs::write(
        &file,
        text.replace("\"directed\": true", "\"directed\": false"),
    )
    .unwrap();
    expect_corrupt(Store::open_read_only(&path), &file);
    expect_corrupt(Store::open(&path), &file);
    let err = morpheus_storage::verify(&path).unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
}

/// A store written before segment lists and manifest checksums opens; a writable open
/// brings it to the current format, after which a lost segment is detected.
#[test]
fn a_version_1_store_opens_and_is_upgraded_by_a_writable_open() {
    let dir = tempfile::tempdir().unwrap();
    let (path, want) = sealed_store(dir.path());
    fs::remove_file(path.join("shard-0000/SEGMENTS")).unwrap();
    edit_manifest(&path, |m| {
        m.remove("checksum");
        m.insert("format_version".into(), 1.into());
    });
    let legacy = snapshot(&path);
    assert_eq!(content(&Store::open_read_only(&path).unwrap()), want);
    assert!(morpheus_storage::verify(&path).unwrap().is_clean());
    assert_eq!(snapshot(&path), legacy, "read-only opens change nothing");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.manifest().format_version, 2);
    assert_eq!(content(&store), want);
    drop(store);
    assert!(path.join("shard-0000/SEGMENTS").exists());
    assert!(fs::read_to_string(path.join("MANIFEST.json"))
        .unwrap()
        .contains("\"checksum\""));
    fs::remove_file(seg(&path, 2)).unwrap();
    expect_corrupt(Store::open_read_only(&path), &seg(&path, 2));
}

/// Found by the `store_open` fuzz target: a commit log cut back to an earlier transaction
/// (here mid-record, as a torn write would leave it) opened at that transaction and
/// `verify` said nothing, silently dropping the later commits. Their edge-log frames show
/// they were committed (a frame is appended only after its commit record is durable).
#[test]
fn a_commit_log_that_lost_transactions_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sealed_store(dir.path());
    let commits = path.join("COMMITS");
    // Header (16 bytes), then one 40-byte record per transaction with one shard: keep
    // the creation and the first import, and half of the second's record.
    truncate(&commits, 16 + 2 * 40 + 20);
    let before = snapshot(&path);
    expect_corrupt(Store::open_read_only(&path), &commits);
    expect_corrupt(Store::open(&path), &commits);
    assert_eq!(
        snapshot(&path),
        before,
        "a failed writable open changed files"
    );
    let report = morpheus_storage::verify(&path).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("missing from the commit log")),
        "verify: {:?}",
        report.problems
    );
}
