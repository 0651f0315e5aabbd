//! End-to-end tests of the `morpheus` binary on graphs the tests write themselves, and on
//! the shared datasets when `MORPHEUS_DATASETS` / `MORPHEUS_LDBC_DIR` are set.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{edge_pairs, morpheus, ok, s, snapshot};

fn stats(store: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&[
        "store",
        "stats",
        "--store",
        store.to_str().unwrap(),
        "--json",
    ]))
    .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Distinct endpoints and edge lines of an edge list, counted independently of Morpheus.
fn count_edge_list(text: &str) -> (usize, usize) {
    let pairs = edge_pairs(text);
    let ids: HashSet<u64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    (ids.len(), pairs.len())
}

#[test]
fn help_usage_errors_and_failures_have_distinct_exit_codes() {
    let help = ok(&["--help"]);
    for cmd in ["demo", "import", "generate", "store"] {
        assert!(help.contains(cmd), "{help}");
    }
    let import_help = ok(&["import", "--help"]);
    for flag in [
        "--store",
        "--format",
        "--undirected",
        "--weighted",
        "--shards",
        "--delete",
        "--segment-size",
    ] {
        assert!(
            import_help.contains(flag),
            "{flag} missing from import --help"
        );
    }
    let stats_help = ok(&["store", "stats", "--help"]);
    assert!(stats_help.contains("--json"));
    assert_eq!(morpheus(&["import"]).status.code(), Some(2));
    assert_eq!(
        morpheus(&["import", "--store", "/x", "--format", "xml", "f"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        morpheus(&["generate", "rmat", "--scale", "0", "--out", "/tmp/x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(morpheus(&["frobnicate"]).status.code(), Some(2));
    let missing = morpheus(&["store", "stats", "--store", "/nonexistent/morpheus-store"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/morpheus-store"));
}

#[test]
fn generated_graph_imports_with_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("g.txt");
    ok(&[
        "generate",
        "rmat",
        "--scale",
        "10",
        "--seed",
        "7",
        "--weighted",
        "--out",
        s(&graph),
    ]);
    let text = fs::read_to_string(&graph).unwrap();
    let (vertices, edges) = count_edge_list(&text);
    assert_eq!(edges, 16 << 10);
    // Deterministic: the same seed gives the same file.
    let again = dir.path().join("g2.txt");
    ok(&[
        "generate",
        "rmat",
        "--scale",
        "10",
        "--seed",
        "7",
        "--weighted",
        "--out",
        s(&again),
    ]);
    assert_eq!(fs::read(&again).unwrap(), text.as_bytes());

    let store = dir.path().join("store");
    ok(&[
        "import",
        "--store",
        s(&store),
        "--weighted",
        "--shards",
        "4",
        s(&graph),
    ]);
    let st = stats(&store);
    assert_eq!(st["vertices"], vertices as u64);
    assert_eq!(st["edges"], edges as u64);
    assert_eq!(st["shards"], 4);
    assert_eq!(st["dead_bytes"], 0);
    for key in ["segments", "live_bytes", "last_lsn"] {
        assert!(st[key].as_u64().unwrap() > 0, "{key}");
    }
    let verify = ok(&["store", "verify", "--store", s(&store)]);
    assert!(verify.contains("0 problem(s)"), "{verify}");
}

#[test]
fn malformed_line_reports_file_and_line_and_leaves_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let good = dir.path().join("good.txt");
    fs::write(&good, "1 2\n2 3\n").unwrap();
    ok(&["import", "--store", s(&store), s(&good)]);
    let before = snapshot(&store);
    let bad = dir.path().join("bad.txt");
    fs::write(&bad, "# header\n4 5\n5 6\n6\n").unwrap();
    let out = morpheus(&["import", "--store", s(&store), s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:4: found 1 field, expected 2: `src dst`",
            bad.display()
        )),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
    let gz = dir.path().join("bad.txt.gz");
    let mut enc =
        flate2::write::GzEncoder::new(fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, b"1 2 0.5\n1 2 x\n").unwrap();
    enc.finish().unwrap();
    let out = morpheus(&["import", "--store", s(&store), "--weighted", s(&gz)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: weight `x`"));
    assert_eq!(snapshot(&store), before);
}

#[test]
fn verify_reports_corruption_and_compact_and_changes_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let g = dir.path().join("g.txt");
    let mut text = String::new();
    for i in 0..3000u64 {
        text.push_str(&format!("{} {}\n", i, (i * 31) % 3000));
    }
    fs::write(&g, &text).unwrap();
    ok(&[
        "import",
        "--store",
        s(&store),
        "--shards",
        "1",
        "--segment-size",
        "4KiB",
        s(&g),
    ]);
    let lsn = stats(&store)["last_lsn"].as_u64().unwrap();
    let del = dir.path().join("d.txt");
    fs::write(&del, &text[..text.len() / 2]).unwrap();
    ok(&["import", "--store", s(&store), "--delete", s(&del)]);
    let changes: serde_json::Value = serde_json::from_str(&ok(&[
        "store",
        "changes",
        "--store",
        s(&store),
        "--since",
        &lsn.to_string(),
        "--json",
    ]))
    .unwrap();
    assert!(!changes.as_array().unwrap().is_empty());
    assert!(changes
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["lsn"].as_u64().unwrap() > lsn));
    let before = stats(&store);
    assert!(before["dead_bytes"].as_u64().unwrap() > 0);
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "store",
        "compact",
        "--store",
        s(&store),
        "--dead-ratio",
        "0.1",
        "--json",
    ]))
    .unwrap();
    assert!(report["segments_compacted"].as_u64().unwrap() > 0);
    let after = stats(&store);
    assert!(after["dead_bytes"].as_u64().unwrap() < before["dead_bytes"].as_u64().unwrap());
    assert_eq!(after["edges"], before["edges"]);
    assert_eq!(after["vertices"], before["vertices"]);
    ok(&["store", "verify", "--store", s(&store)]);

    // Flip one byte in the middle of the first sealed segment.
    let mut sealed: Vec<PathBuf> = fs::read_dir(store.join("shard-0000"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    sealed.sort();
    let victim = &sealed[0];
    let mut bytes = fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(victim, &bytes).unwrap();
    let out = morpheus(&["store", "verify", "--store", s(&store)]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&victim.display().to_string()) && text.contains("problem"),
        "{text}"
    );
    let out = morpheus(&["store", "stats", "--store", s(&store)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt store"));

    // Repaired, then checkpointed: the next open reads the checkpoints, with the same
    // figures, and verify compares them with the records.
    bytes[mid] ^= 0xff;
    fs::write(victim, &bytes).unwrap();
    ok(&["store", "checkpoint", "--store", s(&store)]);
    assert!(store.join("shard-0000/index.ckpt").exists());
    assert_eq!(stats(&store), after);
    ok(&["store", "verify", "--store", s(&store)]);
}

#[test]
fn import_killed_with_sigkill_leaves_the_pre_import_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let small = dir.path().join("small.txt");
    fs::write(&small, "1 2\n2 3\n3 1\n").unwrap();
    ok(&[
        "import",
        "--store",
        s(&store),
        "--segment-size",
        "64KiB",
        s(&small),
    ]);
    let before = stats(&store);
    let big = dir.path().join("big.txt");
    ok(&[
        "generate",
        "rmat",
        "--scale",
        "17",
        "--weighted",
        "--out",
        s(&big),
    ]);
    let commits = store.join("COMMITS");
    let commits_len = fs::metadata(&commits).unwrap().len();
    let size = |d: &Path| snapshot(d).values().map(|v| v.len() as u64).sum::<u64>();
    let base = size(&store);
    let pristine = dir.path().join("pristine");
    copy_dir(&store, &pristine);
    let mut killed_mid_write = false;
    for _attempt in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_morpheus"))
            .args(["import", "--store", s(&store), "--weighted", s(&big)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        // Wait until the import has written a good part of its records.
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            if size(&store) > base + (4 << 20) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if still_running && fs::metadata(&commits).unwrap().len() == commits_len {
            killed_mid_write = true;
            break;
        }
        // The import committed before the kill: restore the pre-import store, try again.
        fs::remove_dir_all(&store).unwrap();
        copy_dir(&pristine, &store);
    }
    assert!(
        killed_mid_write,
        "the import always finished before it could be killed"
    );
    let out = morpheus(&["store", "verify", "--store", s(&store)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted write"));
    let after = stats(&store);
    for key in ["vertices", "edges", "last_lsn", "last_txn", "live_bytes"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert!(after["uncommitted_bytes"].as_u64().unwrap() > 0);
    // The next import recovers the store and succeeds.
    ok(&["import", "--store", s(&store), "--weighted", s(&big)]);
    let done = stats(&store);
    assert_eq!(done["uncommitted_bytes"], 0);
    assert!(done["edges"].as_u64().unwrap() > before["edges"].as_u64().unwrap());
    ok(&["store", "verify", "--store", s(&store)]);
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&["demo", "--scale", "8", "--dir", s(dir.path())]);
    for name in ["top-people", "largest-components", "by-country"] {
        let file = dir.path().join(format!("out/{name}.parquet"));
        assert!(file.is_file(), "{name}: {out}");
        assert!(out.contains(&format!("-> {}", file.display())), "{out}");
    }
    assert!(out.contains("top_people (10 rows)"), "{out}");
    // The example specs validate and run against the demo's files.
    let set = |k: &str, p: &str| format!("{k}={}", dir.path().join(p).display());
    let sets = [
        set("store", "store"),
        set("names", "names.csv"),
        set("out", "ex"),
    ];
    for spec in [
        "examples/jobs/pagerank-join.toml",
        "examples/jobs/scheduled.toml",
    ] {
        let mut args = vec!["validate", spec];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        ok(&args);
    }
    let mut args = vec!["run", "examples/jobs/pagerank-join.toml"];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    let run = ok(&args);
    assert!(run.contains("wrote 10 rows of `top10`"), "{run}");
    assert!(dir.path().join("ex/top10.parquet").is_file());
}

#[test]
fn wiki_vote_imports_with_published_counts() {
    let Some(datasets) = std::env::var_os("MORPHEUS_DATASETS") else {
        eprintln!("skipped: MORPHEUS_DATASETS is not set (CI sets it to ../shared/datasets)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("wv");
    let input = Path::new(&datasets).join("wiki-Vote.txt.gz");
    ok(&[
        "import",
        "--store",
        s(&store),
        "--format",
        "edgelist",
        s(&input),
    ]);
    let st = stats(&store);
    assert_eq!(st["vertices"], 7115);
    assert_eq!(st["edges"], 103689);
    ok(&["store", "verify", "--store", s(&store)]);
}

#[test]
fn ldbc_graphs_import_from_their_properties_files() {
    let Some(ldbc) = std::env::var_os("MORPHEUS_LDBC_DIR") else {
        eprintln!(
            "skipped: MORPHEUS_LDBC_DIR is not set (CI sets it to ../shared/conformance/ldbc)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for e in fs::read_dir(&ldbc).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "properties") {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap();
        let directed = text
            .lines()
            .any(|l| l.contains(".directed") && l.trim_end().ends_with("true"));
        let name = p.file_stem().unwrap().to_str().unwrap();
        let lines = |ext: &str| {
            fs::read_to_string(p.with_file_name(format!("{name}.{ext}")))
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count() as u64
        };
        let store = dir.path().join(name);
        ok(&["import", "--store", s(&store), s(&p)]);
        let st = stats(&store);
        assert_eq!(st["vertices"], lines("v"), "{name}");
        assert_eq!(st["edges"], lines("e"), "{name}");
        assert_eq!(st["directed"], directed, "{name}");
        ok(&["store", "verify", "--store", s(&store)]);
        seen += 1;
    }
    assert_eq!(seen, 14, "all 14 LDBC validation graphs");
}

#[test]
fn compaction_killed_at_any_moment_keeps_every_committed_cell() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let g = dir.path().join("g.txt");
    ok(&[
        "generate",
        "uniform",
        "--scale",
        "14",
        "--weighted",
        "--out",
        s(&g),
    ]);
    ok(&[
        "import",
        "--store",
        s(&store),
        "--weighted",
        "--shards",
        "2",
        "--segment-size",
        "16KiB",
        s(&g),
    ]);
    // Re-import the same edges as deletions of half of them: many dead records.
    let text = fs::read_to_string(&g).unwrap();
    let half: String = text
        .lines()
        .skip(1)
        .step_by(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let del = dir.path().join("del.txt");
    fs::write(&del, half).unwrap();
    ok(&[
        "import",
        "--store",
        s(&store),
        "--delete",
        "--weighted",
        s(&del),
    ]);
    let want = stats(&store);
    let pristine = dir.path().join("pristine");
    copy_dir(&store, &pristine);
    let mut interrupted = 0;
    for delay_ms in [1u64, 3, 8, 15, 30, 60] {
        fs::remove_dir_all(&store).unwrap();
        copy_dir(&pristine, &store);
        let mut child = Command::new(env!("CARGO_BIN_EXE_morpheus"))
            .args([
                "store",
                "compact",
                "--store",
                s(&store),
                "--dead-ratio",
                "0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let st = stats(&store);
        for key in [
            "vertices",
            "edges",
            "edge_entries",
            "last_lsn",
            "live_bytes",
        ] {
            assert_eq!(st[key], want[key], "{key} after a kill at {delay_ms} ms");
        }
        ok(&["store", "verify", "--store", s(&store)]);
    }
    assert!(interrupted > 0, "no compaction was interrupted");
    // A full compaction afterwards still reclaims the dead bytes.
    ok(&[
        "store",
        "compact",
        "--store",
        s(&store),
        "--dead-ratio",
        "0",
    ]);
    let st = stats(&store);
    assert!(st["dead_bytes"].as_u64().unwrap() < want["dead_bytes"].as_u64().unwrap());
    assert_eq!(st["edges"], want["edges"]);
}

/// Word counts computed plainly, sorted as `morpheus wordcount` prints them.
fn sequential_word_count(text: &str) -> String {
    let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(w.to_lowercase()).or_default() += 1;
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(w, n)| format!("{w}\t{n}\n")).collect()
}

#[test]
fn wordcount_matches_a_sequential_count_with_and_without_spilling() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("t.txt");
    ok(&[
        "generate",
        "text",
        "--size",
        "2MB",
        "--seed",
        "3",
        "--out",
        s(&text),
    ]);
    let want = sequential_word_count(&fs::read_to_string(&text).unwrap());
    assert!(want.lines().count() > 10_000);
    assert_eq!(ok(&["wordcount", s(&text)]), want);
    assert_eq!(ok(&["wordcount", s(&text), "--workers", "2"]), want);
    let metrics = dir.path().join("m.json");
    let spill = dir.path().join("spill");
    let got = ok(&[
        "wordcount",
        s(&text),
        "--workers",
        "2",
        "--memory-budget",
        "256KiB",
        "--spill-dir",
        s(&spill),
        "--metrics",
        s(&metrics),
    ]);
    assert_eq!(got, want);
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&metrics).unwrap()).unwrap();
    assert!(m["spilled_bytes"].as_u64().unwrap() > 0, "{m}");
    assert!(m["stages"].as_array().unwrap().len() >= 2);
    assert_eq!(
        fs::read_dir(&spill).unwrap().count(),
        0,
        "spill files removed"
    );
    let top = ok(&["wordcount", s(&text), "--top", "3"]);
    assert_eq!(
        top,
        want.lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let bad = morpheus(&["wordcount", s(&text), "--memory-budget", "lots"]);
    assert_eq!(bad.status.code(), Some(2));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn two_processes_on_loopback_equal_one_process_with_two_workers() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("t.txt");
    ok(&["generate", "text", "--size", "1MB", "--out", s(&text)]);
    let want = ok(&["wordcount", s(&text), "--workers", "2"]);
    let hosts = dir.path().join("hosts");
    fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let args = |id: &str| -> Vec<String> {
        [
            "wordcount",
            s(&text),
            "--processes",
            "2",
            "--process-id",
            id,
            "--hostfile",
            s(&hosts),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let other = Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args(args("1"))
        .output_async();
    let main = Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args(args("0"))
        .output()
        .unwrap();
    let other = other.join().unwrap();
    assert!(
        main.status.success(),
        "{}",
        String::from_utf8_lossy(&main.stderr)
    );
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    assert_eq!(String::from_utf8(main.stdout).unwrap(), want);
    assert!(other.stdout.is_empty(), "only process 0 prints");
}

/// Runs a command on a thread, so two cluster processes can start together.
trait OutputAsync {
    fn output_async(self) -> std::thread::JoinHandle<Output>;
}

impl OutputAsync for &mut Command {
    fn output_async(self) -> std::thread::JoinHandle<Output> {
        let child = self
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::spawn(move || child.wait_with_output().unwrap())
    }
}

#[test]
fn degree_distribution_matches_the_edge_list() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.txt");
    ok(&["generate", "rmat", "--scale", "9", "--out", s(&g)]);
    let store = dir.path().join("store");
    ok(&["import", "--store", s(&store), s(&g)]);
    let text = fs::read_to_string(&g).unwrap();
    let mut out_deg: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    let mut in_deg: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    for (a, b) in edge_pairs(&text) {
        *out_deg.entry(a).or_default() += 1;
        *in_deg.entry(b).or_default() += 1;
        out_deg.entry(b).or_default();
        in_deg.entry(a).or_default();
    }
    let dist = |m: &std::collections::HashMap<u64, u64>| -> String {
        let mut d: BTreeMap<u64, u64> = BTreeMap::new();
        for &deg in m.values() {
            *d.entry(deg).or_default() += 1;
        }
        d.into_iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
    };
    for workers in ["1", "2", "4"] {
        assert_eq!(
            ok(&["degrees", "--store", s(&store), "--workers", workers]),
            dist(&out_deg)
        );
        assert_eq!(
            ok(&[
                "degrees",
                "--store",
                s(&store),
                "--direction",
                "in",
                "--workers",
                workers,
                "--memory-budget",
                "64KiB"
            ]),
            dist(&in_deg)
        );
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn algo_outputs_agree_across_workers_budgets_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let edges = dir.path().join("g.txt");
    let store = dir.path().join("store");
    ok(&["generate", "rmat", "--scale", "10", "--out", s(&edges)]);
    ok(&["import", "--store", s(&store), s(&edges)]);
    let metrics = dir.path().join("m.json");
    let run = |name: &str, extra: &[&str]| -> String {
        let out = dir.path().join(name);
        let mut args = vec!["algo", "pagerank", "--store", s(&store), "--out", s(&out)];
        args.extend_from_slice(&["--metrics", s(&metrics)]);
        args.extend_from_slice(extra);
        ok(&args);
        String::from_utf8_lossy(&fs::read(&out).unwrap()).into_owned()
    };
    let one = run("pr1.csv", &["--workers", "1"]);
    assert!(one.starts_with("vertex,value\n"));
    assert_eq!(run("pr2.csv", &["--workers", "2"]), one);
    let m = read_json(&metrics);
    for key in [
        "load_seconds",
        "compute_seconds",
        "spilled_bytes",
        "peak_memory_bytes",
    ] {
        assert!(m.get(key).is_some(), "metrics lack {key}: {m}");
    }
    assert_eq!(m["spilled_bytes"], 0);
    assert_eq!(
        // PageRank's vertex state (about 65 KB per worker here) must fit; the edges spill.
        run("pr3.csv", &["--workers", "2", "--memory-budget", "160KiB"]),
        one
    );
    assert!(read_json(&metrics)["spilled_bytes"].as_u64().unwrap() > 0);
    let out = morpheus(&[
        "algo",
        "pagerank",
        "--store",
        s(&store),
        "--memory-budget",
        "2KiB",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("memory budget too small"));
    // Graphalytics text and Parquet carry the same values.
    let text = run("pr.txt", &["--workers", "2"]);
    let csv_rows: Vec<String> = one.lines().skip(1).map(|l| l.replace(',', " ")).collect();
    assert_eq!(
        text.lines().map(str::to_owned).collect::<Vec<_>>(),
        csv_rows
    );
    run("pr.parquet", &[]);
    let f = fs::File::open(dir.path().join("pr.parquet")).unwrap();
    let rows: usize = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, csv_rows.len());
    // Scalar answers go to stdout.
    let first = csv_rows[0].split(' ').next().unwrap().to_owned();
    let tri = ok(&[
        "algo",
        "triangles",
        "--store",
        s(&store),
        "--out",
        s(&dir.path().join("t.csv")),
    ]);
    assert!(tri.starts_with("triangles "), "{tri}");
    let path = ok(&[
        "algo",
        "path",
        "--store",
        s(&store),
        "--source",
        &first,
        "--target",
        &first,
    ]);
    assert!(path.contains("exists, length 0"), "{path}");
    // Bad input: clear errors, non-zero exits, no output file.
    let out = morpheus(&["algo", "nosuch", "--store", s(&store)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown algorithm `nosuch`"));
    let missing = dir.path().join("bfs.csv");
    let out = morpheus(&["algo", "bfs", "--store", s(&store), "--out", s(&missing)]);
    // A missing argument is a usage error.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a source vertex"));
    assert!(!missing.exists());
    let out = morpheus(&[
        "algo",
        "bfs",
        "--store",
        s(&store),
        "--source",
        "123456789",
        "--out",
        s(&missing),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("source vertex 123456789 is not in the graph"));
    let out = morpheus(&["algo", "wcc", "--store", s(&dir.path().join("nope"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open store"));
}

#[test]
fn graphalytics_run_and_validate_reproduce_the_ldbc_outputs() {
    let Some(ldbc) = std::env::var_os("MORPHEUS_LDBC_DIR").map(PathBuf::from) else {
        eprintln!("skipping: MORPHEUS_LDBC_DIR is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in fs::read_dir(&ldbc).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((graph, algo)) = name.rsplit_once('-') else {
            continue;
        };
        if !["BFS", "PR", "WCC", "CDLP", "LCC", "SSSP"].contains(&algo) {
            continue;
        }
        let props = ldbc.join(format!("{graph}.properties"));
        let out = dir.path().join(&name);
        ok(&[
            "graphalytics",
            "run",
            "--properties",
            s(&props),
            "--algorithm",
            algo,
            "--out",
            s(&out),
            "--workers",
            "2",
        ]);
        let report = ok(&[
            "graphalytics",
            "validate",
            "--expected",
            s(&path),
            "--actual",
            s(&out),
            "--algorithm",
            algo,
        ]);
        assert!(!report.is_empty());
        checked += 1;
    }
    assert_eq!(checked, 24);
    // A wrong output fails validation with exit 1 and names the vertex.
    let bad = dir.path().join("bad");
    let expected = ldbc.join("example-directed-BFS");
    let text = fs::read_to_string(&expected).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let id = lines[0].split_once(' ').unwrap().0.to_owned();
    lines[0] = format!("{id} 12345");
    fs::write(&bad, lines.join("\n")).unwrap();
    let out = morpheus(&[
        "graphalytics",
        "validate",
        "--expected",
        s(&expected),
        "--actual",
        s(&bad),
        "--algorithm",
        "bfs",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("vertex {id}")));
}

#[test]
fn pagerank_on_wiki_vote_spills_under_a_small_budget_with_the_same_output() {
    let Some(data) = std::env::var_os("MORPHEUS_DATASETS").map(PathBuf::from) else {
        eprintln!("skipping: MORPHEUS_DATASETS is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("wv");
    ok(&[
        "import",
        "--store",
        s(&store),
        s(&data.join("wiki-Vote.txt.gz")),
    ]);
    let (a, b, m) = (
        dir.path().join("a.csv"),
        dir.path().join("b.csv"),
        dir.path().join("m.json"),
    );
    ok(&[
        "algo",
        "pagerank",
        "--store",
        s(&store),
        "--workers",
        "2",
        "--out",
        s(&a),
    ]);
    ok(&[
        "algo",
        "pagerank",
        "--store",
        s(&store),
        "--workers",
        "2",
        "--memory-budget",
        "1MiB",
        "--out",
        s(&b),
        "--metrics",
        s(&m),
    ]);
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert_eq!(fs::read_to_string(&a).unwrap().lines().count(), 7115 + 1);
    assert!(read_json(&m)["spilled_bytes"].as_u64().unwrap() > 0);
}
