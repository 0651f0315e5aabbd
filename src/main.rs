//! The `morpheus` command line. Exit codes: 0 success, 1 failure, 2 usage error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use morpheus::prelude::*;
use morpheus::size::parse_size;

#[macro_use]
mod out;
#[macro_use]
mod errors;
mod demo;
mod graph_cmd;
mod job_cmd;
mod server_cmd;

/// Morpheus: batch graph analytics over a segmented graph store.
#[derive(Parser, Debug)]
#[command(name = "morpheus", version, about, propagate_version = true)]
struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bars or informational messages.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a graph and a dataset, import, run PageRank and WCC joined with the dataset.
    Demo(demo::DemoArgs),
    /// Import graph files into a store (created when it does not exist) as one transaction.
    Import(ImportArgs),
    /// Write a deterministic synthetic graph as a text edge list.
    Generate(GenerateArgs),
    /// Inspect and maintain a store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Count words (maximal alphanumeric runs, lower-cased): `word<TAB>count` lines by count
    /// descending, then word ascending.
    Wordcount(WordcountArgs),
    /// Degree distribution of a store: `degree<TAB>vertices` lines, by degree.
    Degrees(DegreesArgs),
    /// Run a graph algorithm on a store: per-vertex values as CSV, Parquet or
    /// Graphalytics text.
    Algo(graph_cmd::AlgoArgs),
    /// LDBC Graphalytics: run a benchmark graph's algorithm, validate outputs.
    #[command(subcommand)]
    Graphalytics(graph_cmd::GraphalyticsCommand),
    /// Run a job spec (TOML): inputs, steps, outputs.
    Run(job_cmd::RunArgs),
    /// Check a job spec (paths, steps, columns, expressions, schedule) without running it.
    Validate(job_cmd::ValidateArgs),
    /// Run the job server: HTTP JSON API, durable history, cron scheduler.
    Serve(server_cmd::ServeArgs),
    /// Submit a job spec to a job server; prints the new job's id.
    Submit(server_cmd::SubmitArgs),
    /// List, show, cancel jobs on a job server, or read their logs.
    #[command(subcommand)]
    Jobs(server_cmd::JobsCommand),
}

/// Where a job runs: worker threads, memory budget, spill directory, metrics, cluster.
#[derive(Args, Debug)]
struct JobArgs {
    /// Worker threads (per process).
    #[arg(long, short = 'w', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Memory budget for blocks in this process (e.g. 512MiB), split among its workers.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    memory_budget: u64,
    /// Directory for spill files (default: the system temporary directory).
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// Write job metrics (totals and per stage) as JSON to this file.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Number of processes (cluster mode).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    processes: u32,
    /// This process's index, 0..processes.
    #[arg(long, default_value_t = 0)]
    process_id: u32,
    /// File of host:port lines, one per process (default: 127.0.0.1:2101+i).
    #[arg(long)]
    hostfile: Option<PathBuf>,
    /// Run more than 4 workers per available core anyway.
    #[arg(long)]
    force_workers: bool,
    /// Cluster mode: how long to wait for every process to connect (e.g. 30s, 2m).
    #[arg(long, default_value = "60s", value_parser = morpheus_engine::parse_duration)]
    connect_timeout: Duration,
}

/// What identifies a store's contents across hosts, for a cluster fingerprint: its id
/// and last committed LSN.
fn store_fingerprint(store: &Store) -> [(&'static str, String); 2] {
    [
        ("store id", format!("{:016x}", store.manifest().id)),
        ("store last LSN", store.last_lsn().to_string()),
    ]
}

impl JobArgs {
    /// The engine configuration, with `work` (the command, its inputs and parameters) as
    /// the fingerprint cluster processes compare before running.
    fn config(&self, work: &[(&str, String)]) -> Result<morpheus_engine::Config> {
        if self.process_id >= self.processes {
            return Err(usage!(
                "--process-id {} must be below --processes {}",
                self.process_id,
                self.processes
            ));
        }
        let mut c = morpheus_engine::Config::threads(self.workers as usize)
            .with_memory_budget(self.memory_budget)
            .with_force_workers(self.force_workers);
        if let Some(d) = &self.spill_dir {
            c = c.with_spill_dir(d);
        }
        c.processes = self.processes as usize;
        c.process_id = self.process_id as usize;
        c.hostfile = self.hostfile.clone();
        c.connect_timeout = self.connect_timeout;
        for (field, value) in work {
            c = c.with_fingerprint(*field, value);
        }
        c.validate().map_err(|e| match e {
            morpheus_engine::Error::InvalidConfig(_)
            | morpheus_engine::Error::TooManyWorkers { .. } => {
                usage!("{e}")
            }
            other => other.into(),
        })?;
        Ok(c)
    }

    /// Writes the metrics file (temporary name, then rename).
    fn write_metrics(&self, metrics: &morpheus_engine::JobMetrics) -> Result<()> {
        self.write_metrics_with(metrics, serde_json::Map::new())
    }

    /// Writes the metrics file with `extra` top-level fields added.
    fn write_metrics_with(
        &self,
        metrics: &morpheus_engine::JobMetrics,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        let Some(path) = &self.metrics else {
            return Ok(());
        };
        let mut json = serde_json::to_value(metrics)?;
        if let Some(obj) = json.as_object_mut() {
            obj.extend(extra);
        }
        job_cmd::write_json(path, &json)
    }

    /// Whether this process prints results (process 0 in cluster mode).
    fn prints(&self) -> bool {
        self.process_id == 0
    }
}

#[derive(Args, Debug)]
struct WordcountArgs {
    /// Text file.
    file: PathBuf,
    /// Print only the N most frequent words.
    #[arg(long)]
    top: Option<usize>,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Args, Debug)]
struct DegreesArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Which degree: out-edges or in-edges.
    #[arg(long, default_value = "out", value_parser = ["out", "in"])]
    direction: String,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Input format; detected from each file name when omitted (.properties → ldbc,
    /// .parquet → parquet, .csv → csv, anything else → edgelist).
    #[arg(long, value_parser = ["edgelist", "csv", "ldbc", "parquet"])]
    format: Option<String>,
    /// Store every edge in both directions (the store must be undirected).
    #[arg(long)]
    undirected: bool,
    /// Edge-list inputs carry a weight in their third field.
    #[arg(long)]
    weighted: bool,
    /// Remove the listed edges (or vertices, for vertex files) instead of adding them.
    #[arg(long)]
    delete: bool,
    /// Shards of a new store.
    #[arg(long, default_value_t = morpheus_storage::DEFAULT_SHARDS, value_parser = clap::value_parser!(u32).range(1..=4096))]
    shards: u32,
    /// Segment size of a new store (e.g. 8MiB).
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    segment_size: u64,
    /// Memory for parsed edges (e.g. 512MiB): past it they are sorted and spilled as runs
    /// under the store directory, then merged into the store.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    memory_budget: u64,
    /// Print the import report as JSON.
    #[arg(long)]
    json: bool,
    /// Input files (.gz edge lists and CSV files are decompressed on the fly); `-` reads
    /// an edge list (or, with --format csv, CSV) from standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Generator: graphs (rmat, uniform) or words (text).
    #[arg(value_parser = ["rmat", "uniform", "text"])]
    kind: String,
    /// log2 of the number of vertices (graphs).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=40), required_unless_present = "size")]
    scale: Option<u32>,
    /// Size of the text to write, e.g. 50MB (text).
    #[arg(long, value_parser = parse_size, conflicts_with = "scale")]
    size: Option<u64>,
    /// Edges per vertex.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    edge_factor: u32,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Add a weight in (0, 1] to every edge.
    #[arg(long)]
    weighted: bool,
    /// Output file; `-` writes the edge list to standard output (graphs).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Print vertex, edge, segment and byte counts.
    Stats(StoreArgs),
    /// Check every record and structure; exit 1 with a list of problems if any.
    Verify(StoreArgs),
    /// Rewrite segments with many superseded records.
    Compact(CompactArgs),
    /// Write index checkpoints, so that opens read each shard's index instead of scanning
    /// its records (commits write them on their own once enough has been appended).
    Checkpoint(StoreArgs),
    /// List cells changed after a log sequence number.
    Changes(ChangesArgs),
}

#[derive(Args, Debug)]
struct StoreArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct CompactArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Rewrite sealed segments whose dead share is at least this (0..=1).
    #[arg(long, default_value_t = 0.5)]
    dead_ratio: f64,
}

#[derive(Args, Debug)]
struct ChangesArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// List changes with an LSN greater than this.
    #[arg(long, default_value_t = 0)]
    since: u64,
}

/// An indicatif bar on a terminal; nothing in pipes, in CI or with --quiet.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new(quiet: bool) -> Self {
        let visible = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self {
            bar: if visible {
                ProgressBar::new(0)
            } else {
                ProgressBar::hidden()
            },
        }
    }
}

impl morpheus_storage::import::Progress for Bar {
    fn phase(&self, name: &str, total: Option<u64>) {
        match total {
            Some(t) => {
                self.bar.set_style(
                    ProgressStyle::with_template(
                        "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                self.bar.set_length(t);
                self.bar.set_position(0);
            }
            None => {
                self.bar.set_style(
                    ProgressStyle::with_template("{msg:>10} {spinner} {elapsed}")
                        .expect("valid template"),
                );
                self.bar.enable_steady_tick(Duration::from_millis(120));
            }
        }
        self.bar.set_message(name.to_owned());
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return errors::report_clap(&e),
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => errors::report(&e),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Demo(a) => demo::demo(&a, quiet),
        Command::Import(a) => import_cmd(a, quiet),
        Command::Generate(a) => generate_cmd(a, quiet),
        Command::Store(StoreCommand::Stats(a)) => stats_cmd(&a),
        Command::Store(StoreCommand::Verify(a)) => verify_cmd(&a),
        Command::Store(StoreCommand::Compact(a)) => compact_cmd(&a),
        Command::Store(StoreCommand::Checkpoint(a)) => checkpoint_cmd(&a),
        Command::Store(StoreCommand::Changes(a)) => changes_cmd(&a),
        Command::Wordcount(a) => wordcount_cmd(&a),
        Command::Degrees(a) => degrees_cmd(&a),
        Command::Algo(a) => graph_cmd::algo_cmd(&a),
        Command::Graphalytics(graph_cmd::GraphalyticsCommand::Run(a)) => {
            graph_cmd::graphalytics_run(&a, quiet)
        }
        Command::Graphalytics(graph_cmd::GraphalyticsCommand::Validate(a)) => {
            graph_cmd::graphalytics_validate(&a)
        }
        Command::Run(a) => job_cmd::run_cmd(&a, quiet),
        Command::Validate(a) => job_cmd::validate_cmd(&a),
        Command::Serve(a) => server_cmd::serve_cmd(&a),
        Command::Submit(a) => server_cmd::submit_cmd(&a),
        Command::Jobs(c) => server_cmd::jobs_cmd(&c),
    }
}

fn import_cmd(a: ImportArgs, quiet: bool) -> Result<ExitCode> {
    let mut options = ImportOptions::default();
    options.format = a
        .format
        .as_deref()
        .map(|f| f.parse::<Format>())
        .transpose()
        .map_err(anyhow::Error::msg)?;
    options.weighted = a.weighted;
    options.undirected = a.undirected;
    options.delete = a.delete;
    options.create.shards = a.shards;
    options.create.segment_bytes = a.segment_size;
    options.memory_budget = a.memory_budget;
    for p in &a.inputs {
        if !morpheus_storage::import::is_stdin(p) && !p.is_file() {
            bail!("input {} does not exist or is not a file", p.display());
        }
    }
    let started = Instant::now();
    let report = {
        let bar = Bar::new(quiet);
        import(&a.store, &a.inputs, &options, &bar)
            .with_context(|| format!("import into {} failed", a.store.display()))?
    };
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else if !quiet {
        let secs = started.elapsed().as_secs_f64();
        outln!(
            "{} {} edges and {} vertices from {} file(s) in {:.2}s ({:.1}M edges/s); txn {}, {} records, last LSN {}",
            if a.delete { "deleted" } else { "imported" },
            report.edges,
            report.vertices,
            report.files,
            secs,
            report.edges as f64 / secs.max(1e-9) / 1e6,
            report.commit.txn,
            report.commit.records,
            report.commit.last_lsn,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn generate_cmd(a: GenerateArgs, quiet: bool) -> Result<ExitCode> {
    let to_stdout = a.out.as_os_str() == "-";
    if a.kind == "text" {
        if to_stdout {
            return Err(usage!(
                "generate text writes a file; `--out -` is for graphs"
            ));
        }
        let Some(size) = a.size else {
            return Err(usage!("generate text needs --size (e.g. --size 50MB)"));
        };
        let n = morpheus::text::write_text(&a.out, size, a.seed)
            .with_context(|| format!("cannot write {}", a.out.display()))?;
        if !quiet {
            outln!("wrote {n} bytes of text to {}", a.out.display())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(scale) = a.scale else {
        return Err(usage!("generate {} needs --scale", a.kind));
    };
    let options = GenerateOptions {
        kind: a.kind.parse().map_err(anyhow::Error::msg)?,
        scale,
        edge_factor: a.edge_factor,
        seed: a.seed,
        weighted: a.weighted,
    };
    if to_stdout {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
        match morpheus_storage::generate::write_edges_to(&options, &mut w) {
            Ok(_) => {}
            // The reader stopped early (`| head`): not an error of ours.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(anyhow::Error::new(e).context("cannot write standard output")),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let spinner = Bar::new(quiet);
    spinner.phase("generating", None);
    let n = morpheus_storage::generate::write_edge_list(&options, &a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    drop(spinner);
    if !quiet {
        outln!(
            "wrote {n} edges over {} vertex ids to {}",
            options.vertices(),
            a.out.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn open_ro(dir: &Path) -> Result<Store> {
    Store::open_read_only(dir).with_context(|| format!("cannot open store {}", dir.display()))
}

fn print_stats(store: &Path, s: &StoreStats) -> std::io::Result<()> {
    outln!("store          {}", store.display())?;
    outln!("vertices       {}", s.vertices)?;
    outln!(
        "edges          {} ({}{}, {} stored entries, {} self-loops)",
        s.edges,
        if s.directed { "directed" } else { "undirected" },
        if s.weighted { ", weighted" } else { "" },
        s.edge_entries,
        s.self_loops
    )?;
    outln!("shards         {}", s.shards)?;
    outln!("segments       {}", s.segments)?;
    outln!("live bytes     {}", s.live_bytes)?;
    outln!("dead bytes     {}", s.dead_bytes)?;
    outln!("total bytes    {}", s.total_bytes)?;
    outln!("last LSN       {} (txn {})", s.last_lsn, s.last_txn)?;
    if s.uncommitted_bytes > 0 {
        outln!(
            "uncommitted    {} bytes of an interrupted write (discarded on the next write)",
            s.uncommitted_bytes
        )?;
    }
    let props = |defs: &[morpheus_storage::PropertyDef]| {
        defs.iter()
            .map(|d| format!("{}:{}", d.name, d.ty))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !s.schema.vertex.is_empty() {
        outln!("vertex props   {}", props(&s.schema.vertex))?;
    }
    if !s.schema.edge.is_empty() {
        outln!("edge props     {}", props(&s.schema.edge))?;
    }
    Ok(())
}

fn stats_cmd(a: &StoreArgs) -> Result<ExitCode> {
    let stats = open_ro(&a.store)?.stats();
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&stats)?)?;
    } else {
        print_stats(&a.store, &stats)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_cmd(a: &StoreArgs) -> Result<ExitCode> {
    let report =
        verify(&a.store).with_context(|| format!("cannot verify {}", a.store.display()))?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for p in &report.problems {
            outln!("problem: {p}")?;
        }
        for w in &report.warnings {
            outln!("warning: {w}")?;
        }
        outln!(
            "{}: {} segments, {} records checked, {} problem(s){}",
            a.store.display(),
            report.segments,
            report.records,
            report.problems.len(),
            if report.uncommitted_bytes > 0 {
                format!(
                    "; {} bytes of an interrupted write will be discarded",
                    report.uncommitted_bytes
                )
            } else {
                String::new()
            }
        )?;
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn compact_cmd(a: &CompactArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.dead_ratio) {
        return Err(usage!(
            "--dead-ratio must be within [0, 1], not {}",
            a.dead_ratio
        ));
    }
    let mut store = Store::open(&a.store.store)
        .with_context(|| format!("cannot open store {}", a.store.store.display()))?;
    let mut options = CompactOptions::default();
    options.dead_ratio = a.dead_ratio;
    let report = store.compact(&options).context("compaction failed")?;
    if a.store.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        outln!(
            "compacted {} of {} sealed segments: {} → {} record bytes",
            report.segments_compacted,
            report.segments_examined,
            report.bytes_before,
            report.bytes_after
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn checkpoint_cmd(a: &StoreArgs) -> Result<ExitCode> {
    let mut store = Store::open(&a.store)
        .with_context(|| format!("cannot open store {}", a.store.display()))?;
    store.checkpoint().context("checkpoint failed")?;
    if a.json {
        outln!("{}", serde_json::json!({ "shards": store.shard_count() }))?;
    } else {
        outln!("wrote index checkpoints for {} shards", store.shard_count())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn changes_cmd(a: &ChangesArgs) -> Result<ExitCode> {
    let store = open_ro(&a.store.store)?;
    let changes = store.changes_since(a.since);
    if a.store.json {
        outln!("{}", serde_json::to_string_pretty(&changes)?)?;
    } else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for c in &changes {
            let what = match c.kind {
                morpheus_storage::record::CellKind::Vertex => format!("vertex {}", c.vertex),
                morpheus_storage::record::CellKind::EdgeBlock => {
                    format!("edges of {} (block {})", c.vertex, c.block)
                }
            };
            writeln!(
                out,
                "{}\t{}\t{}",
                c.lsn,
                if c.deleted { "delete" } else { "put" },
                what
            )?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn wordcount_cmd(a: &WordcountArgs) -> Result<ExitCode> {
    let file = a.file.clone();
    if !file.is_file() {
        bail!("{} does not exist or is not a file", file.display());
    }
    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
    let work = [
        ("command", "wordcount".to_owned()),
        ("input bytes", bytes.to_string()),
    ];
    let (results, metrics) = morpheus_engine::execute(a.job.config(&work)?, move |ctx| {
        morpheus::jobs::word_count(ctx, &file)
    })
    .with_context(|| format!("word count of {} failed", a.file.display()))?;
    a.job.write_metrics(&metrics)?;
    if a.job.prints() {
        let counts = results.into_iter().next().unwrap_or_default();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (word, n) in counts.iter().take(a.top.unwrap_or(usize::MAX)) {
            writeln!(out, "{word}\t{n}")?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn degrees_cmd(a: &DegreesArgs) -> Result<ExitCode> {
    let (store, inbound) = (a.store.clone(), a.direction == "in");
    let mut work = vec![
        ("command", "degrees".to_owned()),
        ("direction", a.direction.clone()),
    ];
    work.extend(store_fingerprint(&open_ro(&a.store)?));
    let (results, metrics) = morpheus_engine::execute(a.job.config(&work)?, move |ctx| {
        morpheus::jobs::degree_distribution(ctx, &store, inbound)
    })
    .with_context(|| format!("degree distribution of {} failed", a.store.display()))?;
    a.job.write_metrics(&metrics)?;
    if a.job.prints() {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (degree, vertices) in results.into_iter().next().unwrap_or_default() {
            writeln!(out, "{degree}\t{vertices}")?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
