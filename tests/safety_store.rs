//! Store safety through the CLI (issue 15): lost or shortened segments and an edited
//! manifest are corruption for every command, and no writable open hides them; damaged
//! edge-log frames are warned about; failed compaction and checkpoint writes leave no
//! temporary files; bad input lines and missing LDBC files are errors naming the file.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{morpheus, ok, s, snapshot};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "LOCK" {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// An RMAT graph (scale 12) imported into a one-shard store with 64 KiB segments, so that
/// several segments are sealed.
fn rmat_store(dir: &Path) -> PathBuf {
    let graph = dir.join("g.txt");
    ok(&["generate", "rmat", "--scale", "12", "--out", s(&graph)]);
    let store = dir.join("store");
    ok(&[
        "import",
        "--store",
        s(&store),
        "--shards",
        "1",
        "--segment-size",
        "64KiB",
        s(&graph),
    ]);
    store
}

/// The log segments of shard 0, by id.
fn logs(store: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(store.join("shard-0000"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    v.sort();
    v
}

fn truncate(file: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(file)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Offset of the last record of a segment file (records: 40-byte header, payload length
/// at byte 4; the file starts with a 32-byte header).
fn last_record_start(bytes: &[u8]) -> u64 {
    let (mut at, mut last) = (32usize, 32usize);
    while at + 40 <= bytes.len() {
        last = at;
        at += 40 + u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    last as u64
}

fn assert_corrupt(o: &Output, file: &Path, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {err}");
    assert!(
        err.contains("corrupt store:") && err.contains(s(file)),
        "{what}: the error does not name {}: {err}",
        file.display()
    );
}

#[test]
fn a_lost_or_shortened_sealed_segment_fails_every_command_and_stays_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = rmat_store(dir.path());
    let sealed = logs(&store);
    assert!(sealed.len() >= 3, "64 KiB segments roll: {sealed:?}");
    let name = sealed[1].file_name().unwrap().to_owned();
    let bytes = fs::read(&sealed[1]).unwrap();
    let boundary = last_record_start(&bytes);
    assert!(boundary > 32 && boundary < bytes.len() as u64);
    let extra = dir.path().join("extra.txt");
    fs::write(&extra, "1 2\n").unwrap();
    let cases: [(&str, Option<u64>); 3] = [
        ("deleted", None),
        ("cut-at-a-record", Some(boundary)),
        ("cut-to-its-header", Some(32)),
    ];
    for (what, cut) in cases {
        let copy = dir.path().join(what);
        copy_dir(&store, &copy);
        let file = copy.join("shard-0000").join(&name);
        match cut {
            None => fs::remove_file(&file).unwrap(),
            Some(len) => truncate(&file, len),
        }
        let st = s(&copy);
        assert_corrupt(&morpheus(&["store", "stats", "--store", st]), &file, what);
        assert_corrupt(&morpheus(&["algo", "degree", "--store", st]), &file, what);
        let v = morpheus(&["store", "verify", "--store", st]);
        assert_eq!(v.status.code(), Some(1), "{what}: verify fails");
        assert!(
            stdout(&v).contains(s(&file)),
            "{what}: verify names the file: {}",
            stdout(&v)
        );
        // Writable opens fail too, and leave the loss detectable.
        let before = snapshot(&copy);
        assert_corrupt(
            &morpheus(&["store", "checkpoint", "--store", st]),
            &file,
            what,
        );
        assert_corrupt(
            &morpheus(&["import", "--store", st, s(&extra)]),
            &file,
            what,
        );
        assert!(
            snapshot(&copy) == before,
            "{what}: failed opens change nothing"
        );
        assert_corrupt(&morpheus(&["store", "stats", "--store", st]), &file, what);
    }
    // The undamaged store is clean.
    ok(&["store", "verify", "--store", s(&store)]);
}

#[test]
fn an_edited_manifest_fails_verify_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let store = rmat_store(dir.path());
    let manifest = store.join("MANIFEST.json");
    let text = fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\"directed\": true"));
    fs::write(
        &manifest,
        text.replace("\"directed\": true", "\"directed\": false"),
    )
    .unwrap();
    for cmd in ["stats", "verify"] {
        let o = morpheus(&["store", cmd, "--store", s(&store)]);
        assert_corrupt(&o, &manifest, cmd);
        assert!(stderr(&o).contains("checksum mismatch"), "{}", stderr(&o));
    }
}

#[test]
fn a_damaged_edge_log_frame_in_the_middle_is_a_verify_warning() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for (i, text) in ["1 2\n2 3\n", "3 4\n", "4 5\n"].iter().enumerate() {
        let f = dir.path().join(format!("e{i}.txt"));
        fs::write(&f, text).unwrap();
        ok(&["import", "--store", s(&store), s(&f)]);
    }
    let log = store.join("EDGELOG");
    let clean = ok(&["store", "verify", "--store", s(&store)]);
    assert!(!clean.contains("warning"), "{clean}");
    let mut bytes = fs::read(&log).unwrap();
    let first = 8 + u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    bytes[first + 12] ^= 0xff; // inside the second of three frames
    fs::write(&log, &bytes).unwrap();
    let out = ok(&["store", "verify", "--store", s(&store)]);
    assert!(
        out.contains(&format!(
            "warning: {}: offset {first}: damaged frame",
            s(&log)
        )),
        "{out}"
    );
    assert!(out.contains("fall back"), "{out}");
}

/// Runs `morpheus ARGS` under a file-size limit of `blocks` × 512 bytes, with SIGXFSZ
/// ignored so that a write past it fails with EFBIG, as on a full disk.
fn morpheus_with_file_limit(blocks: u32, args: &[&str]) -> Output {
    let script = format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\"");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_morpheus"))
        .args(args)
        .env("CI", "true")
        .output()
        .unwrap()
}

fn tmp_files(store: &Path) -> Vec<PathBuf> {
    snapshot(store)
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// Vertex and edge counts from `store stats --json`.
fn counts(store: &Path) -> (u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["store", "stats", "--json", "--store", s(store)])).unwrap();
    (
        v["vertices"].as_u64().unwrap(),
        v["edges"].as_u64().unwrap(),
    )
}

#[test]
fn a_failed_checkpoint_or_compaction_write_removes_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = rmat_store(dir.path());
    // A second import of the same edges rewrites every block: half the bytes are dead.
    ok(&["import", "--store", s(&store), s(&dir.path().join("g.txt"))]);
    let before = counts(&store);

    let o = morpheus_with_file_limit(16, &["store", "checkpoint", "--store", s(&store)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("index.ckpt.tmp"), "{}", stderr(&o));
    assert_eq!(tmp_files(&store), Vec::<PathBuf>::new());

    let o = morpheus_with_file_limit(
        16,
        &[
            "store",
            "compact",
            "--store",
            s(&store),
            "--dead-ratio",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(".cmp.tmp"), "{}", stderr(&o));
    assert_eq!(tmp_files(&store), Vec::<PathBuf>::new());

    // Whatever part of the compaction fit under the limit, the graph is the same.
    assert_eq!(counts(&store), before);
    ok(&["store", "verify", "--store", s(&store)]);
}

/// Writes `text` to `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// Imports `args` into an existing store and expects exit 1 with `file:line` and `message`
/// on stderr, the store left byte-identical.
fn import_fails(store: &Path, args: &[&str], at: &str, message: &str) {
    let before = snapshot(store);
    let mut all = vec!["import", "--store", s(store)];
    all.extend_from_slice(args);
    let o = morpheus(&all);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(at), "{args:?}: {at} not named: {err}");
    assert!(
        err.contains(message),
        "{args:?}: `{message}` not said: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(snapshot(store) == before, "{args:?}: the store changed");
}

#[test]
fn lines_with_more_or_fewer_fields_than_the_format_takes_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = d.join("store");
    let good = write(d, "good.txt", "1 2\n");
    ok(&["import", "--store", s(&store), s(&good)]);

    let four = write(d, "four.txt", "1 2\n1 2 3 4\n");
    let at = format!("{}:2:", s(&four));
    import_fails(&store, &[s(&four)], &at, "found 4 fields, expected 2");
    let wfour = write(d, "wfour.txt", "1 2 0.5\n1 2 3 4\n");
    import_fails(
        &store,
        &["--weighted", s(&wfour)],
        &format!("{}:2:", s(&wfour)),
        "found 4 fields, expected 3",
    );
    let three = write(d, "three.txt", "# comment\n5 6 0.5\n");
    let at = format!("{}:2:", s(&three));
    import_fails(&store, &[s(&three)], &at, "needs --weighted");

    // A vertex file (one id a line) given as an edge list.
    let ids = write(d, "ids.txt", "1\n2\n3\n");
    let at = format!("{}:1:", s(&ids));
    import_fails(&store, &[s(&ids)], &at, "found 1 field, expected 2");
    import_fails(
        &store,
        &["--format", "edgelist", s(&ids)],
        &at,
        "found 1 field",
    );

    // LDBC: a vertex line with two fields, an edge line with more than `src dst weight`.
    let props = "graph.G.vertex-file = G.v\ngraph.G.edge-file = G.e\n\
                 graph.G.directed = true\ngraph.G.edge-properties.names = weight\n";
    let p = write(d, "G.properties", props);
    let v = write(d, "G.v", "1\n2 7\n");
    write(d, "G.e", "1 2 0.5\n");
    import_fails(
        &store,
        &[s(&p)],
        &format!("{}:2:", s(&v)),
        "found 2 fields, expected 1",
    );
    write(d, "G.v", "1\n2\n");
    let e = write(d, "G.e", "1 2 0.5\n2 1 0.5 9\n");
    import_fails(
        &store,
        &[s(&p)],
        &format!("{}:2:", s(&e)),
        "found 4 fields, expected 3: `src dst weight`",
    );
    write(d, "G.e", "1 2 0.5\n2 1\n");
    import_fails(
        &store,
        &[s(&p)],
        &format!("{}:2:", s(&e)),
        "found 2 fields, expected 3",
    );

    // CSV: a row with more fields than the header.
    let csv = write(d, "e.csv", "src,dst\n1,2\n3,4,5\n");
    import_fails(
        &store,
        &[s(&csv)],
        &format!("{}:3:", s(&csv)),
        "expected 2 fields, found 3",
    );
}

#[test]
fn a_missing_file_named_by_an_ldbc_properties_file_names_the_properties_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let props = write(
        d,
        "G.properties",
        "graph.G.vertex-file = G.v\ngraph.G.edge-file = G.e\ngraph.G.directed = true\n\
         graph.G.bfs.source-vertex = 1\n",
    );
    write(d, "G.e", "1 2\n");
    let want = format!(
        "{}: graph.G.vertex-file = G.v: {} does not exist",
        s(&props),
        s(&d.join("G.v"))
    );
    let store = d.join("store");
    let o = morpheus(&[
        "import",
        "--format",
        "ldbc",
        "--store",
        s(&store),
        s(&props),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    assert!(!store.exists(), "no store is created");

    write(d, "G.v", "1\n2\n");
    fs::remove_file(d.join("G.e")).unwrap();
    let o = morpheus(&[
        "graphalytics",
        "run",
        "--properties",
        s(&props),
        "--algorithm",
        "BFS",
        "--out",
        s(&d.join("out")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "{}: graph.G.edge-file = G.e: {} does not exist",
        s(&props),
        s(&d.join("G.e"))
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}
