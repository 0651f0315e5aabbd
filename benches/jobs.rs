//! Job benchmarks.
//!
//! 1. A job joining a 10M-row Parquet dataset with PageRank output over 1M vertices
//!    (uniform random graph, 2^20 vertices, 8M edges), 2 workers, written as partitioned
//!    Parquet: rows/s end to end (target >= 5M rows/s), and the same without the
//!    PageRank (a join of the dataset with a 1M-row Parquet of ranks).
//! 2. The job server with 10,000 jobs in its history: p50/p99 latency of list and show
//!    (target p99 <= 10 ms).
//!
//! `MORPHEUS_BENCH_ROWS` and `MORPHEUS_BENCH_SCALE` shrink the first for quick runs;
//! `MORPHEUS_BENCH_KEEP=DIR` copies its inputs and job spec to `DIR` for profiling.

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use morpheus::prelude::*;
use morpheus_jobs::{LoadOptions, RunOptions, Spec};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `rows` rows of (id in 0..vertices, amount, channel), Snappy Parquet in 1M-row groups.
fn write_dataset(path: &Path, rows: u64, vertices: u64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("channel", DataType::Utf8, false),
    ]));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let file = std::fs::File::create(path).expect("create dataset");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
        .expect("writer");
    let channels = ["web", "app", "store", "partner"];
    let mut x: u64 = 42;
    let mut done = 0;
    while done < rows {
        let n = (rows - done).min(1 << 16);
        let mut ids = Vec::with_capacity(n as usize);
        let mut amounts = Vec::with_capacity(n as usize);
        let mut ch = Vec::with_capacity(n as usize);
        for _ in 0..n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ids.push(((x >> 33) % vertices) as i64);
            amounts.push((x >> 40) as f64 / 1024.0);
            ch.push(channels[(x >> 20) as usize % 4]);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(StringArray::from(ch)),
        ];
        w.write(&RecordBatch::try_new(Arc::clone(&schema), cols).expect("batch"))
            .expect("write");
        done += n;
    }
    w.close().expect("close");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy target");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

fn run_job(dir: &Path, text: &str, workers: usize) -> (f64, morpheus_jobs::RunReport) {
    let spec = Spec::parse(
        text,
        "<bench>",
        &LoadOptions {
            base_dir: Some(dir.to_owned()),
            ..LoadOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let report = morpheus_jobs::run(
        &spec,
        &RunOptions {
            workers: Some(workers),
            memory_budget: Some(8 << 30),
            spill_dir: None,
            incremental_state: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (t.elapsed().as_secs_f64(), report)
}

/// With `MORPHEUS_BENCH_STAGES` set, the run's stages and their times (on stderr).
fn print_stages(report: &morpheus_jobs::RunReport) {
    if std::env::var_os("MORPHEUS_BENCH_STAGES").is_some() {
        for st in &report.metrics.stages {
            eprintln!(
                "  stage {:<24} {:>8.3} s  in {:>10} out {:>10}",
                st.name, st.seconds, st.records_in, st.records_out
            );
        }
    }
}

fn join_bench() {
    let rows = env_num("MORPHEUS_BENCH_ROWS", 10_000_000);
    let scale = env_num("MORPHEUS_BENCH_SCALE", 20) as u32;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let edges = d.join("g.txt");
    let gen = GenerateOptions {
        kind: GraphKind::Uniform,
        edge_factor: 8,
        ..GenerateOptions::rmat(scale)
    };
    morpheus_storage::generate::write_edge_list(&gen, &edges).expect("generate");
    import(
        &d.join("store"),
        &[edges],
        &ImportOptions::default(),
        &NoProgress,
    )
    .expect("import");
    let t = Instant::now();
    write_dataset(&d.join("events.parquet"), rows, 1 << scale);
    eprintln!(
        "(wrote {rows} rows of Parquet in {:.1}s)",
        t.elapsed().as_secs_f64()
    );
    let job = r#"
name = "join-bench"
[inputs.g]
store = "store"
[inputs.events]
parquet = "events.parquet"
key = "id"
[[steps]]
name = "ranks"
algorithm = "pagerank"
[[steps]]
name = "joined"
join = "events"
with = "ranks"
how = "left"
[[outputs]]
step = "joined"
path = "joined.parquet"
partitioned = true
[[outputs]]
step = "ranks"
path = "ranks.parquet"
partitioned = true
"#;
    if let Some(keep) = std::env::var_os("MORPHEUS_BENCH_KEEP") {
        // For profiling the job on its own (e.g. `perf record morpheus run`).
        std::fs::write(d.join("job.toml"), job).expect("job spec");
        copy_tree(d, Path::new(&keep));
        eprintln!(
            "(inputs and job.toml copied to {})",
            Path::new(&keep).display()
        );
    }
    let (secs, report) = run_job(d, job, 2);
    assert_eq!(
        report.outputs[0].rows, rows,
        "a left join keeps every event"
    );
    println!(
        "join {rows} Parquet rows with PageRank over {} vertices, 2 workers: {secs:.2} s end to end ({:.1} M rows/s; target >= 5), of which PageRank {:.2} s and graph load {:.2} s",
        report.outputs[1].rows,
        rows as f64 / secs / 1e6,
        report.compute_seconds,
        report.load_seconds
    );
    print_stages(&report);
    let job2 = r#"
name = "join-only"
[inputs.events]
parquet = "events.parquet"
key = "id"
[inputs.ranks]
parquet = "ranks.parquet"
key = "id"
[[steps]]
name = "joined"
join = "events"
with = "ranks"
how = "left"
[[outputs]]
step = "joined"
path = "joined2.parquet"
partitioned = true
"#;
    for workers in [1, 2] {
        let (secs, report) = run_job(d, job2, workers);
        assert_eq!(report.outputs[0].rows, rows);
        println!(
            "join {rows} Parquet rows with a {}-row Parquet of ranks, {workers} worker(s): {secs:.2} s ({:.1} M rows/s)",
            report.outputs[0].rows.min(1 << scale),
            rows as f64 / secs / 1e6
        );
        print_stages(&report);
    }
    println!("peak RSS {:.0} MiB", common::peak_rss_mib());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn server_bench() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(state.join("jobs")).expect("state");
    // 10,000 finished jobs of history, written straight into a fresh state database by a
    // first server start (the schema) and then through SQLite.
    let exe = env!("CARGO_BIN_EXE_morpheus");
    let start = |state: &Path| {
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let url = line.trim().trim_start_matches("listening on ").to_owned();
        (child, url)
    };
    let (mut child, _) = start(&state);
    let _ = child.kill();
    let _ = child.wait();
    {
        let db = rusqlite::Connection::open(state.join("morpheus.db")).expect("db");
        db.execute_batch("BEGIN").expect("begin");
        let spec = include_str!("../examples/jobs/pagerank-join.toml");
        for i in 0..10_000 {
            db.execute(
                "INSERT INTO jobs (name, spec, sets, state, retries, backoff, max_concurrent,
                    submitted_at, run_after, started_at, finished_at, metrics)
                 VALUES (?1, ?2, '[]', 'succeeded', 0, 1.0, 1, ?3, ?3, ?3, ?4, ?5)",
                rusqlite::params![
                    format!("job-{}", i % 50),
                    spec,
                    1.0e9 + i as f64,
                    1.0e9 + i as f64 + 2.0,
                    r#"{"spilled_bytes":0,"stages":[],"outputs":[]}"#
                ],
            )
            .expect("insert");
        }
        db.execute_batch("COMMIT").expect("commit");
    }
    let (mut child, url) = start(&state);
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let time = |path: &str, n: usize| -> Vec<f64> {
        let mut v: Vec<f64> = (0..n)
            .map(|i| {
                let p = path.replace("{i}", &(1 + (i * 7919) % 10_000).to_string());
                let t = Instant::now();
                let mut r = agent.get(&format!("{url}{p}")).call().expect("request");
                let _ = r.body_mut().read_to_string().expect("body");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    for (what, path) in [
        ("list (100 newest)", "/api/v1/jobs"),
        (
            "list (state filter)",
            "/api/v1/jobs?state=succeeded&limit=100&offset=5000",
        ),
        ("show", "/api/v1/jobs/{i}"),
    ] {
        let _ = time(path, 50);
        let v = time(path, 2000);
        println!(
            "server, 10000 jobs in history, {what:<20} p50 {:.2} ms  p99 {:.2} ms (target p99 <= 10)",
            percentile(&v, 0.5),
            percentile(&v, 0.99)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    if which != "server" {
        join_bench();
    }
    if which != "join" {
        server_bench();
    }
}
