//! Store benchmark: import of a generated RMAT edge list end to end, a full scan of the store
//! back into (src, dst, weight) tuples, and the store's size against the raw binary edges.
//!
//! ```text
//! cargo bench --bench store                          # RMAT scale 20, edge factor 16
//! MORPHEUS_BENCH_SCALE=16 cargo bench --bench store  # smaller
//! ```
//! Targets (issue #2, 2 cores): import ≥ 5M edges/s, scan ≥ 50M edges/s, store ≤ 1.3× the
//! raw 16 bytes per weighted edge. Answers are checked before figures are printed: the scan
//! must return every generated edge (count and weight sum).

#[path = "common.rs"]
mod common;
use common::peak_rss_mib;
use std::path::Path;
use std::time::Instant;

use morpheus::prelude::*;
use morpheus_storage::generate::{edge, write_edge_list};
use rayon::prelude::*;

fn run(dir: &Path, scale: u32, weighted: bool) {
    let gen = GenerateOptions {
        weighted,
        ..GenerateOptions::rmat(scale)
    };
    let input = dir.join(format!(
        "rmat{scale}{}.txt",
        if weighted { "w" } else { "" }
    ));
    write_edge_list(&gen, &input).expect("generate");
    let text_bytes = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    let store_dir = dir.join(format!("store{scale}{}", if weighted { "w" } else { "" }));
    let _ = std::fs::remove_dir_all(&store_dir);
    let mut options = ImportOptions::default();
    options.weighted = weighted;

    let t = Instant::now();
    let report = import(
        &store_dir,
        std::slice::from_ref(&input),
        &options,
        &NoProgress,
    )
    .expect("import");
    let import_s = t.elapsed().as_secs_f64();
    let edges = report.edges;
    assert_eq!(edges, gen.edges());

    let t = Instant::now();
    let store = Store::open_read_only(&store_dir).expect("open");
    let open_s = t.elapsed().as_secs_f64();

    let scan = |parallel: bool| {
        let shards: Vec<u32> = (0..store.shard_count()).collect();
        let one = |s: &u32| {
            let mut out: Vec<(u64, u64, f64)> = Vec::new();
            store
                .scan_edges(*s, |a, b, w| out.push((a, b, w)))
                .expect("scan");
            out
        };
        let t = Instant::now();
        let parts: Vec<Vec<(u64, u64, f64)>> = if parallel {
            shards.par_iter().map(one).collect()
        } else {
            shards.iter().map(one).collect()
        };
        let secs = t.elapsed().as_secs_f64();
        let n: usize = parts.iter().map(Vec::len).sum();
        let wsum: f64 = parts.iter().flatten().map(|e| e.2).sum();
        (secs, n as u64, wsum)
    };
    let want_wsum: f64 = (0..gen.edges())
        .into_par_iter()
        .map(|i| edge(&gen, i).2)
        .sum();
    let (seq_s, n, wsum) = scan(false);
    assert_eq!(n, edges, "scan returns every edge");
    assert!(
        (wsum - want_wsum).abs() <= 1e-6 * want_wsum.abs().max(1.0),
        "weight sum {wsum} vs {want_wsum}"
    );
    let (par_s, n2, _) = scan(true);
    assert_eq!(n2, edges);

    let disk = morpheus_storage::disk_usage(&store_dir).expect("size");
    let raw = edges * 16;
    let st = store.stats();
    println!(
        "RMAT scale {scale}{}: {} vertices, {} edges, text {:.1} MiB",
        if weighted { " weighted" } else { "" },
        st.vertices,
        edges,
        text_bytes as f64 / 1048576.0
    );
    println!(
        "  import      {:>7.2} s  {:>7.2} M edges/s   (parse {:.2} s, write+fsync {:.2} s)   target ≥ 5",
        import_s,
        edges as f64 / import_s / 1e6,
        report.parse_seconds,
        report.write_seconds
    );
    println!(
        "  open        {:>7.2} s  (index rebuild, CRC check of every record)",
        open_s
    );
    println!(
        "  scan 1 thr  {:>7.3} s  {:>7.1} M edges/s",
        seq_s,
        edges as f64 / seq_s / 1e6
    );
    println!(
        "  scan par    {:>7.3} s  {:>7.1} M edges/s   ({:.2}× the 1-thread scan)   target ≥ 50",
        par_s,
        edges as f64 / par_s / 1e6,
        seq_s / par_s
    );
    println!(
        "  store size  {:>7.1} MiB = {:.2}× raw 16 B/edge ({:.2} B/edge)   target ≤ 1.3",
        disk as f64 / 1048576.0,
        disk as f64 / raw as f64,
        disk as f64 / edges as f64
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&store_dir);
    let _ = std::fs::remove_file(&input);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let benching = std::env::args().any(|a| a == "--bench");
    let scale: u32 = std::env::var("MORPHEUS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 20 } else { 10 });
    let dir = tempfile::tempdir().expect("temp dir");
    println!("store benchmark, {} threads", rayon::current_num_threads());
    run(dir.path(), scale, true);
    run(dir.path(), scale, false);
    println!("peak RSS {:.0} MiB", peak_rss_mib());
}
