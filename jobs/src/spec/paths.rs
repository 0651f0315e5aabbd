//! Where a job may read and write: outputs never land on an input, a store, the spec file,
//! the server's data root or state directory, or a file Morpheus did not write; with a
//! data root, inputs and outputs stay inside it once symlinks are resolved.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::clip;

/// The marker file inside a partitioned output directory: such a directory was written by
/// Morpheus, and a later run may replace it.
pub const OUTPUT_MARKER: &str = "_MORPHEUS_OUTPUT";

/// The ledger beside single-file outputs: one file name a line, each written by Morpheus.
pub const OUTPUT_LEDGER: &str = ".morpheus-outputs";

/// `path` with the symlinks of its longest existing prefix resolved and the rest appended
/// (`path` is already free of `.` and `..`, see `resolve`).
pub fn canonical(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Whether `dir` holds a Morpheus store (MANIFEST.json and COMMITS).
pub fn is_store(dir: &Path) -> bool {
    dir.join("MANIFEST.json").is_file() && dir.join("COMMITS").is_file()
}

/// Whether what is at `path` was written by Morpheus as an output: a directory with the
/// [`OUTPUT_MARKER`], or a file named in its directory's [`OUTPUT_LEDGER`].
pub fn written_by_morpheus(path: &Path) -> bool {
    if path.is_dir() {
        return path.join(OUTPUT_MARKER).is_file();
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let Ok(ledger) = std::fs::read_to_string(parent.join(OUTPUT_LEDGER)) else {
        return false;
    };
    let name = name.to_string_lossy();
    ledger.lines().any(|l| l == name)
}

/// Records that Morpheus writes the single-file output `path` (idempotent).
///
/// # Errors
/// I/O errors on the ledger.
pub fn record_output(path: &Path) -> std::io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let name = name.to_string_lossy();
    let ledger = parent.join(OUTPUT_LEDGER);
    if let Ok(text) = std::fs::read_to_string(&ledger) {
        if text.lines().any(|l| l == name) {
            return Ok(());
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&ledger)?;
    f.write_all(format!("{name}\n").as_bytes())
}

/// Whether `a` and `b` are the same path or one lies inside the other.
fn overlaps(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// What an output must not touch: a path and what it is (for messages).
#[derive(Default)]
pub struct Protected {
    items: Vec<(PathBuf, String)>,
}

impl Protected {
    /// Protects `path` (canonicalised), described as `what`.
    pub fn add(&mut self, path: &Path, what: impl Into<String>) {
        self.items.push((canonical(path), what.into()));
    }

    /// Why writing an output at `path` (already canonical) would destroy data, if it would.
    fn clash(&self, path: &Path) -> Option<String> {
        self.items
            .iter()
            .find(|(p, _)| overlaps(path, p))
            .map(|(p, what)| {
                let how = if p == path {
                    "is"
                } else if p.starts_with(path) {
                    "contains"
                } else {
                    "lies inside"
                };
                format!(
                    "{} {how} {what} ({}): writing there would destroy it",
                    path.display(),
                    p.display()
                )
            })
    }
}

/// Where a job is confined (the server).
pub struct Confine<'a> {
    /// Inputs and outputs lie inside it; outputs never equal it.
    pub data_root: &'a Path,
    /// Outputs never touch it, except inside the data root when that lies inside it.
    pub state_dir: Option<&'a Path>,
}

/// Checks that the input `raw` (resolved to `path`) lies inside the data root once
/// symlinks are resolved; for a directory, every entry in it too.
pub fn check_input(data_root: &Path, raw: &str, path: &Path) -> Result<(), String> {
    let root = canonical(data_root);
    let outside = |p: &Path| !canonical(p).starts_with(&root);
    let mut bad = outside(path);
    if !bad && path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            bad = entries.flatten().any(|e| outside(&e.path()));
        }
    }
    if bad {
        return Err(format!(
            "`{}` is outside the server's data root {} (symlinks resolved); inputs must lie \
             inside it",
            clip(raw),
            data_root.display()
        ));
    }
    Ok(())
}

/// Checks that an output at `path` (`raw` as written) destroys nothing: see the module
/// documentation.
pub fn check_output(
    raw: &str,
    path: &Path,
    confine: Option<&Confine<'_>>,
    protected: &Protected,
) -> Result<(), String> {
    let real = canonical(path);
    if let Some(c) = confine {
        let root = canonical(c.data_root);
        let lexical_escape = Path::new(raw)
            .components()
            .any(|x| x == Component::ParentDir);
        if lexical_escape || !real.starts_with(&root) || real == root {
            return Err(format!(
                "`{}` is outside the server's data root {} or is the root itself (symlinks \
                 resolved; use a path strictly inside it, without `..`)",
                clip(raw),
                c.data_root.display()
            ));
        }
        if let Some(state) = c.state_dir {
            let state = canonical(state);
            let inside_root_inside_state = root.starts_with(&state) && real.starts_with(&root);
            if overlaps(&real, &state) && !inside_root_inside_state {
                return Err(format!(
                    "{} overlaps the server's state directory {}",
                    real.display(),
                    state.display()
                ));
            }
        }
    }
    if let Some(why) = protected.clash(&real) {
        return Err(format!("{why}; pick another output path"));
    }
    if let Some(store) = real.ancestors().find(|a| is_store(a)) {
        return Err(format!(
            "{} {} the Morpheus store {}; pick another output path",
            real.display(),
            if store == real { "is" } else { "lies inside" },
            store.display()
        ));
    }
    if std::fs::symlink_metadata(path).is_ok() && !written_by_morpheus(&real) {
        return Err(format!(
            "{} exists and was not written by Morpheus as an output (no {} marker or {} \
             entry); move it away or pick another output path",
            path.display(),
            OUTPUT_MARKER,
            OUTPUT_LEDGER
        ));
    }
    Ok(())
}
