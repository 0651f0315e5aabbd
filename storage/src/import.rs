//! Importing graphs into a store: SNAP-style edge lists (optionally gzipped), CSV edge and
//! vertex files, LDBC Graphalytics graphs (by their `.properties` file) and Parquet edge
//! files. Every input is parsed completely before the store is written, and the whole
//! import is one transaction: a bad line fails it with `file:line: what was wrong` and
//! leaves the store exactly as it was.

mod csv;
mod edgelist;
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
use crate::store::{CommitInfo, Store, StoreOptions, WriteBatch};

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
#[derive(Clone, Debug, Default)]
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
}

impl Sink<'_> {
    pub(crate) fn edge(&mut self, src: u64, dst: u64, weight: f64) {
        if self.delete {
            self.batch.delete_edge(src, dst);
        } else {
            self.batch.add_edge(src, dst, weight);
        }
        self.edges += 1;
    }

    pub(crate) fn vertex(
        &mut self,
        id: u64,
        label: Option<&str>,
        props: Vec<(String, crate::Value)>,
    ) {
        if self.delete {
            self.batch.delete_vertex(id);
        } else {
            self.batch.put_vertex(id, label, props);
        }
        self.vertices += 1;
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
/// does not exist) as one transaction.
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
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    progress.phase("reading", Some(total));
    let started = Instant::now();
    let mut sink = Sink {
        batch: WriteBatch::new(),
        delete: options.delete,
        weighted: options.weighted,
        edges: 0,
        vertices: 0,
        bytes: 0,
        progress,
        directed: None,
    };
    for path in inputs {
        let format = options.format.unwrap_or_else(|| Format::detect(path));
        tracing::info!(file = %path.display(), %format, "reading input");
        sink.bytes += std::fs::metadata(path).at(path)?.len();
        match format {
            Format::EdgeList => edgelist::read_edges(
                path,
                &mut sink,
                edgelist::EdgeFields::plain(options.weighted),
            )?,
            Format::Csv => csv::read(path, &mut sink)?,
            Format::Ldbc => ldbc::read(path, &mut sink)?,
            Format::Parquet => parquet::read(path, &mut sink)?,
        }
    }
    if sink.weighted && !options.delete {
        sink.batch.set_weighted();
    }
    let parse_seconds = started.elapsed().as_secs_f64();
    let wants_directed = sink.directed.as_ref().map(|(d, _)| *d);
    let (mut store, created) = match existing {
        Some(store) => {
            if let Some((d, path)) = &sink.directed {
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
            (store, false)
        }
        None => {
            let mut create = options.create.clone();
            create.directed = wants_directed.unwrap_or(!options.undirected);
            if options.undirected && create.directed {
                return Err(Error::InvalidArgument(
                    "--undirected given for a directed LDBC graph".into(),
                ));
            }
            (Store::create(store_dir, &create)?, true)
        }
    };
    progress.phase("writing", None);
    let write_started = Instant::now();
    let (edges, vertices, bytes) = (sink.edges, sink.vertices, sink.bytes);
    let commit = store.commit(sink.batch)?;
    Ok(ImportReport {
        files: inputs.len() as u64,
        bytes,
        edges,
        vertices,
        commit,
        created,
        parse_seconds,
        write_seconds: write_started.elapsed().as_secs_f64(),
    })
}
