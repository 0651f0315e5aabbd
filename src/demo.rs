//! `morpheus demo`: the whole product in seconds. Generates an RMAT graph and a dataset of
//! vertex attributes, imports the graph into a store, and runs a job spec (PageRank and
//! WCC joined with the attributes, filtered, aggregated, top-k) writing Parquet.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use morpheus::prelude::*;
use morpheus_jobs::{LoadOptions, RunOptions, Spec};
use morpheus_storage::generate::splitmix;

use crate::job_cmd::print_table;
use crate::Bar;

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Directory for the demo's files (kept; rerunning replaces the store and outputs).
    #[arg(long, default_value = "morpheus-demo")]
    dir: PathBuf,
    /// RMAT scale of the demo graph (2^scale vertices, 16 edges each).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(4..=24))]
    scale: u32,
    /// Worker threads (default: 2, or 1 on a single core).
    #[arg(long, short = 'w')]
    workers: Option<usize>,
}

/// The demo's pipeline; also a worked example of the job spec format.
pub(crate) const DEMO_JOB: &str = r#"
name = "demo"
memory_budget = "512MiB"

[vars]
store = "store"
people = "names.csv"
out = "out"

[inputs.graph]
store = "${store}"

[inputs.people]
csv = "${people}"
key = "id"

[[steps]]
name = "ranks"
algorithm = "pagerank"
iterations = 20

[[steps]]
name = "components"
algorithm = "wcc"

[[steps]]
name = "ranked"
join = "ranks"
with = "components"

[[steps]]
name = "people_ranked"
join = "ranked"
with = "people"

[[steps]]
name = "adults"
input = "people_ranked"
filter = '(and (>= age 18) (is-not-null name))'

[[steps]]
name = "top_people"
input = "adults"
top = 10
by = "rank"

[[steps]]
name = "sizes"
input = "ranked"
group_by = ["component"]
aggregate = [{ fn = "count", as = "vertices" }, { fn = "sum", column = "rank", as = "rank_mass" }]

[[steps]]
name = "largest_components"
input = "sizes"
top = 5
by = "vertices"

[[steps]]
name = "countries"
input = "people_ranked"
group_by = ["country"]
aggregate = [{ fn = "count", as = "people" }, { fn = "mean", column = "rank", as = "mean_rank" }, { fn = "max", column = "rank", as = "max_rank" }]

[[steps]]
name = "by_country"
input = "countries"
top = 10
by = "mean_rank"

[[outputs]]
step = "top_people"
path = "${out}/top-people.parquet"

[[outputs]]
step = "largest_components"
path = "${out}/largest-components.parquet"

[[outputs]]
step = "by_country"
path = "${out}/by-country.parquet"
"#;

const COUNTRIES: &[&str] = &["NZ", "AU", "US", "DE", "JP", "BR", "IN", "KE"];
const SYLLABLES: &[&str] = &["ka", "mi", "to", "ra", "ne", "lu", "so", "vi", "da", "po"];

/// `id,name,country,age` for vertex ids `0..n`, deterministic.
fn write_people(path: &Path, n: u64) -> Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    writeln!(w, "id,name,country,age")?;
    for id in 0..n {
        let z = splitmix(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(id + 1));
        let name: String = (0..3)
            .map(|k| SYLLABLES[((z >> (k * 4)) % SYLLABLES.len() as u64) as usize])
            .collect();
        let country = COUNTRIES[((z >> 16) % COUNTRIES.len() as u64) as usize];
        let age = 12 + (z >> 24) % 70;
        writeln!(w, "{id},{name},{country},{age}")?;
    }
    w.flush()?;
    Ok(())
}

pub(crate) fn demo(a: &DemoArgs, quiet: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let dir = &a.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let graph = dir.join(format!("rmat-{}.txt", a.scale));
    let store_dir = dir.join("store");
    if store_dir.exists() {
        std::fs::remove_dir_all(&store_dir)
            .with_context(|| format!("cannot remove old {}", store_dir.display()))?;
    }
    let gen = GenerateOptions {
        weighted: true,
        ..GenerateOptions::rmat(a.scale)
    };
    let n = morpheus_storage::generate::write_edge_list(&gen, &graph)?;
    let mut options = ImportOptions::default();
    options.weighted = true;
    let t = Instant::now();
    let report = import(
        &store_dir,
        std::slice::from_ref(&graph),
        &options,
        &Bar::new(quiet),
    )?;
    outln!(
        "graph     RMAT scale {}: {} edges generated, {} imported into {} in {:.2}s",
        a.scale,
        n,
        report.edges,
        store_dir.display(),
        t.elapsed().as_secs_f64()
    )?;
    let people = dir.join("names.csv");
    write_people(&people, 1 << a.scale)?;
    outln!(
        "dataset   {} vertex attributes (id,name,country,age) in {}",
        1u64 << a.scale,
        people.display()
    )?;
    let spec = Spec::parse(
        DEMO_JOB,
        "<demo job>",
        &LoadOptions {
            base_dir: Some(dir.clone()),
            ..LoadOptions::default()
        },
    )
    .map_err(|e| anyhow!("{e}"))?;
    let workers = a.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get().min(2))
            .unwrap_or(1)
    });
    let run = morpheus_jobs::run(
        &spec,
        &RunOptions {
            workers: Some(workers),
            ..RunOptions::default()
        },
    )
    .context("the demo job failed")?;
    outln!(
        "job       PageRank + WCC, joined with the attributes, filtered, aggregated: {:.2}s on {} worker(s) (load {:.2}s, algorithms {:.2}s)",
        run.metrics.seconds, workers, run.load_seconds, run.compute_seconds
    )?;
    for o in &run.outputs {
        outln!()?;
        outln!("{} ({} rows) -> {}", o.step, o.rows, o.path.display())?;
        print_table(&o.columns, &o.preview, 10)?;
    }
    outln!()?;
    outln!(
        "done in {:.1}s. The job's spec is examples/jobs/pagerank-join.toml's big sibling; try:\n  morpheus run examples/jobs/pagerank-join.toml --set store={} --set names={} --set out={}",
        started.elapsed().as_secs_f64(),
        store_dir.display(),
        people.display(),
        dir.join("out").display()
    )?;
    Ok(ExitCode::SUCCESS)
}
