//! Writing outputs: staged under hidden names beside the output (`.NAME.tmp-PID`), marked
//! as Morpheus's (a marker in partitioned directories, a ledger entry for single files) and
//! renamed into place; stale staging entries of killed runs are collected first.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::{Batch, Item, Rdd, Row, Schema};

use super::Written;
use crate::spec::paths::{record_output, OUTPUT_MARKER};
use crate::spec::{Format, Output};

/// The kinds of staging entries: the new output, a single file on its way, the old output
/// renamed aside.
const STAGES: &[&str] = &["tmp", "file", "old"];

/// A hidden sibling of `path` for staging.
fn staging(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Removes the staging entries beside `path` (`.NAME.tmp-PID`, `.file-PID`, `.old-PID`)
/// left by runs that were killed: those whose PID no longer runs. Entries of live
/// processes (a concurrent run) are kept.
fn collect_stale(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let entry_name = entry_name.to_string_lossy();
        let Some(rest) = entry_name.strip_prefix(&prefix) else {
            continue;
        };
        let Some((what, pid)) = rest.split_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if !STAGES.contains(&what) || pid == std::process::id() || process_runs(pid) {
            continue;
        }
        let p = entry.path();
        let removed = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match removed {
            Ok(()) => tracing::info!("removed {} left by a killed run (pid {pid})", p.display()),
            Err(e) => tracing::warn!("cannot remove {}: {e}", p.display()),
        }
    }
}

/// Whether process `pid` runs (Linux: `/proc/PID` exists; elsewhere assumed running, so
/// nothing is removed).
fn process_runs(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    !proc_root.join("self").exists() || proc_root.join(pid.to_string()).exists()
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Moves `from` to `to`, replacing what is there only once `from` is complete: a file is
/// renamed over a file atomically; anything else is renamed aside first and removed after.
fn replace(from: &Path, to: &Path) -> Result<()> {
    if to.is_dir() || (to.exists() && from.is_dir()) {
        let old = staging(to, "old");
        std::fs::rename(to, &old).map_err(io_err(to))?;
        std::fs::rename(from, to).map_err(io_err(to))?;
        if old.is_dir() {
            let _ = std::fs::remove_dir_all(&old);
        } else {
            let _ = std::fs::remove_file(&old);
        }
        Ok(())
    } else {
        std::fs::rename(from, to).map_err(io_err(to))
    }
}

/// What outputs are written from: rows, or record batches.
pub(super) trait Part: Item {
    /// Rows in `items`.
    fn count(items: &[Self]) -> u64;
    /// The first `n` rows of `items`.
    fn preview(items: &[Self], n: usize) -> Result<Vec<Row>>;
    /// Writes `rdd` as a directory of part files.
    fn save(rdd: &Rdd<Self>, ctx: &Context<'_>, s: &Schema, f: Format, dir: &Path) -> Result<()>;
}

impl Part for Row {
    fn count(items: &[Row]) -> u64 {
        items.len() as u64
    }

    fn preview(items: &[Row], n: usize) -> Result<Vec<Row>> {
        Ok(items.iter().take(n).cloned().collect())
    }

    fn save(rdd: &Rdd<Row>, ctx: &Context<'_>, s: &Schema, f: Format, dir: &Path) -> Result<()> {
        match f {
            Format::Parquet => rdd.save_as_parquet(ctx, dir, s),
            Format::Csv => rdd.save_as_csv(ctx, dir, s),
            Format::Arrow => rdd.save_as_ipc(ctx, dir, s),
            Format::JsonLines => Err(Error::Job("jsonl is not an output format".into())),
        }
    }
}

impl Part for Batch {
    fn count(items: &[Batch]) -> u64 {
        items.iter().map(|b| b.len() as u64).sum()
    }

    fn preview(items: &[Batch], n: usize) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for b in items {
            if out.len() >= n {
                break;
            }
            out.extend(b.rows(0, b.len().min(n - out.len()))?);
        }
        Ok(out)
    }

    fn save(rdd: &Rdd<Batch>, ctx: &Context<'_>, s: &Schema, f: Format, dir: &Path) -> Result<()> {
        match f {
            Format::Parquet => rdd.save_batches_as_parquet(ctx, dir, s, Default::default()),
            Format::Arrow => rdd.save_batches_as_ipc(ctx, dir, s),
            _ => Row::save(&rdd.rows(), ctx, s, f, dir),
        }
    }
}

/// Writes `rows` to `o.path`: one file (gathered on worker 0) or, when partitioned, a
/// directory of part files written by every worker. Staged under a hidden name and renamed
/// into place when complete, so a failure leaves the previous output untouched.
pub(super) fn write_table<T: Part>(
    ctx: &Context<'_>,
    rows: &Rdd<T>,
    schema: &Schema,
    o: &Output,
    step: &str,
) -> Result<Written> {
    if let Some(parent) = o.path.parent() {
        if ctx.index() == 0 {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
    }
    ctx.all_gather("output-dir", ())?;
    let stage = staging(&o.path, "tmp");
    if ctx.index() == 0 {
        collect_stale(&o.path);
        if stage.exists() {
            let _ = std::fs::remove_dir_all(&stage);
        }
    }
    ctx.all_gather("output-stage", ())?;
    let columns: Vec<String> = schema.names().map(str::to_owned).collect();
    let render = |rows: &[Row]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(ToString::to_string).collect())
            .collect()
    };
    let result = (|| -> Result<(u64, Vec<Vec<String>>)> {
        if o.partitioned {
            // Count rows and keep a preview on the way to the files: one pass, no cache.
            let seen = Rc::new(std::cell::Cell::new(0u64));
            let first: Rc<std::cell::RefCell<Vec<Row>>> = Rc::default();
            let (s2, f2) = (Rc::clone(&seen), Rc::clone(&first));
            let counted = rows.try_map_partitions_with_index(move |_, v: Vec<T>| {
                s2.set(s2.get() + T::count(&v));
                let mut f = f2.borrow_mut();
                let room = 20usize.saturating_sub(f.len());
                f.extend(T::preview(&v, room)?);
                Ok(v)
            });
            T::save(&counted, ctx, schema, o.format, &stage)?;
            let n: u64 = ctx.all_gather("output-rows", seen.get())?.iter().sum();
            let preview: Vec<Row> = ctx
                .all_gather("output-preview", first.take())?
                .into_iter()
                .flatten()
                .take(20)
                .collect();
            if ctx.index() == 0 {
                let marker = stage.join(OUTPUT_MARKER);
                std::fs::write(&marker, b"written by Morpheus as a job output\n")
                    .map_err(io_err(&marker))?;
                replace(&stage, &o.path)?;
            }
            Ok((n, render(&preview)))
        } else {
            // Gathered on worker 0 alone (in partition order), which writes the one file;
            // the one-partition collection below is computed by its owner, worker 0.
            let mut outgoing: Vec<Vec<(usize, Vec<T>)>> = vec![Vec::new(); ctx.peers()];
            outgoing[0] = rows.local_partitions(ctx)?;
            let mut parts = ctx.exchange("output-gather", outgoing)?;
            parts.sort_by_key(|(p, _)| *p);
            let all: Vec<T> = parts.into_iter().flat_map(|(_, v)| v).collect();
            let n = T::count(&all);
            let preview = render(&T::preview(&all, 20)?);
            T::save(
                &Rdd::parallelize(ctx, all, 1),
                ctx,
                schema,
                o.format,
                &stage,
            )?;
            if ctx.index() == 0 {
                let ext = match o.format {
                    Format::Parquet => "parquet",
                    Format::Csv => "csv",
                    _ => "arrow",
                };
                let part = stage.join(format!("part-00000.{ext}"));
                let file = staging(&o.path, "file");
                std::fs::rename(&part, &file).map_err(io_err(&part))?;
                let _ = std::fs::remove_dir_all(&stage);
                // Recorded before the rename: a crash in between leaves an entry for a
                // file that is not there, never our output unrecorded.
                record_output(&o.path).map_err(io_err(&o.path))?;
                replace(&file, &o.path)?;
            }
            Ok((n, preview))
        }
    })();
    ctx.all_gather("output-done", ())?;
    match result {
        Ok((rows, preview)) => Ok(Written {
            step: step.to_owned(),
            path: o.path.clone(),
            rows,
            columns,
            preview,
        }),
        Err(e) => {
            if ctx.index() == 0 {
                let _ = std::fs::remove_dir_all(&stage);
            }
            Err(e)
        }
    }
}
