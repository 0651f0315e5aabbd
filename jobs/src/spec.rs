//! Job specs: TOML files that describe inputs, steps, outputs and scheduling.
//!
//! ```toml
//! name = "pagerank-join"
//! workers = 2
//! memory_budget = "512MiB"
//!
//! [vars]                      # `${name}` in any string; `--set name=value` overrides
//! store = "demo/store"
//! names = "demo/names.csv"
//! out = "demo/out"
//!
//! [inputs.graph]
//! store = "${store}"
//!
//! [inputs.names]
//! csv = "${names}"            # or parquet = …, arrow = …, jsonl = …
//! key = "id"
//!
//! [[steps]]
//! name = "ranks"
//! algorithm = "pagerank"      # loads `graph` (the only store input) implicitly
//! iterations = 20
//!
//! [[steps]]
//! name = "named"
//! join = "ranks"              # left side
//! with = "names"              # right side: a dataset input or an earlier step
//! how = "inner"               # inner | left | outer
//!
//! [[steps]]
//! name = "top"
//! input = "named"
//! filter = '(> rank 0.001)'
//!
//! [[outputs]]
//! step = "top"
//! path = "${out}/top.parquet"
//! ```
//!
//! [`Spec::load`] parses, substitutes variables, resolves paths, reads the schemas of the
//! dataset inputs and type-checks every step and expression, so that every error is
//! reported (with the file, the step and the field) before any work starts.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use morpheus_graph::run::{needs_weights, Algorithm, Params};
use morpheus_rdd::{CsvOptions, DataType, Schema};

use crate::error::clip;
use crate::expr::Expr;

mod outputs;
pub mod paths;
mod steps;
mod vars;

pub use steps::join_schema;
use steps::parse_step;

use vars::{substitute, variables};

/// A spec error: where (file, and a path inside the spec such as `steps[2] (top).by`) and
/// what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file (or `<request>` for a submitted body).
    pub file: String,
    /// Where in the spec: a field path, or empty for the whole file.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.location, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

/// How a missed schedule (while the server was down) is handled on start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Catchup {
    /// Run once on start if any run was missed.
    Once,
    /// Skip missed runs; wait for the next time.
    Skip,
}

/// A cron schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The cron expression as written and checked by [`parse_cron`] (5 fields, 6 with
    /// seconds first, or a preset such as `@hourly`, `@daily`).
    pub cron: String,
    /// Missed runs on start.
    pub catchup: Catchup,
}

/// Parses a cron expression: 5 fields (minute first), 6 (seconds first), or a preset
/// (`@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`).
///
/// # Errors
/// The parser's reason.
pub fn parse_cron(text: &str) -> std::result::Result<croner::Cron, String> {
    let t = text.trim();
    let expanded = match t {
        "@secondly" => "* * * * * *",
        "@minutely" => "0 * * * * *",
        other => other,
    };
    let fields = expanded.split_whitespace().count();
    let mut parser = croner::parser::CronParser::builder();
    if fields == 6 {
        parser = parser.seconds(croner::parser::Seconds::Required);
    }
    parser
        .build()
        .parse(expanded)
        .map_err(|e| format!("bad cron expression `{text}`: {e}"))
}

/// File formats of dataset inputs and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file format.
    Arrow,
    /// JSON lines: one object per line (inputs only).
    JsonLines,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
            Format::JsonLines => "jsonl",
        }
    }

    fn from_extension(path: &Path) -> Option<Format> {
        match path
            .extension()?
            .to_string_lossy()
            .to_ascii_lowercase()
            .as_str()
        {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            "arrow" | "ipc" | "feather" => Some(Format::Arrow),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "arrow" | "ipc" => Ok(Format::Arrow),
            "jsonl" | "json" | "ndjson" => Ok(Format::JsonLines),
            other => Err(format!(
                "unknown format `{}` (expected csv, parquet, arrow or jsonl)",
                clip(other)
            )),
        }
    }
}

/// An input of the job.
#[derive(Clone, Debug)]
pub enum Input {
    /// A Morpheus graph store.
    Store {
        /// Its directory.
        path: PathBuf,
    },
    /// A tabular dataset.
    Dataset {
        /// Format.
        format: Format,
        /// File or directory.
        path: PathBuf,
        /// The key column (joins use it unless told otherwise).
        key: Option<String>,
        /// Its schema, read when the spec was loaded.
        schema: Schema,
    },
}

/// Join kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// Rows whose key is on both sides.
    Inner,
    /// Every left row; right columns null where the key has no match.
    Left,
    /// Every row of both sides.
    Outer,
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFn {
    /// Sum of non-null values.
    Sum,
    /// Rows (or non-null values of a column).
    Count,
    /// Smallest non-null value.
    Min,
    /// Largest non-null value.
    Max,
    /// Mean of non-null values.
    Mean,
}

/// One aggregate of an `aggregate` step.
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// Function.
    pub func: AggFn,
    /// Column index in the input (None: `count` of rows).
    pub column: Option<usize>,
    /// Output column name.
    pub name: String,
}

/// One output column of a `select` step.
#[derive(Clone, Debug)]
pub enum SelectItem {
    /// An input column, by index.
    Column(usize),
    /// A derived column.
    Derived(Expr),
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum StepKind {
    /// Loads a store input as a graph.
    Load {
        /// Input name.
        input: String,
    },
    /// A subgraph of a graph step.
    Subgraph {
        /// The graph step.
        graph: String,
        /// Vertex predicate over `id`.
        vertices: Option<Expr>,
        /// Edge predicate over `src`, `dst`, `weight`.
        edges: Option<Expr>,
    },
    /// Runs an algorithm on a graph step; a table `id, <column>`.
    Algorithm {
        /// The graph step.
        graph: String,
        /// Algorithm.
        algorithm: Algorithm,
        /// Its parameters.
        params: Params,
    },
    /// Reads a dataset input as a table.
    Read {
        /// Input name.
        input: String,
    },
    /// Joins two tables on a key column each.
    Join {
        /// Left table.
        left: String,
        /// Right table.
        right: String,
        /// Key column index on the left.
        left_key: usize,
        /// Key column index on the right.
        right_key: usize,
        /// Join kind.
        how: JoinKind,
        /// Broadcast the right side when it has at most this many rows (else shuffle both).
        broadcast_rows: u64,
    },
    /// Keeps rows for which an expression is true.
    Filter {
        /// Input table.
        input: String,
        /// Predicate.
        predicate: Expr,
    },
    /// Picks and derives columns.
    Select {
        /// Input table.
        input: String,
        /// Output columns.
        items: Vec<SelectItem>,
    },
    /// Groups and aggregates.
    Aggregate {
        /// Input table.
        input: String,
        /// Group-by column indexes.
        group_by: Vec<usize>,
        /// Aggregates.
        aggregates: Vec<Aggregate>,
    },
    /// The first `k` rows by a column.
    Top {
        /// Input table.
        input: String,
        /// Row count.
        k: usize,
        /// Column index.
        by: usize,
        /// Largest first (the default) or smallest first.
        descending: bool,
    },
}

/// A step: a name and what it does; table steps know their output schema.
#[derive(Clone, Debug)]
pub struct Step {
    /// Unique name.
    pub name: String,
    /// What it does.
    pub kind: StepKind,
    /// Output schema (tables), or None (graphs).
    pub schema: Option<Schema>,
    /// The key column of the output table, if it has one.
    pub key: Option<String>,
}

/// What happens when an output path already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it once the new output is complete (the old one stays until then).
    Replace,
    /// Fail the job before any work starts.
    Error,
}

/// A result written by the job.
#[derive(Clone, Debug)]
pub struct Output {
    /// The table step written.
    pub step: String,
    /// Where.
    pub path: PathBuf,
    /// Format (from the field, else the extension).
    pub format: Format,
    /// Existing outputs.
    pub overwrite: Overwrite,
    /// One file per partition in a directory (written in parallel) instead of one file.
    pub partitioned: bool,
}

/// A validated job spec.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Job name.
    pub name: String,
    /// Where it came from (for messages).
    pub file: String,
    /// Variables after overrides.
    pub vars: BTreeMap<String, String>,
    /// Inputs by name.
    pub inputs: BTreeMap<String, Input>,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// Schedule, if any.
    pub schedule: Option<Schedule>,
    /// Retries after a failure.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// Time limit of a run.
    pub timeout: Option<Duration>,
    /// Worker threads.
    pub workers: usize,
    /// Run more workers than the engine's per-core limit allows (`force_workers = true`,
    /// or `morpheus run --force-workers`).
    pub force_workers: bool,
    /// Memory budget in bytes.
    pub memory_budget: u64,
    /// Runs of this pipeline allowed at the same time (server).
    pub max_concurrent: usize,
    /// Keep graph results between runs and update them from the store's change log
    /// (`incremental = true`); every algorithm step then runs on a loaded store (no
    /// subgraph) with an algorithm that can be maintained.
    pub incremental: bool,
}

/// A graph whose results an incremental run maintains ([`Spec::incremental_graphs`]).
#[derive(Clone, Debug)]
pub struct IncrementalGraph {
    /// The graph step (`load` step name or `@input`).
    pub graph: String,
    /// The store it reads.
    pub store: PathBuf,
    /// The algorithm steps on it.
    pub wants: Vec<morpheus_graph::incremental::Want>,
}

/// With `incremental = true`, every algorithm step must run directly on a loaded store
/// with an algorithm that can be maintained.
fn check_incremental(ctx: &Ctx<'_>, steps: &[Step]) -> Result<(), SpecError> {
    for (i, s) in steps.iter().enumerate() {
        match &s.kind {
            StepKind::Subgraph { .. } => {
                return Err(ctx.err(
                    format!("steps[{i}]"),
                    format!(
                        "step `{}`: subgraph steps cannot be maintained incrementally \
                         (remove `incremental = true` or the subgraph)",
                        s.name
                    ),
                ))
            }
            StepKind::Algorithm {
                algorithm, params, ..
            } => {
                if let Some(why) =
                    morpheus_graph::incremental::Want::unsupported(*algorithm, params)
                {
                    return Err(ctx.err(
                        format!("steps[{i}].algorithm"),
                        format!("step `{}`: {why}", s.name),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// How [`Spec::load`] resolves things.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `key=value` overrides of `[vars]` (and of `name`, `workers`, `memory_budget`,
    /// `timeout`, `retries`).
    pub set: Vec<(String, String)>,
    /// Relative paths resolve against this directory (default: the current directory).
    pub base_dir: Option<PathBuf>,
    /// The server's data root: when set, every input and output must lie inside it once
    /// symlinks are resolved (outputs strictly inside: never the root itself).
    pub data_root: Option<PathBuf>,
    /// The server's state directory: outputs never touch it (except inside a data root
    /// that lies in it).
    pub state_dir: Option<PathBuf>,
}

/// The top-level fields `--set` may override besides the spec's variables.
pub const SET_FIELDS: &[&str] = &["name", "workers", "memory_budget", "timeout", "retries"];

pub use morpheus_engine::parse_duration;

/// Builds spec errors for one file.
struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    /// A spec error. The location and message are cut as a last guard (a place can hold a
    /// user's key, a message a path or a value), so no spec error runs past about 1.3 KB.
    fn err(&self, location: impl Into<String>, message: impl Into<String>) -> SpecError {
        let (location, message) = (location.into(), message.into());
        SpecError {
            file: self.file.to_owned(),
            location: crate::error::clip(&location).into_owned(),
            message: crate::error::clip_to(&message, 5 * crate::error::CLIP_BYTES).into_owned(),
        }
    }
}

/// Takes fields out of a TOML table, so that what is left over can be reported as unknown.
struct Fields<'c, 'f> {
    ctx: &'c Ctx<'f>,
    at: String,
    table: toml::Table,
}

impl<'c, 'f> Fields<'c, 'f> {
    fn new(ctx: &'c Ctx<'f>, at: impl Into<String>, value: toml::Value) -> Result<Self, SpecError> {
        let at = at.into();
        match value {
            toml::Value::Table(table) => Ok(Fields { ctx, at, table }),
            other => Err(ctx.err(at, format!("expected a table, found {}", other.type_str()))),
        }
    }

    fn loc(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn str(&mut self, key: &str) -> Result<Option<String>, SpecError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.ctx.err(
                self.loc(key),
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    }

    fn req_str(&mut self, key: &str) -> Result<String, SpecError> {
        self.str(key)?
            .ok_or_else(|| self.ctx.err(self.loc(key), "missing (required)"))
    }

    fn int(&mut self, key: &str) -> Result<Option<i64>, SpecError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => Ok(Some(i)),
            // `--set` values arrive as strings.
            Some(toml::Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                self.ctx.err(
                    self.loc(key),
                    format!("expected an integer, found `{}`", clip(&s)),
                )
            }),
            Some(other) => Err(self.ctx.err(
                self.loc(key),
                format!("expected an integer, found {}", other.type_str()),
            )),
        }
    }

    fn uint(&mut self, key: &str) -> Result<Option<u64>, SpecError> {
        match self.int(key)? {
            None => Ok(None),
            Some(i) if i >= 0 => Ok(Some(i as u64)),
            Some(i) => Err(self
                .ctx
                .err(self.loc(key), format!("must not be negative, found {i}"))),
        }
    }

    fn float(&mut self, key: &str) -> Result<Option<f64>, SpecError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(toml::Value::Float(f)) => Ok(Some(f)),
            Some(toml::Value::Integer(i)) => Ok(Some(i as f64)),
            Some(toml::Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                self.ctx.err(
                    self.loc(key),
                    format!("expected a number, found `{}`", clip(&s)),
                )
            }),
            Some(other) => Err(self.ctx.err(
                self.loc(key),
                format!("expected a number, found {}", other.type_str()),
            )),
        }
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, SpecError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(b)),
            Some(toml::Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(self.ctx.err(
                self.loc(key),
                format!("expected true or false, found {other}"),
            )),
        }
    }

    fn array(&mut self, key: &str) -> Result<Option<Vec<toml::Value>>, SpecError> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.ctx.err(
                self.loc(key),
                format!("expected an array, found {}", other.type_str()),
            )),
        }
    }

    fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, SpecError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                toml::Value::String(s) => Ok(s),
                other => Err(self.ctx.err(
                    format!("{}[{i}]", self.loc(key)),
                    format!("expected a string, found {}", other.type_str()),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Fails on any field not taken.
    fn finish(self, expected: &[&str]) -> Result<(), SpecError> {
        if let Some(key) = self.table.keys().next() {
            return Err(self.ctx.err(
                self.loc(key),
                format!("unknown field (expected one of: {})", expected.join(", ")),
            ));
        }
        Ok(())
    }
}

/// Lexically normalises `path` against `base` (no `..` left, no filesystem access).
fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

const TOP_FIELDS: &[&str] = &[
    "name",
    "vars",
    "inputs",
    "steps",
    "outputs",
    "schedule",
    "retries",
    "retry_backoff",
    "timeout",
    "workers",
    "force_workers",
    "memory_budget",
    "max_concurrent",
    "incremental",
];

const STEP_KINDS: &[&str] = &[
    "load",
    "subgraph",
    "algorithm",
    "read",
    "join",
    "filter",
    "select",
    "aggregate",
    "top",
];

impl Spec {
    /// Reads and validates the spec in `path`.
    ///
    /// # Errors
    /// Every problem, with the file, the place in the spec and the reason.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Spec, SpecError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: file.clone(),
            location: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Spec::parse_from(&text, &file, Some(path), options)
    }

    /// Validates spec `text`; `file` names it in messages.
    ///
    /// # Errors
    /// As [`Spec::load`].
    pub fn parse(text: &str, file: &str, options: &LoadOptions) -> Result<Spec, SpecError> {
        Spec::parse_from(text, file, None, options)
    }

    /// As [`Spec::parse`]; `spec_path` (the spec's own file) is protected from outputs.
    fn parse_from(
        text: &str,
        file: &str,
        spec_path: Option<&Path>,
        options: &LoadOptions,
    ) -> Result<Spec, SpecError> {
        let ctx = Ctx { file };
        let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            let message = e.message().to_owned();
            if line > 0 {
                ctx.err(format!("line {line}, column {col}"), message)
            } else {
                ctx.err("", message)
            }
        })?;
        let vars = variables(&ctx, text, &mut doc, &options.set)?;
        let mut root = toml::Value::Table(doc);
        substitute(&ctx, "", &mut root, &vars)?;
        let base = options
            .base_dir
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let mut top = Fields::new(&ctx, "", root)?;
        let name = top.req_str("name")?;
        if name.trim().is_empty() {
            return Err(ctx.err("name", "must not be empty"));
        }
        let workers = top.uint("workers")?.unwrap_or(1);
        if !(1..=1024).contains(&workers) {
            return Err(ctx.err("workers", format!("must be 1 to 1024, found {workers}")));
        }
        let memory_budget = match top.table.remove("memory_budget") {
            None => 1 << 30,
            Some(toml::Value::String(s)) => {
                morpheus_engine::parse_size(&s).map_err(|m| ctx.err("memory_budget", m))?
            }
            Some(toml::Value::Integer(i)) if i > 0 => i as u64,
            Some(other) => {
                return Err(ctx.err(
                    "memory_budget",
                    format!("expected a size such as \"512MiB\", found {other}"),
                ))
            }
        };
        let duration = |top: &mut Fields<'_, '_>,
                        key: &str|
         -> Result<Option<Duration>, SpecError> {
            match top.table.remove(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => {
                    parse_duration(&s).map(Some).map_err(|m| ctx.err(key, m))
                }
                Some(toml::Value::Integer(i)) if i >= 0 => Ok(Some(Duration::from_secs(i as u64))),
                Some(other) => Err(ctx.err(
                    key,
                    format!("expected a duration such as \"30s\", found {other}"),
                )),
            }
        };
        let timeout = duration(&mut top, "timeout")?;
        if timeout == Some(Duration::ZERO) {
            return Err(ctx.err("timeout", "must be positive"));
        }
        let retry_backoff = duration(&mut top, "retry_backoff")?.unwrap_or(Duration::from_secs(1));
        let retries = top.uint("retries")?.unwrap_or(0);
        if retries > 100 {
            return Err(ctx.err("retries", format!("at most 100, found {retries}")));
        }
        let max_concurrent = top.uint("max_concurrent")?.unwrap_or(1).max(1) as usize;
        let incremental = top.bool("incremental")?.unwrap_or(false);
        let force_workers = top.bool("force_workers")?.unwrap_or(false);
        let schedule = match top.table.remove("schedule") {
            None => None,
            Some(v) => {
                let mut s = Fields::new(&ctx, "schedule", v)?;
                let cron = s.req_str("cron")?;
                parse_cron(&cron).map_err(|m| ctx.err("schedule.cron", m))?;
                let catchup = match s.str("catchup")?.as_deref() {
                    None | Some("skip") => Catchup::Skip,
                    Some("once") => Catchup::Once,
                    Some(other) => {
                        return Err(ctx.err(
                            "schedule.catchup",
                            format!("expected \"once\" or \"skip\", found `{other}`"),
                        ))
                    }
                };
                s.finish(&["cron", "catchup"])?;
                Some(Schedule { cron, catchup })
            }
        };
        // Inputs.
        let mut inputs = BTreeMap::new();
        if let Some(v) = top.table.remove("inputs") {
            let table = match v {
                toml::Value::Table(t) => t,
                other => {
                    return Err(ctx.err(
                        "inputs",
                        format!("expected a table, found {}", other.type_str()),
                    ))
                }
            };
            for (name, v) in table {
                let at = format!("inputs.{name}");
                let input = parse_input(&ctx, &at, v, &base, options.data_root.as_deref())?;
                inputs.insert(name, input);
            }
        }
        // Steps.
        let raw_steps = top
            .array("steps")?
            .ok_or_else(|| ctx.err("steps", "missing: a job needs at least one [[steps]]"))?;
        if raw_steps.is_empty() {
            return Err(ctx.err("steps", "a job needs at least one step"));
        }
        let mut steps: Vec<Step> = Vec::new();
        for (i, v) in raw_steps.into_iter().enumerate() {
            let step = parse_step(&ctx, i, v, &inputs, &mut steps)?;
            steps.push(step);
        }
        let raw_outputs = top.array("outputs")?.unwrap_or_default();
        let outputs = outputs::parse_outputs(
            &ctx,
            raw_outputs,
            &outputs::Context {
                base: &base,
                steps: &steps,
                inputs: &inputs,
                spec_path,
                options,
            },
        )?;
        top.finish(TOP_FIELDS)?;
        if incremental {
            check_incremental(&ctx, &steps)?;
        }
        Ok(Spec {
            name,
            file: file.to_owned(),
            vars,
            inputs,
            steps,
            outputs,
            schedule,
            retries: retries as u32,
            retry_backoff,
            timeout,
            workers: workers as usize,
            force_workers,
            memory_budget,
            max_concurrent,
            incremental,
        })
    }

    /// The graphs incremental state is kept for: each graph step (a `load` step or an
    /// `@input` reference) with the store it reads and the algorithm steps run on it.
    pub fn incremental_graphs(&self) -> Vec<IncrementalGraph> {
        let mut out: Vec<IncrementalGraph> = Vec::new();
        for s in &self.steps {
            let StepKind::Algorithm {
                graph,
                algorithm,
                params,
            } = &s.kind
            else {
                continue;
            };
            let input = match graph.strip_prefix('@') {
                Some(i) => i.to_owned(),
                None => match self.step(graph).map(|g| &g.kind) {
                    Some(StepKind::Load { input }) => input.clone(),
                    _ => continue,
                },
            };
            let Some(Input::Store { path }) = self.inputs.get(&input) else {
                continue;
            };
            let want = morpheus_graph::incremental::Want {
                key: s.name.clone(),
                algorithm: *algorithm,
                params: params.clone(),
            };
            match out.iter_mut().find(|g| g.graph == *graph) {
                Some(g) => g.wants.push(want),
                None => out.push(IncrementalGraph {
                    graph: graph.clone(),
                    store: path.clone(),
                    wants: vec![want],
                }),
            }
        }
        out
    }

    /// A step by name.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Whether graphs are loaded with edge weights (some step runs SSSP).
    pub fn weighted(&self) -> bool {
        self.steps.iter().any(|s| {
            matches!(&s.kind, StepKind::Algorithm { algorithm, .. } if needs_weights(*algorithm))
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn parse_input(
    ctx: &Ctx<'_>,
    at: &str,
    v: toml::Value,
    base: &Path,
    data_root: Option<&Path>,
) -> Result<Input, SpecError> {
    let confined = |field: &str, raw: &str, path: &Path| -> Result<(), SpecError> {
        match data_root {
            Some(root) => {
                paths::check_input(root, raw, path).map_err(|m| ctx.err(format!("{at}.{field}"), m))
            }
            None => Ok(()),
        }
    };
    let mut f = Fields::new(ctx, at, v)?;
    if let Some(store) = f.str("store")? {
        f.finish(&["store"])?;
        let path = resolve(base, &store);
        confined("store", &store, &path)?;
        if !paths::is_store(&path) && !path.is_dir() {
            return Err(ctx.err(
                format!("{at}.store"),
                format!("{} is not a Morpheus store", path.display()),
            ));
        }
        return Ok(Input::Store { path });
    }
    let mut found: Option<(Format, String)> = None;
    for (key, format) in [
        ("csv", Format::Csv),
        ("parquet", Format::Parquet),
        ("arrow", Format::Arrow),
        ("jsonl", Format::JsonLines),
    ] {
        if let Some(p) = f.str(key)? {
            if found.is_some() {
                return Err(ctx.err(at, "give exactly one of store, csv, parquet, arrow, jsonl"));
            }
            found = Some((format, p));
        }
    }
    let (format, raw) = match (found, f.str("path")?) {
        (Some(x), None) => x,
        (None, Some(p)) => {
            let format = match f.str("format")? {
                Some(x) => x.parse().map_err(|m| ctx.err(format!("{at}.format"), m))?,
                None => Format::from_extension(Path::new(&p)).ok_or_else(|| {
                    ctx.err(
                        format!("{at}.format"),
                        "cannot tell the format from the extension; set format",
                    )
                })?,
            };
            (format, p)
        }
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                format!("{at}.path"),
                "give the file either as `path` or as `csv`/`parquet`/`arrow`/`jsonl`",
            ))
        }
        (None, None) => {
            return Err(ctx.err(
                at,
                "an input needs one of: store, csv, parquet, arrow, jsonl (or path + format)",
            ))
        }
    };
    let key = f.str("key")?;
    f.finish(&[
        "store", "csv", "parquet", "arrow", "jsonl", "path", "format", "key",
    ])?;
    let path = resolve(base, &raw);
    confined(format.name(), &raw, &path)?;
    let schema = match format {
        Format::Csv => morpheus_rdd::csv_schema(&path, &CsvOptions::default()),
        Format::Parquet => morpheus_rdd::parquet_schema(&path),
        Format::Arrow => morpheus_rdd::ipc_schema(&path),
        Format::JsonLines => crate::jsonl::schema(&path),
    }
    .map_err(|e| ctx.err(at, format!("cannot read {} dataset: {e}", format.name())))?;
    if let Some(k) = &key {
        if schema.index_of(k).is_none() {
            return Err(ctx.err(
                format!("{at}.key"),
                format!(
                    "no column `{k}` in {} (columns: {})",
                    path.display(),
                    schema.names().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(Input::Dataset {
        format,
        path,
        key,
        schema,
    })
}

fn known_steps(steps: &[Step]) -> String {
    if steps.is_empty() {
        "no earlier steps".to_owned()
    } else {
        format!(
            "earlier steps: {}",
            steps
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The default output column of an algorithm.
pub fn default_column(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::PageRank => "rank",
        Algorithm::Bfs => "depth",
        Algorithm::Sssp => "distance",
        Algorithm::Wcc | Algorithm::Scc => "component",
        Algorithm::Cdlp => "label",
        Algorithm::Lcc => "lcc",
        Algorithm::Triangles => "triangles",
        Algorithm::KCore => "core",
        Algorithm::Degree => "degree",
        Algorithm::Path => "path",
    }
}

/// The value type of an algorithm's output column.
pub fn value_type(algorithm: Algorithm) -> DataType {
    match algorithm {
        Algorithm::PageRank | Algorithm::Sssp | Algorithm::Lcc => DataType::Float64,
        _ => DataType::Int64,
    }
}
