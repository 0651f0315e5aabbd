//! `morpheus algo` and `morpheus graphalytics`: graph algorithms on a store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use morpheus::prelude::*;
use morpheus_graph::run::{self, Algorithm, OutputFormat, Params};

use crate::{Bar, JobArgs};

#[derive(Args, Debug)]
pub(crate) struct AlgoArgs {
    /// Algorithm: bfs, sssp, pagerank (pr), wcc, cdlp, lcc, triangles, scc, kcore, degree,
    /// path.
    #[arg(value_parser = |s: &str| s.parse::<Algorithm>())]
    algorithm: Algorithm,
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Source vertex (bfs, sssp, path).
    #[arg(long)]
    source: Option<u64>,
    /// Target vertex (path).
    #[arg(long)]
    target: Option<u64>,
    /// Iterations (pagerank: 20, cdlp: 10).
    #[arg(long)]
    iterations: Option<usize>,
    /// PageRank damping factor.
    #[arg(long)]
    damping: Option<f64>,
    /// PageRank: stop when the L1 change of the ranks falls below this.
    #[arg(long)]
    tolerance: Option<f64>,
    /// Personalized PageRank: comma-separated source vertices.
    #[arg(long, value_delimiter = ',')]
    personalized: Vec<u64>,
    /// GraphX-compatible PageRank (ranks start at 1, dangling mass dropped).
    #[arg(long)]
    graphx: bool,
    /// Path: maximum depth.
    #[arg(long)]
    max_depth: Option<u64>,
    /// Degree: count in-edges instead of out-edges.
    #[arg(long, default_value = "out", value_parser = ["out", "in"])]
    direction: String,
    /// Output file (per-vertex values); without it, values are printed as `id value`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format: csv, parquet or graphalytics (default: from the file extension).
    #[arg(long, value_parser = |s: &str| s.parse::<OutputFormat>())]
    out_format: Option<OutputFormat>,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Subcommand, Debug)]
pub(crate) enum GraphalyticsCommand {
    /// Import a Graphalytics graph (or reuse a store) and run one algorithm with the
    /// parameters of its `.properties` file.
    Run(GraphalyticsRunArgs),
    /// Compare an output with a reference output by Graphalytics' rules.
    Validate(ValidateArgs),
}

#[derive(Args, Debug)]
pub(crate) struct GraphalyticsRunArgs {
    /// The graph's `.properties` file.
    #[arg(long)]
    properties: PathBuf,
    /// bfs, pr, wcc, cdlp, lcc or sssp.
    #[arg(long, value_parser = |s: &str| s.parse::<morpheus_graph::graphalytics::Algorithm>())]
    algorithm: morpheus_graph::graphalytics::Algorithm,
    /// Output file (Graphalytics text unless the extension says otherwise).
    #[arg(long)]
    out: PathBuf,
    /// Store to import into, or to reuse when it exists (default: a temporary store).
    #[arg(long)]
    store: Option<PathBuf>,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ValidateArgs {
    /// Reference output.
    #[arg(long)]
    expected: PathBuf,
    /// Output to check.
    #[arg(long)]
    actual: PathBuf,
    /// bfs, pr, wcc, cdlp, lcc or sssp.
    #[arg(long, value_parser = |s: &str| s.parse::<morpheus_graph::graphalytics::Algorithm>())]
    algorithm: morpheus_graph::graphalytics::Algorithm,
}

/// Runs `algorithm` on the store at `store` and returns worker 0's outcome (with the
/// slowest worker's timings), after writing the metrics file.
fn run_on_store(
    job: &JobArgs,
    store: &Path,
    algorithm: Algorithm,
    params: Params,
) -> Result<run::Outcome> {
    let opened = Store::open_read_only(store)
        .with_context(|| format!("cannot open store {}", store.display()))?;
    let mut work = vec![
        ("command", "algo".to_owned()),
        ("algorithm", algorithm.name().to_owned()),
        ("parameters", format!("{params:?}")),
    ];
    work.extend(crate::store_fingerprint(&opened));
    let opened = Arc::new(opened);
    let (results, metrics) = morpheus_engine::execute(job.config(&work)?, move |ctx| {
        run::run(ctx, &opened, algorithm, &params)
    })
    .with_context(|| format!("{algorithm} on {} failed", store.display()))?;
    let mut outcome = None;
    let (mut load, mut compute) = (0.0f64, 0.0f64);
    for r in results {
        load = load.max(r.load_seconds);
        compute = compute.max(r.compute_seconds);
        outcome.get_or_insert(r);
    }
    let mut outcome = outcome.context("no worker result")?;
    outcome.load_seconds = load;
    outcome.compute_seconds = compute;
    let mut extra = serde_json::Map::new();
    extra.insert("algorithm".into(), algorithm.name().into());
    extra.insert("load_seconds".into(), load.into());
    extra.insert("compute_seconds".into(), compute.into());
    extra.insert(
        "peak_memory_bytes".into(),
        morpheus_engine::JobMetrics::peak_rss_bytes().map_or(serde_json::Value::Null, Into::into),
    );
    job.write_metrics_with(&metrics, extra)?;
    tracing::info!(
        load_seconds = load,
        compute_seconds = compute,
        spilled_bytes = metrics.spilled_bytes,
        "{algorithm} done"
    );
    Ok(outcome)
}

fn emit(
    job: &JobArgs,
    outcome: &run::Outcome,
    out: Option<&Path>,
    format: Option<OutputFormat>,
) -> Result<()> {
    if !job.prints() {
        return Ok(());
    }
    if let Some(s) = &outcome.summary {
        outln!("{s}")?;
    }
    if outcome.ids.is_empty() {
        return Ok(());
    }
    match out {
        Some(path) => {
            let format = format.unwrap_or_else(|| OutputFormat::from_path(path));
            run::write_output(path, format, &outcome.ids, &outcome.values)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None if outcome.summary.is_none() => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            for (i, id) in outcome.ids.iter().enumerate() {
                writeln!(w, "{id} {}", outcome.values.text(i))?;
            }
            w.flush()?;
        }
        None => {}
    }
    Ok(())
}

pub(crate) fn algo_cmd(a: &AlgoArgs) -> Result<ExitCode> {
    let params = Params {
        source: a.source,
        target: a.target,
        iterations: a.iterations,
        damping: a.damping,
        tolerance: a.tolerance,
        personalized: a.personalized.clone(),
        graphx: a.graphx,
        max_depth: a.max_depth,
        in_degree: a.direction == "in",
    };
    if let Some(d) = a.damping {
        if !(0.0..=1.0).contains(&d) {
            return Err(usage!("--damping must be within [0, 1], not {d}"));
        }
    }
    let needs_source = matches!(
        a.algorithm,
        Algorithm::Bfs | Algorithm::Sssp | Algorithm::Path
    );
    if needs_source && a.source.is_none() {
        return Err(usage!("{} needs a source vertex (--source)", a.algorithm));
    }
    if a.algorithm == Algorithm::Path && a.target.is_none() {
        return Err(usage!("path needs a target vertex (--target)"));
    }
    let outcome = run_on_store(&a.job, &a.store, a.algorithm, params)?;
    emit(&a.job, &outcome, a.out.as_deref(), a.out_format)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn graphalytics_run(a: &GraphalyticsRunArgs, quiet: bool) -> Result<ExitCode> {
    let graph = morpheus_storage::import::ldbc::parse_properties(&a.properties)?;
    let temp;
    let store = match &a.store {
        Some(s) => s.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary store directory")?;
            temp.path().join("store")
        }
    };
    if !store.join("MANIFEST.json").exists() {
        let mut options = ImportOptions::default();
        options.weighted = graph.weight_column.is_some();
        import(
            &store,
            std::slice::from_ref(&a.properties),
            &options,
            &Bar::new(quiet),
        )
        .with_context(|| format!("cannot import {}", a.properties.display()))?;
    }
    let (algorithm, params) = run::graphalytics_params(&graph, &a.properties, a.algorithm)?;
    let outcome = run_on_store(&a.job, &store, algorithm, params)?;
    emit(&a.job, &outcome, Some(&a.out), None)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn graphalytics_validate(a: &ValidateArgs) -> Result<ExitCode> {
    let report = morpheus_graph::graphalytics::validate_files(a.algorithm, &a.expected, &a.actual)?;
    outln!("{report}")?;
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
