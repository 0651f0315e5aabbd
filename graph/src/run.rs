//! Running a named algorithm on a store and writing its per-vertex output: what
//! `morpheus algo`, `morpheus graphalytics run` and job specs share.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use morpheus_engine::{Context, Error, Result};
use morpheus_storage::Store;

use crate::algo::{self, PageRankOptions};
use crate::Graph;

/// The algorithms reachable by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Breadth-first search depths (`bfs`).
    Bfs,
    /// Single-source shortest paths (`sssp`).
    Sssp,
    /// PageRank (`pagerank`, `pr`).
    PageRank,
    /// Weakly connected components (`wcc`).
    Wcc,
    /// Community detection by label propagation (`cdlp`).
    Cdlp,
    /// Local clustering coefficient (`lcc`).
    Lcc,
    /// Triangle count per vertex, and the total (`triangles`).
    Triangles,
    /// Strongly connected components (`scc`).
    Scc,
    /// Core numbers (`kcore`, `k-core`).
    KCore,
    /// In- or out-degree (`degree`).
    Degree,
    /// Whether a path exists between two vertices, within a depth (`path`, `dfs`).
    Path,
}

impl Algorithm {
    /// Every algorithm, in documentation order.
    pub const ALL: [Algorithm; 11] = [
        Algorithm::Bfs,
        Algorithm::Sssp,
        Algorithm::PageRank,
        Algorithm::Wcc,
        Algorithm::Cdlp,
        Algorithm::Lcc,
        Algorithm::Triangles,
        Algorithm::Scc,
        Algorithm::KCore,
        Algorithm::Degree,
        Algorithm::Path,
    ];

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Bfs => "bfs",
            Algorithm::Sssp => "sssp",
            Algorithm::PageRank => "pagerank",
            Algorithm::Wcc => "wcc",
            Algorithm::Cdlp => "cdlp",
            Algorithm::Lcc => "lcc",
            Algorithm::Triangles => "triangles",
            Algorithm::Scc => "scc",
            Algorithm::KCore => "kcore",
            Algorithm::Degree => "degree",
            Algorithm::Path => "path",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "bfs" => Algorithm::Bfs,
            "sssp" => Algorithm::Sssp,
            "pagerank" | "pr" => Algorithm::PageRank,
            "wcc" => Algorithm::Wcc,
            "cdlp" => Algorithm::Cdlp,
            "lcc" => Algorithm::Lcc,
            "triangles" | "triangle-count" | "tc" => Algorithm::Triangles,
            "scc" => Algorithm::Scc,
            "kcore" | "k-core" => Algorithm::KCore,
            "degree" => Algorithm::Degree,
            "path" | "dfs" | "path-exists" => Algorithm::Path,
            other => {
                let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                return Err(format!(
                    "unknown algorithm `{other}` (expected one of: {})",
                    names.join(", ")
                ));
            }
        })
    }
}

/// Parameters of a run; each algorithm reads the ones it needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    /// Source vertex (BFS, SSSP, path).
    pub source: Option<u64>,
    /// Target vertex (path).
    pub target: Option<u64>,
    /// Iterations (PageRank: default 20; CDLP: default 10).
    pub iterations: Option<usize>,
    /// PageRank damping factor (default 0.85).
    pub damping: Option<f64>,
    /// PageRank early-stop tolerance.
    pub tolerance: Option<f64>,
    /// Personalized PageRank sources.
    pub personalized: Vec<u64>,
    /// GraphX-compatible PageRank.
    pub graphx: bool,
    /// Path: the maximum depth.
    pub max_depth: Option<u64>,
    /// Degree: in-degree instead of out-degree.
    pub in_degree: bool,
}

/// A column of per-vertex values.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Signed integers (BFS depths).
    Int(Vec<i64>),
    /// Unsigned integers (labels, counts, degrees).
    UInt(Vec<u64>),
    /// Floats (ranks, distances, coefficients).
    Float(Vec<f64>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::UInt(v) => v.len(),
            Values::Float(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as Graphalytics text (`infinity` for an infinite float).
    pub fn text(&self, i: usize) -> String {
        match self {
            Values::Int(v) => v[i].to_string(),
            Values::UInt(v) => v[i].to_string(),
            Values::Float(v) => format_float(v[i]),
        }
    }
}

/// A float the way Graphalytics writes it: shortest round-trip digits, `infinity`.
pub fn format_float(x: f64) -> String {
    if x == f64::INFINITY {
        "infinity".into()
    } else if x == f64::NEG_INFINITY {
        "-infinity".into()
    } else {
        format!("{x}")
    }
}

/// What a run produced: per-vertex values on worker 0 (empty elsewhere), a one-line
/// summary for algorithms with a scalar answer, and timings.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Vertex ids, ascending (worker 0 only).
    pub ids: Vec<u64>,
    /// Values aligned with `ids`.
    pub values: Values,
    /// A scalar answer, e.g. `triangles 1234` or `path length 3`.
    pub summary: Option<String>,
    /// Seconds to load the graph into partitions.
    pub load_seconds: f64,
    /// Seconds the algorithm took, excluding the load.
    pub compute_seconds: f64,
}

fn need(what: &str, v: Option<u64>, algorithm: Algorithm) -> Result<u64> {
    v.ok_or_else(|| Error::Job(format!("{algorithm} needs a {what} vertex (--{what})")))
}

/// What [`compute`] produced on this worker: values of its local vertices (aligned with
/// [`Graph::local_ids`]) and, for algorithms with a scalar answer, a summary line (the same
/// on every worker).
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    /// Values of this worker's vertices.
    pub values: Values,
    /// A scalar answer, e.g. `triangles 1234` or `path 1 -> 2: exists, length 3`.
    pub summary: Option<String>,
}

/// Whether `algorithm` reads edge weights (and so needs a graph loaded with them).
pub fn needs_weights(algorithm: Algorithm) -> bool {
    algorithm == Algorithm::Sssp
}

/// Runs `algorithm` on a loaded graph (collective). SSSP needs a graph with `f64` edge
/// values ([`Graph::load`]); the others run on any graph.
///
/// # Errors
/// A missing source or target vertex; SSSP on an unweighted graph; the algorithm's errors.
pub fn compute<V: morpheus_rdd::Item, E: morpheus_rdd::Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    algorithm: Algorithm,
    params: &Params,
) -> Result<Computed> {
    let mut summary = None;
    let values = match algorithm {
        Algorithm::Sssp => {
            let source = need("source", params.source, algorithm)?;
            let weighted = (g as &dyn std::any::Any)
                .downcast_ref::<Graph<V, f64>>()
                .ok_or_else(|| Error::Job("sssp needs a graph loaded with edge weights".into()))?;
            Values::Float(algo::sssp(ctx, weighted, source)?)
        }
        Algorithm::Bfs => Values::Int(algo::bfs(
            ctx,
            g,
            need("source", params.source, algorithm)?,
        )?),
        Algorithm::PageRank => {
            let opts = PageRankOptions {
                damping: params.damping.unwrap_or(0.85),
                iterations: params.iterations.unwrap_or(20),
                tolerance: params.tolerance,
                personalized: (!params.personalized.is_empty())
                    .then(|| params.personalized.clone()),
                graphx: params.graphx,
            };
            Values::Float(algo::pagerank(ctx, g, &opts)?)
        }
        Algorithm::Wcc => Values::UInt(algo::wcc(ctx, g)?),
        Algorithm::Scc => Values::UInt(algo::scc(ctx, g)?),
        Algorithm::Cdlp => Values::UInt(algo::cdlp(ctx, g, params.iterations.unwrap_or(10))?),
        Algorithm::KCore => Values::UInt(algo::kcore(ctx, g)?),
        Algorithm::Lcc => Values::Float(algo::lcc(ctx, g)?),
        Algorithm::Triangles => {
            let t = algo::triangle_count(ctx, g)?;
            summary = Some(format!("triangles {}", t.total));
            Values::UInt(t.per_vertex)
        }
        Algorithm::Degree => {
            let (inn, out) = algo::degrees(ctx, g)?;
            Values::UInt(if params.in_degree { inn } else { out })
        }
        Algorithm::Path => {
            let src = need("source", params.source, algorithm)?;
            let dst = need("target", params.target, algorithm)?;
            let found = algo::path_exists(ctx, g, src, dst, params.max_depth)?;
            summary = Some(match found {
                Some(len) => format!("path {src} -> {dst}: exists, length {len}"),
                None => match params.max_depth {
                    Some(m) => format!("path {src} -> {dst}: none within depth {m}"),
                    None => format!("path {src} -> {dst}: none"),
                },
            });
            Values::Int(vec![-1; g.local_ids().len()])
        }
    };
    Ok(Computed { values, summary })
}

fn gather<V: morpheus_rdd::Item, E: morpheus_rdd::Item>(
    ctx: &Context<'_>,
    g: &Graph<V, E>,
    values: Values,
) -> Result<(Vec<u64>, Values)> {
    fn one<V: morpheus_rdd::Item, E: morpheus_rdd::Item, T: morpheus_engine::Data>(
        ctx: &Context<'_>,
        g: &Graph<V, E>,
        values: &[T],
    ) -> Result<(Vec<u64>, Vec<T>)> {
        Ok(g.gather_values(ctx, values)?.into_iter().unzip())
    }
    Ok(match values {
        Values::Int(v) => {
            let (ids, v) = one(ctx, g, &v)?;
            (ids, Values::Int(v))
        }
        Values::UInt(v) => {
            let (ids, v) = one(ctx, g, &v)?;
            (ids, Values::UInt(v))
        }
        Values::Float(v) => {
            let (ids, v) = one(ctx, g, &v)?;
            (ids, Values::Float(v))
        }
    })
}

/// Loads `store` and runs `algorithm` (collective); values are gathered to worker 0.
pub fn run(
    ctx: &Context<'_>,
    store: &Store,
    algorithm: Algorithm,
    params: &Params,
) -> Result<Outcome> {
    fn finish<V: morpheus_rdd::Item, E: morpheus_rdd::Item>(
        ctx: &Context<'_>,
        g: &Graph<V, E>,
        algorithm: Algorithm,
        params: &Params,
        load_seconds: f64,
    ) -> Result<Outcome> {
        let t = Instant::now();
        let c = compute(ctx, g, algorithm, params)?;
        let compute_seconds = t.elapsed().as_secs_f64();
        let (ids, values) = if algorithm == Algorithm::Path {
            (Vec::new(), Values::Int(Vec::new()))
        } else {
            gather(ctx, g, c.values)?
        };
        Ok(Outcome {
            ids,
            values,
            summary: c.summary,
            load_seconds,
            compute_seconds,
        })
    }
    let t = Instant::now();
    if needs_weights(algorithm) {
        let g = Graph::load(ctx, store)?;
        finish(ctx, &g, algorithm, params, t.elapsed().as_secs_f64())
    } else {
        let g = Graph::load_topology(ctx, store)?;
        finish(ctx, &g, algorithm, params, t.elapsed().as_secs_f64())
    }
}

/// Output file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `vertex,value` with a header line.
    Csv,
    /// Columns `vertex` (UInt64) and `value`, zstd-compressed.
    Parquet,
    /// Graphalytics text: `id value` lines.
    Graphalytics,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(OutputFormat::Csv),
            "parquet" => Ok(OutputFormat::Parquet),
            "graphalytics" | "text" | "txt" => Ok(OutputFormat::Graphalytics),
            other => Err(format!(
                "unknown output format `{other}` (expected csv, parquet or graphalytics)"
            )),
        }
    }
}

impl OutputFormat {
    /// The format a file name implies: `.csv`, `.parquet`, else Graphalytics text.
    pub fn from_path(path: &Path) -> OutputFormat {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("csv") => OutputFormat::Csv,
            Some("parquet") | Some("pq") => OutputFormat::Parquet,
            _ => OutputFormat::Graphalytics,
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// A temporary sibling of `path`, renamed over it on success.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `ids` and `values` to `path` in `format`: to a temporary name first, fsynced,
/// then renamed, so a failure never leaves a partial file where a finished one would be.
pub fn write_output(path: &Path, format: OutputFormat, ids: &[u64], values: &Values) -> Result<()> {
    if ids.len() != values.len() {
        return Err(Error::Job(format!(
            "{} ids but {} values",
            ids.len(),
            values.len()
        )));
    }
    let tmp = temp_path(path);
    let written = (|| -> Result<()> {
        let file = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        match format {
            OutputFormat::Csv | OutputFormat::Graphalytics => {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
                let sep = if format == OutputFormat::Csv {
                    writeln!(w, "vertex,value").map_err(io_err(&tmp))?;
                    ','
                } else {
                    ' '
                };
                for (i, id) in ids.iter().enumerate() {
                    writeln!(w, "{id}{sep}{}", values.text(i)).map_err(io_err(&tmp))?;
                }
                let file = w.into_inner().map_err(|e| Error::Io {
                    path: tmp.clone(),
                    source: e.into_error(),
                })?;
                file.sync_all().map_err(io_err(&tmp))?;
            }
            OutputFormat::Parquet => write_parquet(&tmp, file, ids, values)?,
        }
        Ok(())
    })();
    match written {
        Ok(()) => fs::rename(&tmp, path).map_err(io_err(path)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_parquet(path: &Path, file: fs::File, ids: &[u64], values: &Values) -> Result<()> {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    let err = |e: String| Error::Job(format!("writing {}: {e}", path.display()));
    let (ty, column): (DataType, ArrayRef) = match values {
        Values::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
        Values::UInt(v) => (DataType::UInt64, Arc::new(UInt64Array::from(v.clone()))),
        Values::Float(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("vertex", DataType::UInt64, false),
        Field::new("value", ty, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(UInt64Array::from(ids.to_vec())), column],
    )
    .map_err(|e| err(e.to_string()))?;
    let level = ZstdLevel::try_new(1).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| err(e.to_string()))?;
    w.write(&batch).map_err(|e| err(e.to_string()))?;
    let file = w.into_inner().map_err(|e| err(e.to_string()))?;
    file.sync_all().map_err(io_err(path))
}

/// The algorithm and parameters a Graphalytics `.properties` file gives for `algorithm`
/// (`bfs.source-vertex`, `pr.damping-factor`, `pr.num-iterations`, `cdlp.max-iterations`,
/// `sssp.source-vertex`).
///
/// # Errors
/// A parameter that does not parse, or a missing source vertex; the message names the
/// file and the key.
pub fn graphalytics_params(
    graph: &morpheus_storage::import::ldbc::LdbcGraph,
    file: &Path,
    algorithm: crate::graphalytics::Algorithm,
) -> Result<(Algorithm, Params)> {
    use crate::graphalytics::Algorithm as G;
    fn prop<T: FromStr>(
        graph: &morpheus_storage::import::ldbc::LdbcGraph,
        file: &Path,
        key: &str,
    ) -> Result<Option<T>>
    where
        T::Err: fmt::Display,
    {
        match graph.properties.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e| {
                Error::Job(format!(
                    "{}: graph.{}.{key} = `{v}`: {e}",
                    file.display(),
                    graph.name
                ))
            }),
        }
    }
    let mut params = Params::default();
    let run = match algorithm {
        G::Bfs => {
            params.source = prop(graph, file, "bfs.source-vertex")?;
            Algorithm::Bfs
        }
        G::Sssp => {
            params.source = prop(graph, file, "sssp.source-vertex")?;
            Algorithm::Sssp
        }
        G::Pr => {
            params.damping = prop(graph, file, "pr.damping-factor")?;
            params.iterations = prop(graph, file, "pr.num-iterations")?;
            Algorithm::PageRank
        }
        G::Cdlp => {
            params.iterations = prop(graph, file, "cdlp.max-iterations")?;
            Algorithm::Cdlp
        }
        G::Wcc => Algorithm::Wcc,
        G::Lcc => Algorithm::Lcc,
    };
    if matches!(run, Algorithm::Bfs | Algorithm::Sssp) && params.source.is_none() {
        return Err(Error::Job(format!(
            "{}: no `graph.{}.{}.source-vertex`",
            file.display(),
            graph.name,
            algorithm.name()
        )));
    }
    Ok((run, params))
}
