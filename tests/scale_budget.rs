//! The memory budget bounds the whole graph run, through the CLI (release, `--ignored`):
//! on a generated RMAT graph, each bounded algorithm run with a budget far below its
//! in-memory footprint (so its edges stream from spilled chunks, and the load builds its
//! edges in ranges) gives exactly the output of the in-memory run, and the process's peak
//! RSS (VmHWM, from `--metrics`) stays within the budget plus a fixed slack.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod common;

use std::fs;
use std::path::Path;

use common::{ok, s};

/// RMAT scale of the test graph: 2^18 vertex ids, 4.2M directed edges.
const SCALE: &str = "18";

/// What a process needs beside its budget: the binary, thread stacks, the open store's
/// index, the output gathered on worker 0, allocator slack.
const SLACK: u64 = 80 << 20;

/// The small budget (both workers together).
const BUDGET: u64 = 16 << 20;

/// Runs `algo ALG` on `store` with `extra` arguments; returns (output text, peak RSS).
fn run(store: &Path, dir: &Path, alg: &str, tag: &str, extra: &[&str]) -> (String, u64) {
    let out = dir.join(format!("{alg}-{tag}.csv"));
    let metrics = dir.join(format!("{alg}-{tag}.json"));
    let spill = dir.join("spill");
    fs::create_dir_all(&spill).unwrap();
    let mut args = vec![
        "algo",
        alg,
        "--store",
        s(store),
        "--workers",
        "2",
        "--spill-dir",
        s(&spill),
        "--out",
        s(&out),
        "--metrics",
        s(&metrics),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    let m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&metrics).unwrap()).unwrap();
    let peak = m["peak_memory_bytes"]
        .as_u64()
        .expect("peak memory reported");
    assert_eq!(
        fs::read_dir(&spill).unwrap().count(),
        0,
        "{alg} {tag}: spill files left behind"
    );
    (fs::read_to_string(&out).unwrap(), peak)
}

#[test]
#[ignore = "release-mode scale test: cargo test --release --test scale_budget -- --ignored"]
fn a_budget_far_below_the_footprint_bounds_rss_and_keeps_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let edges = dir.path().join("rmat.txt");
    let store = dir.path().join("store");
    ok(&[
        "generate",
        "rmat",
        "--scale",
        SCALE,
        "--seed",
        "7",
        "--out",
        s(&edges),
    ]);
    ok(&["import", "--store", s(&store), s(&edges)]);
    fs::remove_file(&edges).unwrap();
    let budget = BUDGET.to_string();
    let algorithms: [(&str, &[&str]); 6] = [
        ("pagerank", &["--iterations", "10"]),
        ("wcc", &[]),
        ("bfs", &["--source", "0"]),
        ("sssp", &["--source", "0"]),
        ("cdlp", &["--iterations", "5"]),
        ("kcore", &[]),
    ];
    let mut report = Vec::new();
    for (alg, params) in algorithms {
        let (want, in_memory) = run(&store, dir.path(), alg, "memory", params);
        let mut small: Vec<&str> = params.to_vec();
        small.extend(["--memory-budget", &budget]);
        let (got, bounded) = run(&store, dir.path(), alg, "bounded", &small);
        assert!(
            want.lines().count() > 100_000,
            "{alg}: too few output lines"
        );
        assert!(got == want, "{alg}: the bounded run's output differs");
        report.push(format!(
            "{alg}: in memory {} MiB, budget {} MiB: {} MiB",
            in_memory >> 20,
            BUDGET >> 20,
            bounded >> 20
        ));
        assert!(
            bounded <= BUDGET + SLACK,
            "{alg}: peak RSS {bounded} B over the budget {BUDGET} B + {SLACK} B \
             (in memory: {in_memory} B)"
        );
        // The bound means something: the in-memory run needs more than it allows.
        assert!(
            in_memory > BUDGET + SLACK,
            "{alg}: the in-memory run ({in_memory} B) already fits the bound; use a bigger graph"
        );
    }
    eprintln!("{}", report.join("\n"));
}
