//! Importing graphs into a store: SNAP-style edge lists (optionally gzipped), CSV edge and
//! vertex files, LDBC Graphalytics graphs (by their `.properties` file) and Parquet edge
//! files. Every input is parsed completely before the store is written, and the whole
//! import is one transaction: a bad line fails it with `file:line: what was wrong` and
//! leaves the store exactly as it was.

mod csv;
mod edgelist;
pub(crate) mod external;
pub mod ldbc;
mod parquet;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::manifest::MANIFEST_FILE;
use crate::raw;
use crate::store::{BulkRuns, CommitInfo, Store, StoreOptions, WriteBatch, IMPORT_TMP};
use external::{Spool, StoreSlot};

/// Default import memory budget: 1 GiB.
pub const DEFAULT_IMPORT_BUDGET: u64 = 1 << 30;

/// The input name that reads standard input.
pub const STDIN: &str = "-";

/// Whether `path` names standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// `bytes` (a token or field of an input file) as quoted in an error message: at most 200
/// bytes of it, then `… (N bytes)`, so a huge malformed field never becomes a huge message.
/// The engine's `clip` does the same above this layer; storage is a leaf and cannot use it.
pub(crate) fn quote(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= MAX {
        return text.into_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], bytes.len())
}

/// Input file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Whitespace-separated `src dst [weight]` lines, `#`/`%` comments (SNAP).
    EdgeList,
    /// CSV with a header: `src,dst[,weight][,label][,prop…]` or `id[,label][,prop…]`.
    Csv,
    /// LDBC Graphalytics graph, given by its `.properties` file.
    Ldbc,
    /// Parquet with columns `src`, `dst` and optionally `weight`.
    Parquet,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "edgelist" => Ok(Format::EdgeList),
            "csv" => Ok(Format::Csv),
            "ldbc" => Ok(Format::Ldbc),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!(
                "unknown format `{s}` (expected edgelist, csv, ldbc or parquet)"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::EdgeList => "edgelist",
            Format::Csv => "csv",
            Format::Ldbc => "ldbc",
            Format::Parquet => "parquet",
        })
    }
}

impl Format {
    /// Guesses the format from a file name: `.properties` → LDBC, `.parquet` → Parquet,
    /// `.csv[.gz]` → CSV, anything else → edge list.
    pub fn detect(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".properties") {
            Format::Ldbc
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Format::Parquet
        } else if name.ends_with(".csv") {
            Format::Csv
        } else {
            Format::EdgeList
        }
    }
}

/// Knobs for [`import`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Input format; `None` detects it from each file name.
    pub format: Option<Format>,
    /// Edge lists carry a weight in their third column.
    pub weighted: bool,
    /// Store each edge in both directions (the store must be, or is created, undirected).
    pub undirected: bool,
    /// Remove the listed edges (or vertices) instead of adding them.
    pub delete: bool,
    /// Options used when the store does not exist yet.
    pub create: StoreOptions,
    /// Memory for parsed edges: past it they are sorted and spilled as runs under the
    /// store directory, then merged into the store (an external sort). Default: 1 GiB.
    pub memory_budget: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: None,
            weighted: false,
            undirected: false,
            delete: false,
            create: StoreOptions::default(),
            memory_budget: DEFAULT_IMPORT_BUDGET,
        }
    }
}

/// Progress reporting hooks (the CLI draws a progress bar with them).
pub trait Progress: Sync {
    /// A new phase begins; `total` is in bytes when known.
    fn phase(&self, name: &str, total: Option<u64>);
    /// `n` more bytes (or items) of the current phase are done.
    fn advance(&self, n: u64);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Input files read.
    pub files: u64,
    /// Input bytes read.
    pub bytes: u64,
    /// Edge lines or rows read.
    pub edges: u64,
    /// Vertex lines or rows read.
    pub vertices: u64,
    /// The commit.
    pub commit: CommitInfo,
    /// Whether the store was created by this import.
    pub created: bool,
    /// Seconds spent parsing.
    pub parse_seconds: f64,
    /// Seconds spent writing and committing.
    pub write_seconds: f64,
    /// Sorted runs spilled (0: the import was committed from memory).
    pub runs: u32,
    /// Bytes of run files written.
    pub run_bytes: u64,
}

/// Shared state of one import while inputs are parsed.
pub(crate) struct Sink<'a> {
    pub batch: WriteBatch,
    pub delete: bool,
    pub weighted: bool,
    pub edges: u64,
    pub vertices: u64,
    pub bytes: u64,
    pub progress: &'a dyn Progress,
    /// Directedness demanded by an input (LDBC), with the file that demanded it.
    pub directed: Option<(bool, PathBuf)>,
    /// Plain edge additions and property-less vertices, spilled as sorted runs when the
    /// budget fills (`None` for deletions, which stay in the batch).
    spool: Option<Spool>,
    /// The store, created at the first spill when it does not exist.
    slot: StoreSlot,
    /// Bytes of run files written.
    run_bytes: u64,
    /// `--undirected` was given.
    undirected: bool,
}

impl Sink<'_> {
    pub(crate) fn edge(&mut self, src: u64, dst: u64, weight: f64) -> Result<()> {
        self.edges += 1;
        if self.delete {
            self.batch.delete_edge(src, dst);
            return Ok(());
        }
        match &mut self.spool {
            Some(spool) => {
                spool.edges.push((src, dst, weight));
                self.spill_if_full()
            }
            None => {
                self.batch.add_edge(src, dst, weight);
                Ok(())
            }
        }
    }

    /// Adds (or, for deletions, removes) parsed `(src, dst, weight)` edges.
    pub(crate) fn add_edges(&mut self, part: &[(u64, u64, f64)]) -> Result<()> {
        self.edges += part.len() as u64;
        if self.delete {
            self.batch
                .delete_edges(part.iter().map(|&(s, d, _)| (s, d)));
            return Ok(());
        }
        if self.spool.is_none() {
            self.batch.add_edges(part);
            return Ok(());
        }
        let mut rest = part;
        while !rest.is_empty() {
            let mirror = self.mirror();
            let spool = self.spool.as_mut().expect("checked");
            let (now, later) = rest.split_at(spool.room(mirror).min(rest.len()));
            spool.edges.extend_from_slice(now);
            self.spill_if_full()?;
            rest = later;
        }
        Ok(())
    }

    /// Whether edges are stored in both directions (as far as is known yet).
    fn mirror(&self) -> bool {
        !self
            .slot
            .store
            .as_ref()
            .map_or(self.wants_directed(), |s| s.manifest().directed)
    }

    pub(crate) fn vertex(
        &mut self,
        id: u64,
        label: Option<&str>,
        props: Vec<(String, crate::Value)>,
    ) -> Result<()> {
        self.vertices += 1;
        if self.delete {
            self.batch.delete_vertex(id);
            return Ok(());
        }
        match &mut self.spool {
            Some(spool) if label.is_none() && props.is_empty() => {
                spool.verts.push(id);
                self.spill_if_full()
            }
            _ => {
                self.batch.put_vertex(id, label, props);
                Ok(())
            }
        }
    }

    /// The directedness of a store this import creates.
    fn wants_directed(&self) -> bool {
        self.directed.as_ref().map_or(!self.undirected, |(d, _)| *d)
    }

    fn spill_if_full(&mut self) -> Result<()> {
        let mirror = self.mirror();
        let Some(spool) = &mut self.spool else {
            return Ok(());
        };
        if spool.full(mirror) {
            self.spill()?;
        }
        Ok(())
    }

    /// Spills the spool as a run, creating the store first when there is none.
    fn spill(&mut self) -> Result<()> {
        let directed = self.wants_directed();
        let store = self.slot.get(directed)?;
        let spool = self.spool.as_mut().expect("spill without a spool");
        self.run_bytes += spool.spill(store)?;
        Ok(())
    }

    fn require_directed(&mut self, directed: bool, path: &Path) -> Result<()> {
        match &self.directed {
            Some((d, other)) if *d != directed => Err(Error::input(
                path,
                None,
                format!(
                    "graph is {} but {} is {}",
                    dir_word(directed),
                    other.display(),
                    dir_word(*d)
                ),
            )),
            _ => {
                self.directed = Some((directed, path.to_owned()));
                Ok(())
            }
        }
    }
}

fn dir_word(directed: bool) -> &'static str {
    if directed {
        "directed"
    } else {
        "undirected"
    }
}

/// The bytes of an input file: mapped, or decompressed when it ends in `.gz`.
pub(crate) enum InputBytes {
    Mapped(raw::FileBytes),
    Owned(Vec<u8>),
}

impl std::ops::Deref for InputBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            InputBytes::Mapped(m) => m,
            InputBytes::Owned(v) => v,
        }
    }
}

pub(crate) fn is_gz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Counts bytes read from the underlying (compressed) file for progress.
pub(crate) struct Counted<'a, R> {
    pub inner: R,
    pub progress: &'a dyn Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// A stream over an input: standard input for `-`, decompressed when it ends in `.gz`;
/// bytes read are reported to `progress`.
pub(crate) fn open_stream<'a>(
    path: &Path,
    progress: &'a dyn Progress,
) -> Result<Box<dyn Read + 'a>> {
    let inner: Box<dyn Read + Send> = if is_stdin(path) {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            File::open(path).at(path)?,
        ))
    };
    let counted = Counted { inner, progress };
    Ok(if is_gz(path) {
        Box::new(flate2::read::MultiGzDecoder::new(counted))
    } else {
        Box::new(counted)
    })
}

pub(crate) fn read_input(path: &Path, progress: &dyn Progress) -> Result<InputBytes> {
    let file = File::open(path).at(path)?;
    if is_gz(path) {
        let mut out = Vec::new();
        let counted = Counted {
            inner: std::io::BufReader::with_capacity(1 << 20, file),
            progress,
        };
        flate2::read::MultiGzDecoder::new(counted)
            .read_to_end(&mut out)
            .map_err(|e| Error::input(path, None, format!("cannot decompress: {e}")))?;
        Ok(InputBytes::Owned(out))
    } else {
        let bytes = raw::map(&file).at(path)?;
        progress.advance(bytes.len() as u64);
        Ok(InputBytes::Mapped(bytes))
    }
}

/// Imports `inputs` into the store at `store_dir` (created with `options.create` when it
/// does not exist) as one transaction. `-` reads standard input. Parsed edges past
/// `options.memory_budget` are sorted and spilled as runs under the store directory, then
/// merged into the store; a failed import leaves the store at its last commit, removes its
/// runs, and removes the store when it created it.
pub fn import(
    store_dir: &Path,
    inputs: &[PathBuf],
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    if inputs.is_empty() {
        return Err(Error::InvalidArgument("no input files given".into()));
    }
    options.create.validate()?;
    if options.memory_budget < external::MIN_BUDGET {
        return Err(Error::InvalidArgument(format!(
            "import memory budget {} B is below the minimum of 1 MiB",
            options.memory_budget
        )));
    }
    if inputs.iter().filter(|p| is_stdin(p)).count() > 1 {
        return Err(Error::InvalidArgument(
            "standard input (`-`) is given more than once".into(),
        ));
    }
    // Open an existing store first: it holds the write lock for the whole import.
    let existing = if store_dir.join(MANIFEST_FILE).exists() {
        Some(Store::open(store_dir)?)
    } else {
        None
    };
    if let Some(store) = &existing {
        if options.undirected && store.manifest().directed {
            return Err(Error::InvalidArgument(format!(
                "--undirected given, but store {} is directed",
                store_dir.display()
            )));
        }
    }
    let total: u64 = inputs
        .iter()
        .filter(|p| !is_stdin(p))
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let piped = inputs.iter().any(|p| is_stdin(p));
    progress.phase("reading", (!piped).then_some(total));
    let mut sink = Sink {
        batch: WriteBatch::new(),
        delete: options.delete,
        weighted: options.weighted,
        edges: 0,
        vertices: 0,
        bytes: 0,
        progress,
        directed: None,
        spool: (!options.delete).then(|| Spool::new(options.memory_budget)),
        slot: StoreSlot {
            dir: store_dir.to_owned(),
            store: existing,
            created: false,
            dir_existed: store_dir.exists(),
            create: options.create.clone(),
        },
        run_bytes: 0,
        undirected: options.undirected,
    };
    match import_into(&mut sink, inputs, options) {
        Ok(report) => Ok(report),
        Err(e) => {
            sink.slot.clean_up_failure();
            Err(e)
        }
    }
}

fn import_into(
    sink: &mut Sink<'_>,
    inputs: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportReport> {
    let started = Instant::now();
    for path in inputs {
        read_one(sink, path, options)?;
    }
    let parse_seconds = started.elapsed().as_secs_f64();
    let wants_directed = sink.wants_directed();
    if let (Some(store), Some((d, path))) = (&sink.slot.store, &sink.directed) {
        if *d != store.manifest().directed {
            return Err(Error::input(
                path,
                None,
                format!(
                    "graph is {} but the store is {}",
                    dir_word(*d),
                    dir_word(store.manifest().directed)
                ),
            ));
        }
    }
    if sink.slot.store.is_none() && options.undirected && wants_directed {
        return Err(Error::InvalidArgument(
            "--undirected given for a directed LDBC graph".into(),
        ));
    }
    // Small imports commit from memory; larger ones spill what is left and merge the runs.
    let mirror = sink.mirror();
    let external = match sink.spool.take() {
        Some(spool) if !spool.fits_in_memory(mirror) => {
            if !sink.batch.is_empty() {
                return Err(Error::InvalidArgument(
                    "labelled edges or vertex labels and properties cannot be imported \
                     together with more edges than --memory-budget holds; raise the budget or \
                     import them separately"
                        .into(),
                ));
            }
            let left = !spool.is_empty();
            sink.spool = Some(spool);
            if left {
                sink.spill()?;
            }
            sink.spool.take().map(|s| s.runs)
        }
        Some(spool) => {
            sink.batch.add_edges(&spool.edges);
            for v in spool.verts {
                sink.batch.put_vertex(v, None, Vec::new());
            }
            None
        }
        None => None,
    };
    if sink.weighted && !options.delete {
        sink.batch.set_weighted();
    }
    sink.progress.phase("writing", None);
    let write_started = Instant::now();
    let store = sink.slot.get(wants_directed)?;
    let batch = std::mem::take(&mut sink.batch);
    let commit = match external {
        Some(runs) => {
            let tmp = store.dir().join(IMPORT_TMP);
            let runs = external::reduce_runs(&tmp, runs, store.shard_count())?;
            let runs = BulkRuns {
                tmp,
                runs,
                weighted: sink.weighted,
            };
            let commit = store.commit_runs(&runs)?;
            external::remove_tmp(store.dir());
            commit
        }
        None => store.commit(batch)?,
    };
    Ok(ImportReport {
        files: inputs.len() as u64,
        bytes: sink.bytes,
        edges: sink.edges,
        vertices: sink.vertices,
        commit,
        created: sink.slot.created,
        parse_seconds,
        write_seconds: write_started.elapsed().as_secs_f64(),
        runs: external.unwrap_or(0),
        run_bytes: sink.run_bytes,
    })
}

/// Parses one input into the sink.
fn read_one(sink: &mut Sink<'_>, path: &Path, options: &ImportOptions) -> Result<()> {
    let stdin = is_stdin(path);
    let format = match options.format {
        Some(f) => f,
        None if stdin => Format::EdgeList,
        None => Format::detect(path),
    };
    tracing::info!(file = %path.display(), %format, "reading input");
    if stdin && !matches!(format, Format::EdgeList | Format::Csv) {
        return Err(Error::InvalidArgument(format!(
            "standard input (`-`) can be read as an edge list or CSV, not {format}"
        )));
    }
    if !stdin {
        sink.bytes += std::fs::metadata(path).at(path)?.len();
    }
    match format {
        Format::EdgeList => {
            edgelist::read_edges(path, sink, edgelist::EdgeFields::plain(options.weighted))
        }
        Format::Csv => csv::read(path, sink),
        Format::Ldbc => ldbc::read(path, sink),
        Format::Parquet => parquet::read(path, sink),
    }
}
