//! Text files in and out: `text_file` splits a file into line-aligned byte ranges, one per
//! partition; `save_as_text_file` writes `part-NNNNN` files under a temporary directory that
//! is renamed when every worker has finished. That output protocol
//! ([`Rdd::save_partitions`]) is shared by every `save_as_*` action.

use std::fmt::Display;
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use morpheus_engine::{Context, Error, Result};

use crate::rdd::{Item, Rdd};

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Lines of `path` whose first byte lies in `[start, end)`.
fn read_range(path: &Path, start: u64, end: u64) -> Result<Vec<String>> {
    let mut f = fs::File::open(path).map_err(io_err(path))?;
    let mut pos = start;
    if start > 0 {
        // Skip to just after the first newline at or after start - 1: the line that began
        // before `start` belongs to the previous partition.
        f.seek(SeekFrom::Start(start - 1)).map_err(io_err(path))?;
        let mut skip = Vec::new();
        let mut r = BufReader::new(&mut f);
        pos = start - 1 + r.read_until(b'\n', &mut skip).map_err(io_err(path))? as u64;
        f.seek(SeekFrom::Start(pos)).map_err(io_err(path))?;
    }
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    while pos < end {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        pos += n as u64;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        lines.push(String::from_utf8_lossy(&buf).into_owned());
    }
    Ok(lines)
}

impl Rdd<String> {
    /// The lines of a text file, in `partitions` line-aligned byte ranges (0: the default).
    pub fn text_file(
        ctx: &Context<'_>,
        path: impl Into<PathBuf>,
        partitions: usize,
    ) -> Result<Rdd<String>> {
        let path = path.into();
        let len = fs::metadata(&path).map_err(io_err(&path))?.len();
        // Reject unreadable files up front, on every worker alike.
        fs::File::open(&path)
            .and_then(|mut f| f.read(&mut [0u8; 1]))
            .map_err(io_err(&path))?;
        let n = if partitions == 0 {
            ctx.config().default_partitions()
        } else {
            partitions
        };
        Ok(Rdd::from_fn(n, move |p| {
            let (start, end) = (p as u64 * len / n as u64, (p as u64 + 1) * len / n as u64);
            read_range(&path, start, end)
        }))
    }
}

/// Creates `path` for writing.
pub(crate) fn create_file(path: &Path) -> Result<fs::File> {
    fs::File::create(path).map_err(io_err(path))
}

/// Flushes `w` and fsyncs the file under it.
pub(crate) fn finish_file(w: std::io::BufWriter<fs::File>, path: &Path) -> Result<()> {
    w.into_inner()
        .map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(io_err(path))
}

/// Makes a finished temporary output directory durable and moves it into place.
fn publish(tmp: &Path, dir: &Path) -> Result<()> {
    // The directory's entries (every worker's part files) reach the disk before the rename,
    // and the rename before we report success.
    fs::File::open(tmp)
        .and_then(|d| d.sync_all())
        .map_err(io_err(tmp))?;
    fs::rename(tmp, dir).map_err(io_err(dir))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io_err(parent))
}

impl<T: Item> Rdd<T> {
    /// The output protocol of every `save_as_*` action. `dir` must not exist. Every worker
    /// writes its partitions as `part-NNNNN{extension}` with `write(path, partition,
    /// elements)` (which must fsync the file) into one temporary directory `.NAME.tmp-…`
    /// beside `dir`; when all have succeeded, worker 0 fsyncs it and renames it to `dir`,
    /// otherwise it removes it. So a failed job leaves no `dir` and no temporary directory,
    /// and every worker returns an error.
    pub(crate) fn save_partitions(
        &self,
        ctx: &Context<'_>,
        dir: &Path,
        extension: &str,
        write: impl Fn(&Path, usize, Vec<T>) -> Result<()>,
    ) -> Result<()> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Job(format!("output path {} has no name", dir.display())))?;
        // Agree on one temporary name (processes differ in pid) and on the output not
        // existing yet, so every worker takes the same branch.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let candidate = format!(".{name}.tmp-{}-{nanos}", std::process::id());
        let begin = ctx.all_gather("save-begin", (dir.exists(), candidate))?;
        if begin.iter().any(|(exists, _)| *exists) {
            return Err(Error::Job(format!(
                "output {} already exists",
                dir.display()
            )));
        }
        let tmp = dir.with_file_name(&begin[0].1);
        // The stages the output depends on are collective: a failure there returns at once
        // (the other workers stop at their next collective step).
        self.node.prepare(ctx)?;
        let written = (|| -> Result<()> {
            fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
            for p in 0..self.partitions() {
                if self.node.owner(p, ctx.peers()) != ctx.index() {
                    continue;
                }
                ctx.check()?;
                let path = tmp.join(format!("part-{p:05}{extension}"));
                write(&path, p, self.node.compute(ctx, p)?)?;
            }
            Ok(())
        })();
        // Every worker reports; the rename happens only if all succeeded.
        let all_ok = ctx
            .all_gather("save", written.is_ok())?
            .into_iter()
            .all(|ok| ok);
        let mut published = Ok(());
        if ctx.index() == 0 {
            if all_ok {
                published = publish(&tmp, dir);
            }
            if !all_ok || published.is_err() {
                let _ = fs::remove_dir_all(&tmp);
            }
        }
        let done = ctx.all_gather(
            "save-done",
            published.as_ref().err().map(ToString::to_string),
        )?;
        written?;
        if !all_ok {
            return Err(Error::Job(format!(
                "writing {} failed on another worker",
                dir.display()
            )));
        }
        published?;
        match &done[0] {
            Some(e) => Err(Error::Job(format!(
                "finishing {} failed on worker 0: {e}",
                dir.display()
            ))),
            None => Ok(()),
        }
    }
}

impl<T: Item + Display> Rdd<T> {
    /// Writes one `part-NNNNN` file per partition (one element per line) into directory
    /// `dir`, which must not exist. Files go to a temporary directory first, which is
    /// renamed to `dir` only when every worker has written its partitions, so a failed job
    /// leaves no `dir`.
    pub fn save_as_text_file(&self, ctx: &Context<'_>, dir: impl AsRef<Path>) -> Result<()> {
        self.save_partitions(ctx, dir.as_ref(), "", |path, _, data| {
            let mut w = std::io::BufWriter::new(create_file(path)?);
            for x in data {
                writeln!(w, "{x}").map_err(io_err(path))?;
            }
            finish_file(w, path)
        })
    }
}
