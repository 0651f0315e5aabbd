//! Text files in and out: `text_file` splits a file into line-aligned byte ranges, one per
//! partition; `save_as_text_file` writes `part-NNNNN` files under a temporary directory that
//! is renamed when every worker has finished.

use std::fmt::Display;
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use morpheus_engine::{Context, Error, Result};

use crate::rdd::{Item, Rdd};

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
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

impl<T: Item + Display> Rdd<T> {
    /// Writes one `part-NNNNN` file per partition into directory `dir`, which must not
    /// exist. Files go to `dir.tmp-…` first; the directory is renamed into place only when
    /// every worker has written its partitions, so a failed job leaves no `dir`.
    pub fn save_as_text_file(&self, ctx: &Context<'_>, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        if dir.exists() {
            return Err(Error::Job(format!(
                "output {} already exists",
                dir.display()
            )));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        let written = (|| -> Result<()> {
            self.node.prepare(ctx)?;
            for p in 0..self.partitions() {
                if self.node.owner(p, ctx.peers()) != ctx.index() {
                    continue;
                }
                let path = tmp.join(format!("part-{p:05}"));
                let mut w =
                    std::io::BufWriter::new(fs::File::create(&path).map_err(io_err(&path))?);
                for x in self.node.compute(ctx, p)? {
                    writeln!(w, "{x}").map_err(io_err(&path))?;
                }
                w.into_inner()
                    .map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e.into_error(),
                    })?
                    .sync_all()
                    .map_err(io_err(&path))?;
            }
            Ok(())
        })();
        // Every worker reports; the rename happens only if all succeeded.
        let ok = ctx.all_gather("save", written.is_ok())?;
        written?;
        if ctx.index() == 0 {
            if ok.iter().all(|&b| b) {
                fs::rename(&tmp, dir).map_err(io_err(dir))?;
            } else {
                let _ = fs::remove_dir_all(&tmp);
            }
        }
        ctx.all_gather("save-done", ())?;
        if !ok.iter().all(|&b| b) {
            return Err(Error::Job(format!(
                "writing {} failed on another worker",
                dir.display()
            )));
        }
        Ok(())
    }
}
