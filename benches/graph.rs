//! Graph benchmark: load throughput, and PageRank (20 iterations), WCC, BFS, SSSP and
//! triangle count on an RMAT graph, each timed (the algorithm alone: not the load, nor
//! gathering its answer for the check; best of 3 runs, triangles once) with 1 and 2 workers
//! and beside its sequential twin on one thread; with NetworKit (2 threads) on the same edges in
//! the same run when `MORPHEUS_NETWORKIT_PYTHON` names a Python that has it (the
//! `benches/graph.sh` script sets up that virtualenv and measures peak RSS of both).
//! Finally PageRank with a memory budget of a quarter of the graph's in-memory size.
//!
//! ```text
//! benches/graph.sh                                   # RMAT scale 20, edge factor 16
//! MORPHEUS_BENCH_SCALE=16 cargo bench --bench graph  # smaller, without NetworKit
//! ```
//! Results are checked before figures are printed: every parallel run must equal the
//! sequential twin (exactly, or to 1e-9 relative for floats).

#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use morpheus::prelude::*;
use morpheus_engine::{execute, Config};
use morpheus_graph::algo::{self, PageRankOptions};
use morpheus_graph::reference::{self, RefGraph};
use morpheus_graph::Graph;
use morpheus_storage::generate::write_edge_list;

const ALGOS: [&str; 5] = ["pagerank", "wcc", "bfs", "sssp", "triangles"];

/// An algorithm's answer, comparable across runs.
#[derive(Debug, PartialEq)]
enum Answer {
    Ints(Vec<i64>),
    Floats(Vec<f64>),
    Total(u64),
}

fn same(a: &Answer, b: &Answer) -> bool {
    match (a, b) {
        (Answer::Floats(x), Answer::Floats(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| {
                    // An infinity (unreachable) only matches itself.
                    p == q
                        || (p.is_finite()
                            && q.is_finite()
                            && (p - q).abs() <= 1e-9 * p.abs().max(1e-300))
                })
        }
        _ => a == b,
    }
}

/// Timed runs of each algorithm (best of); triangle counting, which takes seconds, runs once.
fn reps(algorithm: &str) -> usize {
    if algorithm == "triangles" {
        1
    } else {
        REPS
    }
}

const REPS: usize = 3;

/// One worker's part of an answer, before it is gathered.
enum Part {
    Ints(Vec<i64>),
    Labels(Vec<u64>),
    Floats(Vec<f64>),
    Total(u64),
}

/// Runs `algorithm` with `config`; returns (load seconds, compute seconds, answer). The
/// compute time is the best of `reps(algorithm)` runs on the loaded graph, each from a
/// common start to the last worker's finish; the answer is gathered afterwards, untimed.
fn morpheus(
    store: &Arc<Store>,
    config: Config,
    algorithm: &'static str,
    source: u64,
) -> (f64, f64, Answer) {
    let store = Arc::clone(store);
    let (results, _) = execute(config, move |ctx| {
        let t = Instant::now();
        // Weights only where the algorithm reads them (as `morpheus algo` does).
        let (g, weighted) = if algorithm == "sssp" {
            (None, Some(Graph::load(ctx, &store)?))
        } else {
            (Some(Graph::load_topology(ctx, &store)?), None)
        };
        let load = ctx.all_gather("t", t.elapsed().as_secs_f64())?;
        let max = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
        let mut best = f64::MAX;
        let mut part = None;
        for _ in 0..reps(algorithm) {
            ctx.all_gather("start", ())?;
            let t = Instant::now();
            part = Some(match (algorithm, &g, &weighted) {
                ("sssp", _, Some(w)) => Part::Floats(algo::sssp(ctx, w, source)?),
                ("pagerank", Some(g), _) => Part::Floats(algo::pagerank(
                    ctx,
                    g,
                    &PageRankOptions::graphalytics(0.85, 20),
                )?),
                ("wcc", Some(g), _) => Part::Labels(algo::wcc(ctx, g)?),
                ("bfs", Some(g), _) => Part::Ints(algo::bfs(ctx, g, source)?),
                (_, Some(g), _) => Part::Total(algo::triangle_count(ctx, g)?.total),
                _ => unreachable!("graph loaded for {algorithm}"),
            });
            best = best.min(max(ctx.all_gather("t", t.elapsed().as_secs_f64())?));
        }
        let values = |p: Vec<(u64, f64)>| p.into_iter().map(|p| p.1).collect();
        let answer = match (part.expect("at least one run"), &g, &weighted) {
            (Part::Floats(d), None, Some(w)) => Answer::Floats(values(w.gather_values(ctx, &d)?)),
            (Part::Floats(r), Some(g), _) => Answer::Floats(values(g.gather_values(ctx, &r)?)),
            (Part::Labels(l), Some(g), _) => Answer::Ints(
                g.gather_values(ctx, &l)?
                    .into_iter()
                    .map(|p| p.1 as i64)
                    .collect(),
            ),
            (Part::Ints(d), Some(g), _) => {
                Answer::Ints(g.gather_values(ctx, &d)?.into_iter().map(|p| p.1).collect())
            }
            (Part::Total(t), _, _) => Answer::Total(t),
            _ => unreachable!("answer matches its graph"),
        };
        Ok((ctx.index() == 0).then(|| (max(load), best, answer)))
    })
    .expect("morpheus run");
    results
        .into_iter()
        .flatten()
        .next()
        .expect("worker 0 answers")
}

/// The sequential twin: best of `reps(algorithm)` runs, and its answer.
fn twin(g: &RefGraph, algorithm: &str, source: u64) -> (f64, Answer) {
    let mut best = f64::MAX;
    let mut answer = None;
    for _ in 0..reps(algorithm) {
        let t = Instant::now();
        answer = Some(match algorithm {
            "pagerank" => Answer::Floats(reference::pagerank(g, 0.85, 20)),
            "wcc" => Answer::Ints(reference::wcc(g).into_iter().map(|x| x as i64).collect()),
            "bfs" => Answer::Ints(reference::bfs(g, source).expect("bfs")),
            "sssp" => Answer::Floats(reference::sssp(g, source).expect("sssp")),
            _ => Answer::Total(reference::triangle_count(g).0),
        });
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, answer.expect("at least one run"))
}

/// NetworKit's seconds per algorithm (and its peak RSS), from `benches/networkit_bench.py`.
fn networkit(python: &str, edges: &Path, source: u64) -> Option<BTreeMap<String, f64>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/networkit_bench.py");
    let out = Command::new(python)
        .arg(script)
        .arg(edges)
        .arg(source.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("networkit failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        json.as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect(),
    )
}

fn main() {
    let scale: u32 = std::env::var("MORPHEUS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var("MORPHEUS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).expect("bench dir");
    let gen = GenerateOptions {
        weighted: true,
        ..GenerateOptions::rmat(scale)
    };
    let input = dir.join(format!("rmat{scale}.txt"));
    let store_dir = dir.join(format!("rmat{scale}.store"));
    if !store_dir.exists() {
        write_edge_list(&gen, &input).expect("generate");
        let mut options = ImportOptions::default();
        options.weighted = true;
        import(
            &store_dir,
            std::slice::from_ref(&input),
            &options,
            &NoProgress,
        )
        .expect("import");
    }
    let store = Arc::new(Store::open_read_only(&store_dir).expect("open"));
    // The stored graph (duplicates merged) as one edge list: the twin's and NetworKit's input.
    let mut edges = Vec::new();
    let mut vertices = Vec::new();
    for s in 0..store.shard_count() {
        store
            .scan_edges(s, |a, b, w| edges.push((a, b, w)))
            .expect("scan");
        vertices.extend(store.vertex_ids(s).expect("ids"));
    }
    let stored = dir.join(format!("rmat{scale}.stored.txt"));
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&stored).expect("edges"));
        for (a, b, x) in &edges {
            writeln!(w, "{a} {b} {x}").expect("write");
        }
    }
    let source = edges.first().map_or(0, |e| e.0);
    let m = edges.len() as u64;
    let t = Instant::now();
    let g = RefGraph::new(vertices.iter().copied(), &edges, true);
    let twin_build = t.elapsed().as_secs_f64();
    drop(edges);
    println!(
        "RMAT scale {scale}: {} vertices, {m} edges (twin CSR build {twin_build:.2}s)",
        g.vertex_count()
    );

    let nk = std::env::var("MORPHEUS_NETWORKIT_PYTHON")
        .ok()
        .and_then(|py| networkit(&py, &stored, source));
    if nk.is_none() {
        println!(
            "(NetworKit columns skipped: run benches/graph.sh, or set MORPHEUS_NETWORKIT_PYTHON)"
        );
    }
    println!(
        "\n{:<10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9} {:>10}",
        "algorithm", "twin s", "1w s", "2w s", "2w/twin", "1w/2w", "nk s", "2w/nk"
    );
    let mut loads = Vec::new();
    for a in ALGOS {
        let (twin_s, want) = twin(&g, a, source);
        let (l1, one_s, got1) = morpheus(&store, Config::threads(1), a, source);
        let (l2, two_s, got2) = morpheus(&store, Config::threads(2), a, source);
        assert!(same(&got1, &want), "{a}: 1 worker differs from the twin");
        assert!(same(&got2, &want), "{a}: 2 workers differ from the twin");
        loads.push((l1, l2));
        let nk_s = nk.as_ref().and_then(|n| n.get(a).copied());
        println!(
            "{:<10} {:>9.3} {:>9.3} {:>9.3} {:>10.2} {:>10.2} {:>9} {:>10}",
            a,
            twin_s,
            one_s,
            two_s,
            two_s / twin_s,
            one_s / two_s,
            nk_s.map_or("-".into(), |s| format!("{s:.3}")),
            nk_s.map_or("-".into(), |s| format!("{:.2}", two_s / s)),
        );
    }
    let best = |f: fn(&(f64, f64)) -> f64| loads.iter().map(f).fold(f64::MAX, f64::min);
    let (l1, l2) = (best(|l| l.0), best(|l| l.1));
    println!(
        "\nload into partitions: 1 worker {:.3}s ({:.1}M edges/s), 2 workers {:.3}s ({:.1}M edges/s; target >= 30M)",
        l1,
        m as f64 / l1 / 1e6,
        l2,
        m as f64 / l2 / 1e6
    );
    if let Some(rss) = nk.as_ref().and_then(|n| n.get("peak_rss_mib")) {
        println!("NetworKit peak RSS {rss:.0} MiB (Morpheus: see benches/graph.sh)");
    }

    // PageRank with a budget of a quarter of the graph's in-memory size: out- and in-edge
    // chunks (4 B per edge each way) plus, per worker, the replicated topology (12 B per
    // vertex) and PageRank's vertex state (~28 B per vertex).
    let in_memory = m * 8 + 2 * g.vertex_count() as u64 * 40;
    let budget = in_memory / 4;
    let spill = dir.join("spill");
    std::fs::create_dir_all(&spill).expect("spill dir");
    let (_, mem_s, want) = morpheus(&store, Config::threads(2), "pagerank", source);
    let config = Config::threads(2)
        .with_memory_budget(budget)
        .with_spill_dir(&spill);
    let (_, spill_s, got) = morpheus(&store, config, "pagerank", source);
    assert!(same(&got, &want), "pagerank under a budget differs");
    println!(
        "pagerank with budget {} MiB (1/4 of ~{} MiB): {:.3}s vs {:.3}s in memory = {:.2}x (target <= 3)",
        budget >> 20,
        in_memory >> 20,
        spill_s,
        mem_s,
        spill_s / mem_s
    );
    println!(
        "peak RSS of this bench process: {:.0} MiB",
        common::peak_rss_mib()
    );
}
