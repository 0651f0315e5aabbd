//! `morpheus run` and `morpheus validate`: job specs from the command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use morpheus::size::parse_size;
use morpheus_jobs::{LoadOptions, RunOptions, RunReport, Spec};

/// `key=value`.
pub(crate) fn parse_set(s: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not key=value"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("`{s}` has an empty key"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Job spec (TOML).
    spec: PathBuf,
    /// Override a variable of the spec's [vars] (or name, workers, memory_budget, timeout,
    /// retries): `--set out=/tmp/out`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    /// Worker threads (default: the spec's `workers`).
    #[arg(long, short = 'w', value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: Option<u32>,
    /// Run more than 4 workers per available core anyway (as `force_workers = true`).
    #[arg(long)]
    force_workers: bool,
    /// Memory budget (default: the spec's `memory_budget`).
    #[arg(long, value_parser = parse_size)]
    memory_budget: Option<u64>,
    /// Directory for spill files.
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// Write the run's metrics (totals, per stage, outputs) as JSON to this file.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Keep incremental state here (specs with `incremental = true`): the next run reads
    /// the store's changes since this one and updates the results instead of recomputing
    /// them (a state that does not match the store is rebuilt, and the run says so).
    #[arg(long, value_name = "DIR")]
    incremental_state: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Stop when this process is no longer our parent (set by the job server, so runs do
    /// not outlive it).
    #[arg(long, hide = true)]
    parent_pid: Option<u32>,
    /// Confine inputs and outputs to this directory, as the job server does (set by it, so
    /// the run checks again what the server checked at submission).
    #[arg(long, hide = true, value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// The job server's state directory, which outputs never touch (set by it).
    #[arg(long, hide = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct ValidateArgs {
    /// Job spec (TOML).
    spec: PathBuf,
    /// Variable overrides, as for `morpheus run`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
}

pub(crate) fn load(spec: &std::path::Path, set: &[(String, String)]) -> Result<Spec> {
    load_with(
        spec,
        LoadOptions {
            set: set.to_vec(),
            ..LoadOptions::default()
        },
    )
}

fn load_with(spec: &std::path::Path, options: LoadOptions) -> Result<Spec> {
    Spec::load(spec, &options).map_err(|e| anyhow!("{e}"))
}

pub(crate) fn validate_cmd(a: &ValidateArgs) -> Result<ExitCode> {
    let spec = load(&a.spec, &a.set)?;
    outln!(
        "{}: job `{}` is valid: {} input(s), {} step(s), {} output(s){}",
        a.spec.display(),
        spec.name,
        spec.inputs.len(),
        spec.steps.len(),
        spec.outputs.len(),
        spec.schedule
            .as_ref()
            .map(|s| format!(", schedule `{}`", s.cron))
            .unwrap_or_default()
    )?;
    for step in &spec.steps {
        if let Some(schema) = &step.schema {
            let cols: Vec<String> = schema
                .fields
                .iter()
                .map(|f| format!("{} {}", f.name, f.data_type))
                .collect();
            outln!("  {}: {}", step.name, cols.join(", "))?;
        } else {
            outln!("  {}: graph", step.name)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs once, bounded by the spec's timeout.
fn attempt(spec: &Spec, options: &RunOptions) -> Result<RunReport> {
    let Some(limit) = spec.timeout else {
        return morpheus_jobs::run(spec, options).map_err(anyhow::Error::from);
    };
    let (tx, rx) = mpsc::channel();
    let (s, o) = (spec.clone(), options.clone());
    std::thread::spawn(move || {
        let _ = tx.send(morpheus_jobs::run(&s, &o));
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r.map_err(anyhow::Error::from),
        Err(_) => Err(anyhow!(
            "job `{}` timed out after {:?} (timeout in the spec)",
            spec.name,
            limit
        )),
    }
}

/// Exits the process when `parent` stops being its parent (the server died).
fn watch_parent(parent: u32) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(200));
        if std::os::unix::process::parent_id() != parent {
            eprintln!("error: the job server (pid {parent}) exited; stopping this run");
            std::process::exit(1);
        }
    });
}

pub(crate) fn run_cmd(a: &RunArgs, quiet: bool) -> Result<ExitCode> {
    if let Some(p) = a.parent_pid {
        watch_parent(p);
    }
    let mut spec = load_with(
        &a.spec,
        LoadOptions {
            set: a.set.clone(),
            data_root: a.data_root.clone(),
            state_dir: a.state_dir.clone(),
            ..LoadOptions::default()
        },
    )?;
    spec.force_workers |= a.force_workers;
    let options = RunOptions {
        workers: a.workers.map(|w| w as usize),
        memory_budget: a.memory_budget,
        spill_dir: a.spill_dir.clone(),
        incremental_state: a.incremental_state.clone(),
    };
    morpheus_jobs::runner::config(&spec, &options)?;
    let mut tries = 0;
    let report = loop {
        match attempt(&spec, &options) {
            Ok(r) => break r,
            Err(e) if tries < spec.retries => {
                let wait = backoff(spec.retry_backoff, tries);
                tries += 1;
                tracing::warn!(
                    "attempt {tries} of job `{}` failed: {e:#}; retrying in {wait:?}",
                    spec.name
                );
                eprintln!(
                    "attempt {tries} of {} failed: {e:#}; retrying in {:.1}s",
                    spec.retries + 1,
                    wait.as_secs_f64()
                );
                std::thread::sleep(wait);
            }
            Err(e) => return Err(e.context(format!("job `{}` failed", spec.name))),
        }
    };
    if let Some(path) = &a.metrics {
        write_json(path, &metrics_json(&spec, &report, tries))?;
    }
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&metrics_json(&spec, &report, tries))?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    print_report(&spec, &report, quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// The metrics file: engine totals and stages, plus the job's outputs and timings.
pub(crate) fn metrics_json(spec: &Spec, report: &RunReport, retries: u32) -> serde_json::Value {
    let mut json = serde_json::to_value(&report.metrics).unwrap_or_default();
    if let Some(obj) = json.as_object_mut() {
        obj.insert("job".into(), spec.name.clone().into());
        obj.insert("load_seconds".into(), report.load_seconds.into());
        obj.insert("compute_seconds".into(), report.compute_seconds.into());
        obj.insert("retries".into(), retries.into());
        obj.insert(
            "outputs".into(),
            serde_json::to_value(&report.outputs).unwrap_or_default(),
        );
        obj.insert(
            "summaries".into(),
            serde_json::to_value(&report.summaries).unwrap_or_default(),
        );
        if let Some(n) = report.input_changes() {
            obj.insert("input_changes".into(), n.into());
            let per: serde_json::Map<String, serde_json::Value> = report
                .incremental
                .iter()
                .map(|(g, r)| (g.clone(), serde_json::to_value(r).unwrap_or_default()))
                .collect();
            obj.insert("incremental".into(), per.into());
        }
    }
    json
}

/// Writes `value` to `path` under a temporary name, then renames it.
pub(crate) fn write_json(path: &std::path::Path, value: &serde_json::Value) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn print_report(spec: &Spec, report: &RunReport, quiet: bool) -> std::io::Result<()> {
    for (g, r) in &report.incremental {
        match (&r.reason, r.from_lsn) {
            (None, Some(from)) => eprintln!(
                "incremental update of `{g}`: {} input changes ({} entries from the {}) since LSN {from}, \
                 now at LSN {}, in {:.3}s",
                r.input_changes,
                r.changed_cells,
                r.read_from.as_deref().unwrap_or("store"),
                r.to_lsn,
                r.update_seconds
            ),
            (reason, _) => eprintln!(
                "full computation of `{g}` ({}): {} vertices, {} arcs, in {:.3}s",
                reason.as_deref().unwrap_or("no state"),
                r.vertices,
                r.arcs,
                r.update_seconds
            ),
        }
    }
    for s in &report.summaries {
        outln!("{s}")?;
    }
    for o in &report.outputs {
        outln!(
            "wrote {} rows of `{}` to {}",
            o.rows,
            o.step,
            o.path.display()
        )?;
        if quiet || o.preview.is_empty() {
            continue;
        }
        print_table(&o.columns, &o.preview, 10)?;
    }
    if !quiet {
        eprintln!(
            "job `{}` finished in {:.2}s (load {:.2}s, algorithms {:.2}s, spilled {} bytes)",
            spec.name,
            report.metrics.seconds,
            report.load_seconds,
            report.compute_seconds,
            report.metrics.spilled_bytes
        );
    }
    Ok(())
}

/// Prints up to `limit` rows under their column names, aligned.
pub(crate) fn print_table(
    columns: &[String],
    rows: &[Vec<String>],
    limit: usize,
) -> std::io::Result<()> {
    let rows = &rows[..rows.len().min(limit)];
    let mut width: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (w, v) in width.iter_mut().zip(r) {
            *w = (*w).max(v.chars().count().min(40));
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| {
                let c: String = c.chars().take(40).collect();
                format!("{c:<w$}")
            })
            .collect();
        outln!("  {}", parts.join("  ").trim_end())
    };
    line(columns)?;
    for r in rows {
        line(r)?;
    }
    Ok(())
}

/// A retry's wait: `backoff` doubled per earlier attempt.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(16))
}
