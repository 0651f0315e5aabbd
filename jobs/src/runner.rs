//! Runs a validated [`Spec`] on timely workers: steps become graph loads, algorithm runs
//! and RDD operations over rows or Arrow record batches (scans, algorithm outputs and
//! broadcast joins stay columnar); outputs are written under temporary names and renamed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use morpheus_engine::{Config, Context, Error, JobMetrics, Result, StageMetrics};
use morpheus_graph::incremental::{refresh, Incremental, RefreshReport};
use morpheus_graph::run::{compute, Values};
use morpheus_graph::Graph;
use morpheus_rdd::{Batch, CsvOptions, Item, Rdd, Row, Schema, Value};
use morpheus_storage::Store;

use crate::columnar::RightSide;
use crate::spec::{
    AggFn, Aggregate, Format, Input, JoinKind, Output, SelectItem, Spec, Step, StepKind,
};
use output::write_table;

mod output;

/// Engine settings of a run that the spec does not fix.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads (default: the spec's `workers`).
    pub workers: Option<usize>,
    /// Memory budget (default: the spec's `memory_budget`).
    pub memory_budget: Option<u64>,
    /// Spill directory (default: the system temporary directory).
    pub spill_dir: Option<PathBuf>,
    /// Where incremental state is kept between runs (specs with `incremental = true`):
    /// one subdirectory per graph. Without it such a spec runs in full.
    pub incremental_state: Option<PathBuf>,
}

/// One output as written.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Written {
    /// The step it holds.
    pub step: String,
    /// Where.
    pub path: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// Column names.
    pub columns: Vec<String>,
    /// The first rows (at most 20), rendered as text, for reports.
    pub preview: Vec<Vec<String>>,
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunReport {
    /// Engine metrics (totals and per stage; the job's steps are stages named `step NAME`).
    pub metrics: JobMetrics,
    /// Outputs written.
    pub outputs: Vec<Written>,
    /// Scalar answers of algorithms (e.g. a triangle total).
    pub summaries: Vec<String>,
    /// Seconds spent loading graphs.
    pub load_seconds: f64,
    /// Seconds spent in algorithms.
    pub compute_seconds: f64,
    /// How each incrementally maintained graph was brought up to date, by graph step.
    pub incremental: Vec<(String, RefreshReport)>,
}

impl RunReport {
    /// Arc and vertex differences processed by incremental updates (the whole graph for a
    /// full build); `None` when nothing ran incrementally.
    pub fn input_changes(&self) -> Option<u64> {
        (!self.incremental.is_empty())
            .then(|| self.incremental.iter().map(|(_, r)| r.input_changes).sum())
    }
}

/// Per-vertex results computed before the workers start (incremental runs), by step.
type Precomputed = HashMap<String, (Vec<u64>, Values, Option<String>)>;

/// Brings every incremental graph of `spec` up to date in `dir`; returns the states (to
/// save once the run succeeded), their results and the reports.
fn refresh_all(
    spec: &Spec,
    dir: &Path,
) -> Result<(
    Vec<(PathBuf, Store, Incremental)>,
    Precomputed,
    Vec<(String, RefreshReport)>,
)> {
    let mut states = Vec::new();
    let mut results = Precomputed::new();
    let mut reports = Vec::new();
    for g in spec.incremental_graphs() {
        let store = Store::open_read_only(&g.store)
            .map_err(|e| Error::Job(format!("graph `{}`: {e}", g.graph)))?;
        let sub = dir.join(file_name_for(g.graph.trim_start_matches('@')));
        let (inc, report) = refresh(&sub, &store, &g.wants)
            .map_err(|e| Error::Job(format!("graph `{}`: {e}", g.graph)))?;
        match &report.reason {
            None => tracing::info!(
                graph = %g.graph,
                changes = report.input_changes,
                from_lsn = report.from_lsn,
                to_lsn = report.to_lsn,
                seconds = report.update_seconds,
                "incremental update: {} input changes since LSN {}",
                report.input_changes,
                report.from_lsn.unwrap_or_default()
            ),
            Some(why) => tracing::info!(
                graph = %g.graph,
                "full computation ({why}): {} vertices, {} arcs",
                report.vertices,
                report.arcs
            ),
        }
        for w in &g.wants {
            let r = inc
                .values(&w.key)
                .map_err(|e| Error::Job(format!("step `{}`: {e}", w.key)))?;
            results.insert(w.key.clone(), r);
        }
        reports.push((g.graph.clone(), report));
        states.push((sub, store, inc));
    }
    Ok((states, results, reports))
}

/// `name` as a single file name: characters other than ASCII letters, digits, `-` and `_`
/// become `_` (so a graph step or pipeline name cannot reach outside a state directory).
pub(crate) fn file_name_for(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The engine configuration for `spec` with `options`.
///
/// # Errors
/// An invalid combination (e.g. a budget too small for the workers).
pub fn config(spec: &Spec, options: &RunOptions) -> Result<Config> {
    let mut c = Config::threads(options.workers.unwrap_or(spec.workers))
        .with_memory_budget(options.memory_budget.unwrap_or(spec.memory_budget))
        .with_force_workers(spec.force_workers);
    if let Some(d) = &options.spill_dir {
        c = c.with_spill_dir(d);
    }
    c.validate()?;
    Ok(c)
}

/// Runs `spec` once.
///
/// # Errors
/// The first failure of any step or output, naming it; outputs already renamed into place
/// by then stay (each is complete), the failed one is not left behind.
pub fn run(spec: &Spec, options: &RunOptions) -> Result<RunReport> {
    let spec = Arc::new(spec.clone());
    let config = config(&spec, options)?;
    let (states, pre, reports) = match (&options.incremental_state, spec.incremental) {
        (Some(dir), true) => refresh_all(&spec, dir)?,
        (Some(_), false) => {
            return Err(Error::Job(format!(
                "job `{}` is not incremental: add `incremental = true` to the spec to keep \
                 state between runs",
                spec.name
            )))
        }
        (None, incremental) => {
            if incremental {
                tracing::info!("no incremental state directory given: computing in full");
            }
            (Vec::new(), Precomputed::new(), Vec::new())
        }
    };
    let update_seconds: f64 = reports.iter().map(|(_, r)| r.update_seconds).sum();
    let load_seconds: f64 = reports.iter().map(|(_, r)| r.load_seconds).sum();
    let job = Arc::clone(&spec);
    let pre = Arc::new(pre);
    let stores = Arc::new(Stores::default());
    let (mut results, metrics) =
        morpheus_engine::execute(config, move |ctx| run_worker(ctx, &job, &pre, &stores))?;
    let mut report = if results.is_empty() {
        RunReport::default()
    } else {
        results.swap_remove(0)
    };
    report.metrics = metrics;
    report.load_seconds += load_seconds;
    report.compute_seconds += update_seconds;
    // The outputs are in place: only now does the state move forward.
    for (dir, store, inc) in &states {
        inc.save(dir, store)
            .map_err(|e| Error::Job(format!("saving incremental state: {e}")))?;
    }
    report.incremental = reports;
    Ok(report)
}

enum LoadedGraph {
    Topology(Graph<(), ()>),
    Weighted(Graph<(), f64>),
}

/// A table's partitions: rows, or Arrow record batches (dataset scans, algorithm outputs
/// and broadcast joins, which then write without building rows).
#[derive(Clone)]
enum Data {
    Rows(Rdd<Row>),
    Batches(Rdd<Batch>),
}

#[derive(Clone)]
struct Table {
    data: Data,
    schema: Schema,
}

impl Table {
    fn rows(rows: Rdd<Row>, schema: Schema) -> Table {
        Table {
            data: Data::Rows(rows),
            schema,
        }
    }

    fn batches(batches: Rdd<Batch>, schema: Schema) -> Table {
        Table {
            data: Data::Batches(batches),
            schema,
        }
    }

    /// The table as rows (converting batches as they are computed).
    fn as_rows(&self) -> Rdd<Row> {
        match &self.data {
            Data::Rows(r) => r.clone(),
            Data::Batches(b) => b.rows(),
        }
    }

    /// The table as record batches (converting rows as they are computed).
    fn as_batches(&self) -> Rdd<Batch> {
        match &self.data {
            Data::Rows(r) => r.to_batches(&self.schema),
            Data::Batches(b) => b.clone(),
        }
    }
}

struct Worker<'a, 'w> {
    ctx: &'a Context<'w>,
    spec: &'a Spec,
    pre: &'a Precomputed,
    stores: &'a Stores,
    graphs: HashMap<String, LoadedGraph>,
    tables: HashMap<String, Table>,
    uses: HashMap<String, usize>,
    report: RunReport,
}

fn step_err(step: &str, e: Error) -> Error {
    match e {
        Error::Job(m) => Error::Job(format!("step `{step}`: {m}")),
        other => other,
    }
}

/// Store inputs opened by this process, shared by its workers: opening a store reads its
/// segment indexes, which each worker would otherwise do again.
type Stores = std::sync::Mutex<HashMap<String, Arc<Store>>>;

fn run_worker(
    ctx: &Context<'_>,
    spec: &Spec,
    pre: &Precomputed,
    stores: &Stores,
) -> Result<RunReport> {
    let mut uses: HashMap<String, usize> = HashMap::new();
    for s in &spec.steps {
        for r in references(&s.kind) {
            *uses.entry(r.to_owned()).or_default() += 1;
        }
    }
    for o in &spec.outputs {
        *uses.entry(o.step.clone()).or_default() += 1;
    }
    let mut w = Worker {
        ctx,
        spec,
        pre,
        stores,
        graphs: HashMap::new(),
        tables: HashMap::new(),
        uses,
        report: RunReport::default(),
    };
    for step in &spec.steps {
        let t = Instant::now();
        w.step(step).map_err(|e| step_err(&step.name, e))?;
        ctx.record_stage(StageMetrics {
            name: format!("step {}", step.name),
            seconds: t.elapsed().as_secs_f64(),
            ..StageMetrics::default()
        });
    }
    for o in &spec.outputs {
        let t = Instant::now();
        let written = w.output(o).map_err(|e| match e {
            Error::Job(m) => Error::Job(format!("output {}: {m}", o.path.display())),
            other => other,
        })?;
        ctx.record_stage(StageMetrics {
            name: format!("output {}", o.step),
            records_out: if ctx.index() == 0 { written.rows } else { 0 },
            seconds: t.elapsed().as_secs_f64(),
            ..StageMetrics::default()
        });
        w.report.outputs.push(written);
    }
    Ok(w.report)
}

/// The steps and inputs a step reads.
fn references(kind: &StepKind) -> Vec<&str> {
    match kind {
        StepKind::Load { input } | StepKind::Read { input } => vec![input],
        StepKind::Subgraph { graph, .. } | StepKind::Algorithm { graph, .. } => vec![graph],
        StepKind::Join { left, right, .. } => vec![left, right],
        StepKind::Filter { input, .. }
        | StepKind::Select { input, .. }
        | StepKind::Aggregate { input, .. }
        | StepKind::Top { input, .. } => vec![input],
    }
}

impl Worker<'_, '_> {
    /// Whether graph step `name` is maintained incrementally (its algorithms' results were
    /// computed before the workers started, so it need not be loaded).
    fn maintained(&self, name: &str) -> bool {
        self.spec.steps.iter().all(|s| match &s.kind {
            StepKind::Algorithm { graph, .. } if graph == name => self.pre.contains_key(&s.name),
            StepKind::Subgraph { graph, .. } => graph != name,
            _ => true,
        }) && !self.pre.is_empty()
    }

    /// Store input `input`, opened once per process (the first worker to ask opens it
    /// while the others wait).
    fn store(&self, input: &str) -> Result<Arc<Store>> {
        let Some(Input::Store { path }) = self.spec.inputs.get(input) else {
            return Err(Error::Job(format!("`{input}` is not a store input")));
        };
        let mut open = self
            .stores
            .lock()
            .map_err(|_| Error::Job("another worker failed opening a store".into()))?;
        if let Some(s) = open.get(input) {
            return Ok(Arc::clone(s));
        }
        let store = Arc::new(Store::open_read_only(path).map_err(|e| Error::Job(e.to_string()))?);
        open.insert(input.to_owned(), Arc::clone(&store));
        Ok(store)
    }

    fn load(&mut self, name: &str, input: &str) -> Result<()> {
        let t = Instant::now();
        let store = self.store(input)?;
        let g = if self.spec.weighted() {
            LoadedGraph::Weighted(Graph::load(self.ctx, &store)?)
        } else {
            LoadedGraph::Topology(Graph::load_topology(self.ctx, &store)?)
        };
        self.report.load_seconds += t.elapsed().as_secs_f64();
        self.graphs.insert(name.to_owned(), g);
        Ok(())
    }

    /// The graph `name` refers to (`@input` loads a store input on first use).
    fn graph(&mut self, name: &str) -> Result<&LoadedGraph> {
        if !self.graphs.contains_key(name) {
            let input = name
                .strip_prefix('@')
                .ok_or_else(|| Error::Job(format!("no graph `{name}`")))?
                .to_owned();
            self.load(name, &input)?;
        }
        self.graphs
            .get(name)
            .ok_or_else(|| Error::Job(format!("no graph `{name}`")))
    }

    /// The table `name` refers to: a step's output, or a dataset input read on first use.
    fn table(&mut self, name: &str) -> Result<Table> {
        if let Some(t) = self.tables.get(name) {
            return Ok(t.clone());
        }
        let t = self.read(name)?;
        self.tables.insert(name.to_owned(), t.clone());
        Ok(t)
    }

    fn read(&self, input: &str) -> Result<Table> {
        let Some(Input::Dataset {
            format,
            path,
            schema,
            ..
        }) = self.spec.inputs.get(input)
        else {
            return Err(Error::Job(format!("no table `{input}`")));
        };
        let ctx = self.ctx;
        Ok(match format {
            Format::Csv => {
                let options = CsvOptions::default().with_schema(schema.clone());
                let (schema, rows) = Rdd::read_csv(ctx, path, &options, 0)?;
                Table::rows(rows, schema)
            }
            Format::Parquet => {
                let (schema, batches) = Rdd::read_parquet_batches(ctx, path, 0)?;
                Table::batches(batches, schema)
            }
            Format::Arrow => {
                let (schema, batches) = Rdd::read_ipc_batches(ctx, path)?;
                Table::batches(batches, schema)
            }
            Format::JsonLines => Table::rows(crate::jsonl::read(path, schema)?, schema.clone()),
        })
    }

    fn step(&mut self, step: &Step) -> Result<()> {
        let (ctx, name) = (self.ctx, step.name.as_str());
        // Table steps know their output schema from validation.
        let schema = || {
            step.schema
                .clone()
                .ok_or_else(|| Error::Job(format!("step `{name}` has no table schema")))
        };
        let table = match &step.kind {
            StepKind::Load { .. } if self.maintained(name) => return Ok(()),
            StepKind::Load { input } => return self.load(name, input),
            StepKind::Subgraph {
                graph,
                vertices,
                edges,
            } => {
                let v = vertices.clone();
                let e = edges.clone();
                let vpred = move |id: u64| {
                    v.as_ref()
                        .is_none_or(|p| p.matches(&[Value::Int(id as i64)]))
                };
                let epred = move |s: u64, d: u64, w: f64| {
                    e.as_ref().is_none_or(|p| {
                        p.matches(&[Value::Int(s as i64), Value::Int(d as i64), Value::Float(w)])
                    })
                };
                let sub = match self.graph(graph)? {
                    LoadedGraph::Topology(g) => LoadedGraph::Topology(g.subgraph(
                        ctx,
                        |id, _| vpred(id),
                        |s, d, _| epred(s, d, 1.0),
                    )?),
                    LoadedGraph::Weighted(g) => LoadedGraph::Weighted(g.subgraph(
                        ctx,
                        |id, _| vpred(id),
                        |s, d, w| epred(s, d, *w),
                    )?),
                };
                self.graphs.insert(name.to_owned(), sub);
                return Ok(());
            }
            StepKind::Algorithm { .. } if self.pre.contains_key(name) => {
                let (ids, values, summary) = &self.pre[name];
                if ctx.index() == 0 {
                    if let Some(s) = summary {
                        self.report.summaries.push(format!("{name}: {s}"));
                    }
                }
                let schema = schema()?;
                let batch = if ctx.index() == 0 {
                    vec![vertex_batch(ids, values, &schema)?]
                } else {
                    Vec::new()
                };
                Table::batches(local_rdd(ctx, batch), schema)
            }
            StepKind::Algorithm {
                graph,
                algorithm,
                params,
            } => {
                let schema = schema()?;
                // The graph loads on first use: that is load time, not compute time.
                self.graph(graph)?;
                let t = Instant::now();
                let (ids, computed) = match self.graph(graph)? {
                    LoadedGraph::Topology(g) => {
                        (g.local_ids().to_vec(), compute(ctx, g, *algorithm, params)?)
                    }
                    LoadedGraph::Weighted(g) => {
                        (g.local_ids().to_vec(), compute(ctx, g, *algorithm, params)?)
                    }
                };
                self.report.compute_seconds += t.elapsed().as_secs_f64();
                if let Some(s) = computed.summary {
                    if ctx.index() == 0 {
                        self.report.summaries.push(format!("{name}: {s}"));
                    }
                }
                let batch = vertex_batch(&ids, &computed.values, &schema)?;
                Table::batches(local_rdd(ctx, vec![batch]), schema)
            }
            StepKind::Read { input } => self.read(input)?,
            StepKind::Join {
                left,
                right,
                left_key,
                right_key,
                how,
                broadcast_rows,
            } => {
                let l = self.table(left)?;
                let r = self.table(right)?;
                let schema = schema()?;
                let keys = (*left_key, *right_key);
                join(ctx, &l, &r, keys, *how, *broadcast_rows, schema)?
            }
            StepKind::Filter { input, predicate } => {
                let t = self.table(input)?;
                let p = predicate.clone();
                Table::rows(t.as_rows().filter(move |row| p.matches(row)), t.schema)
            }
            StepKind::Select { input, items } => {
                let t = self.table(input)?;
                let items: Rc<Vec<SelectItem>> = Rc::new(items.clone());
                let schema = schema()?;
                let rows = t.as_rows().map(move |row| {
                    items
                        .iter()
                        .map(|it| match it {
                            SelectItem::Column(i) => row[*i].clone(),
                            SelectItem::Derived(e) => e.eval(&row),
                        })
                        .collect()
                });
                Table::rows(rows, schema)
            }
            StepKind::Aggregate {
                input,
                group_by,
                aggregates,
            } => {
                let t = self.table(input)?;
                let schema = schema()?;
                let float: Vec<bool> = aggregates
                    .iter()
                    .map(|a| {
                        a.column.is_some_and(|c| {
                            t.schema.fields[c].data_type == morpheus_rdd::DataType::Float64
                        })
                    })
                    .collect();
                let rows = aggregate(ctx, &t.as_rows(), group_by, aggregates, &float)?;
                Table::rows(rows, schema)
            }
            StepKind::Top {
                input,
                k,
                by,
                descending,
            } => {
                let t = self.table(input)?;
                let by = *by;
                let top: Vec<Row> = if *descending {
                    t.as_rows()
                        .map(move |r| (r[by].clone(), r))
                        .top(ctx, *k)?
                        .into_iter()
                        .map(|(_, r)| r)
                        .collect()
                } else {
                    // Nulls last when ascending.
                    t.as_rows()
                        .map(move |r| ((r[by].is_null(), r[by].clone()), r))
                        .take_ordered(ctx, *k)?
                        .into_iter()
                        .map(|(_, r)| r)
                        .collect()
                };
                Table::rows(Rdd::parallelize(ctx, top, 1), t.schema)
            }
        };
        // A table read more than once is kept (spilling if need be) instead of recomputed.
        let table = if self.uses.get(name).copied().unwrap_or(0) > 1 {
            let data = match table.data {
                Data::Rows(r) => Data::Rows(r.cache()),
                Data::Batches(b) => Data::Batches(b.cache()),
            };
            Table {
                data,
                schema: table.schema,
            }
        } else {
            table
        };
        self.tables.insert(name.to_owned(), table);
        Ok(())
    }

    fn output(&mut self, o: &Output) -> Result<Written> {
        let t = self.table(&o.step)?;
        match (&t.data, o.format) {
            (Data::Batches(b), Format::Parquet | Format::Arrow) => {
                write_table(self.ctx, b, &t.schema, o, &o.step)
            }
            _ => write_table(self.ctx, &t.as_rows(), &t.schema, o, &o.step),
        }
    }
}

/// A batch `id, value` of this worker's vertices, with the column names of `schema`.
fn vertex_batch(ids: &[u64], values: &Values, schema: &Schema) -> Result<Batch> {
    let signed = |v: &[u64]| -> Result<Vec<i64>> {
        v.iter()
            .map(|&x| {
                i64::try_from(x).map_err(|_| {
                    Error::Job(format!("vertex id {x} does not fit a signed 64-bit column"))
                })
            })
            .collect()
    };
    let id: ArrayRef = Arc::new(Int64Array::from(signed(ids)?));
    let value: ArrayRef = match values {
        Values::Float(v) => Arc::new(Float64Array::from(v.clone())),
        Values::Int(v) => Arc::new(Int64Array::from(v.clone())),
        Values::UInt(v) => Arc::new(Int64Array::from(signed(v)?)),
    };
    RecordBatch::try_new(Arc::new(schema.to_arrow()), vec![id, value])
        .map(Batch)
        .map_err(|e| Error::Job(format!("algorithm output: {e}")))
}

/// A collection holding `rows` of this worker (one partition per worker).
fn local_rdd<T: Item>(ctx: &Context<'_>, rows: Vec<T>) -> Rdd<T> {
    let me = ctx.index();
    let rows = Rc::new(rows);
    Rdd::from_fn(ctx.peers(), move |p| {
        Ok(if p == me {
            rows.as_ref().clone()
        } else {
            Vec::new()
        })
    })
}

fn combine(
    left: &Row,
    left_key: usize,
    right: Option<&Row>,
    right_key: usize,
    right_len: usize,
) -> Row {
    let mut out = Vec::with_capacity(left.len() + right_len - 1);
    out.push(left[left_key].clone());
    out.extend(
        left.iter()
            .enumerate()
            .filter(|(i, _)| *i != left_key)
            .map(|(_, v)| v.clone()),
    );
    match right {
        Some(r) => out.extend(
            r.iter()
                .enumerate()
                .filter(|(i, _)| *i != right_key)
                .map(|(_, v)| v.clone()),
        ),
        None => out.extend(std::iter::repeat_n(Value::Null, right_len - 1)),
    }
    out
}

/// A right row with no left match (outer join): key, nulls for the left, the right's rest.
fn right_only(right: &Row, right_key: usize, left_len: usize) -> Row {
    let mut out = Vec::with_capacity(left_len + right.len() - 1);
    out.push(right[right_key].clone());
    out.extend(std::iter::repeat_n(Value::Null, left_len - 1));
    out.extend(
        right
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != right_key)
            .map(|(_, v)| v.clone()),
    );
    out
}

/// A join's right side as computed on this worker, by partition.
enum Parts {
    Rows(Vec<(usize, Vec<Row>)>),
    Batches(Vec<(usize, Vec<Batch>)>),
}

/// Joins on one key column each. Null keys match nothing (as in SQL). A right side of at
/// most `broadcast_rows` rows is gathered on every worker and probed in place, a batch at
/// a time (see [`crate::columnar`]; no shuffle of the left side); larger ones, and outer
/// joins, go through a shuffle join of rows (which spills).
fn join(
    ctx: &Context<'_>,
    l: &Table,
    r: &Table,
    (left_key, right_key): (usize, usize),
    how: JoinKind,
    broadcast_rows: u64,
    schema: Schema,
) -> Result<Table> {
    let (llen, rlen) = (l.schema.len(), r.schema.len());
    // The right side is computed once: its size decides the strategy, and the computed
    // partitions feed either the broadcast or the shuffle.
    let parts = match &r.data {
        Data::Rows(rows) => Parts::Rows(rows.local_partitions(ctx)?),
        Data::Batches(b) => Parts::Batches(b.local_partitions(ctx)?),
    };
    let mine: u64 = match &parts {
        Parts::Rows(p) => p.iter().map(|(_, v)| v.len() as u64).sum(),
        Parts::Batches(p) => p.iter().flat_map(|(_, v)| v).map(|b| b.len() as u64).sum(),
    };
    let right_rows: u64 = ctx.all_gather("join-size", mine)?.iter().sum();
    if how != JoinKind::Outer && right_rows <= broadcast_rows && right_rows < u64::from(u32::MAX) {
        let mine: Vec<Batch> = match parts {
            Parts::Rows(p) => p
                .iter()
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(_, rows)| Batch::from_rows(&r.schema, rows))
                .collect::<Result<_>>()?,
            Parts::Batches(p) => p.into_iter().flat_map(|(_, b)| b).collect(),
        };
        let all: Vec<Batch> = ctx
            .all_gather("join-broadcast", mine)?
            .into_iter()
            .flatten()
            .collect();
        let side = Rc::new(RightSide::build(&all, &r.schema, right_key)?);
        let out: SchemaRef = Arc::new(schema.to_arrow());
        let joined = l
            .as_batches()
            .try_map_partitions_with_index(move |_, batches| {
                batches
                    .iter()
                    .map(|b| side.probe(&b.0, left_key, how, &out).map(Batch))
                    .collect()
            });
        return Ok(Table::batches(joined, schema));
    }
    let computed: HashMap<usize, Vec<Row>> = match parts {
        Parts::Rows(p) => p.into_iter().collect(),
        Parts::Batches(p) => p
            .into_iter()
            .map(|(i, batches)| -> Result<(usize, Vec<Row>)> {
                let mut rows = Vec::new();
                for b in &batches {
                    rows.extend(b.rows(0, b.len())?);
                }
                Ok((i, rows))
            })
            .collect::<Result<_>>()?,
    };
    let partitions = match &r.data {
        Data::Rows(rows) => rows.partitions(),
        Data::Batches(b) => b.partitions(),
    };
    let l = l.as_rows();
    let computed = Rc::new(std::cell::RefCell::new(computed));
    let right: Rdd<Row> = Rdd::from_fn(partitions, move |p| {
        Ok(computed.borrow_mut().remove(&p).unwrap_or_default())
    });
    let lk = l
        .filter(move |r| !r[left_key].is_null())
        .key_by(move |r| r[left_key].clone());
    let rk = right
        .filter(move |r| !r[right_key].is_null())
        .key_by(move |r| r[right_key].clone());
    let lnull = l.filter(move |r| r[left_key].is_null());
    let rows = match how {
        JoinKind::Inner => lk
            .join(&rk)
            .map(move |(_, (a, b))| combine(&a, left_key, Some(&b), right_key, rlen)),
        JoinKind::Left => lk
            .left_outer_join(&rk)
            .map(move |(_, (a, b))| combine(&a, left_key, b.as_ref(), right_key, rlen))
            .union(&lnull.map(move |a| combine(&a, left_key, None, right_key, rlen))),
        JoinKind::Outer => {
            let rnull = right.filter(move |r| r[right_key].is_null());
            lk.full_outer_join(&rk)
                .map(move |(_, (a, b))| match (a, b) {
                    (Some(a), b) => combine(&a, left_key, b.as_ref(), right_key, rlen),
                    (None, Some(b)) => right_only(&b, right_key, llen),
                    (None, None) => Vec::new(),
                })
                .union(&lnull.map(move |a| combine(&a, left_key, None, right_key, rlen)))
                .union(&rnull.map(move |b| right_only(&b, right_key, llen)))
        }
    };
    Ok(Table::rows(rows, schema))
}

/// Running state of one aggregate.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Acc {
    Count(i64),
    SumInt(Option<i64>, bool),
    SumFloat(Option<f64>),
    Min(Value),
    Max(Value),
    Mean(f64, u64),
}

impl Acc {
    fn new(a: &Aggregate, float: bool) -> Acc {
        match a.func {
            AggFn::Count => Acc::Count(0),
            AggFn::Sum if float => Acc::SumFloat(None),
            AggFn::Sum => Acc::SumInt(None, false),
            AggFn::Min => Acc::Min(Value::Null),
            AggFn::Max => Acc::Max(Value::Null),
            AggFn::Mean => Acc::Mean(0.0, 0),
        }
    }

    fn add(&mut self, v: Option<&Value>) {
        let Some(v) = v else {
            // count(*): every row.
            if let Acc::Count(n) = self {
                *n += 1;
            }
            return;
        };
        if v.is_null() {
            return;
        }
        match self {
            Acc::Count(n) => *n += 1,
            Acc::SumInt(s, overflow) => {
                let x = v.as_i64().unwrap_or(0);
                match s.unwrap_or(0).checked_add(x) {
                    Some(t) => *s = Some(t),
                    None => *overflow = true,
                }
            }
            Acc::SumFloat(s) => *s = Some(s.unwrap_or(0.0) + v.as_f64().unwrap_or(0.0)),
            Acc::Min(m) => {
                if m.is_null() || v < m {
                    *m = v.clone();
                }
            }
            Acc::Max(m) => {
                if m.is_null() || v > m {
                    *m = v.clone();
                }
            }
            Acc::Mean(s, n) => {
                *s += v.as_f64().unwrap_or(0.0);
                *n += 1;
            }
        }
    }

    fn merge(&mut self, o: Acc) {
        match (self, o) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::SumInt(a, oa), Acc::SumInt(b, ob)) => {
                *oa |= ob;
                *a = match (*a, b) {
                    (Some(x), Some(y)) => match x.checked_add(y) {
                        Some(t) => Some(t),
                        None => {
                            *oa = true;
                            Some(x)
                        }
                    },
                    (x, y) => x.or(y),
                }
            }
            (Acc::SumFloat(a), Acc::SumFloat(b)) => {
                *a = match (*a, b) {
                    (Some(x), Some(y)) => Some(x + y),
                    (x, y) => x.or(y),
                }
            }
            (Acc::Min(a), Acc::Min(b)) if a.is_null() || (!b.is_null() && b < *a) => *a = b,
            (Acc::Max(a), Acc::Max(b)) if a.is_null() || (!b.is_null() && b > *a) => *a = b,
            (Acc::Mean(s, n), Acc::Mean(t, m)) => {
                *s += t;
                *n += m;
            }
            _ => {}
        }
    }

    fn finish(self) -> Value {
        match self {
            Acc::Count(n) => Value::Int(n),
            // An overflowing integer sum is null rather than wrong.
            Acc::SumInt(_, true) => Value::Null,
            Acc::SumInt(s, false) => s.map_or(Value::Null, Value::Int),
            Acc::SumFloat(s) => s.map_or(Value::Null, Value::Float),
            Acc::Min(v) | Acc::Max(v) => v,
            Acc::Mean(_, 0) => Value::Null,
            Acc::Mean(s, n) => Value::Float(s / n as f64),
        }
    }
}

fn aggregate(
    ctx: &Context<'_>,
    rows: &Rdd<Row>,
    group_by: &[usize],
    aggregates: &[Aggregate],
    float: &[bool],
) -> Result<Rdd<Row>> {
    // `float[i]`: aggregate i reads a Float64 column (Int64 columns sum as integers).
    let group: Rc<Vec<usize>> = Rc::new(group_by.to_vec());
    let aggs: Rc<Vec<Aggregate>> = Rc::new(aggregates.to_vec());
    let zero: Rc<Vec<Acc>> = Rc::new(
        aggregates
            .iter()
            .zip(float)
            .map(|(a, &f)| Acc::new(a, f))
            .collect(),
    );
    let (g2, a2) = (Rc::clone(&group), Rc::clone(&aggs));
    let keyed = rows.map(move |row| {
        let key: Row = g2.iter().map(|&i| row[i].clone()).collect();
        let mut acc = zero.as_ref().clone();
        for (x, a) in acc.iter_mut().zip(a2.iter()) {
            x.add(a.column.map(|c| &row[c]));
        }
        (key, acc)
    });
    let combined = keyed.combine_by_key(
        |acc| acc,
        |c: &mut Vec<Acc>, acc| {
            for (x, y) in c.iter_mut().zip(acc) {
                x.merge(y);
            }
        },
        |c: &mut Vec<Acc>, acc| {
            for (x, y) in c.iter_mut().zip(acc) {
                x.merge(y);
            }
        },
        0,
    );
    let out = combined.map(|(key, acc)| {
        let mut row = key;
        row.extend(acc.into_iter().map(Acc::finish));
        row
    });
    if group.is_empty() {
        // A global aggregate has one row even over no input.
        let mut all = out.collect(ctx)?;
        if all.is_empty() {
            all.push(
                aggs.iter()
                    .map(|a| {
                        if a.func == AggFn::Count {
                            Value::Int(0)
                        } else {
                            Value::Null
                        }
                    })
                    .collect(),
            );
        }
        return Ok(Rdd::parallelize(ctx, all, 1));
    }
    Ok(out)
}
