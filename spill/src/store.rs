//! Where spilled bytes go. [`FileSpillStore`] writes one framed, CRC-checked file per block
//! in a private directory under the configured spill directory and removes it on drop;
//! [`FailingSpillStore`] fails on demand, for fault tests.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"MPHSPILL";
const HEADER_BYTES: usize = 8 + 8 + 4;

/// A spilled block: where its bytes are and how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpillHandle {
    /// The file holding the block.
    pub path: PathBuf,
    /// Payload bytes.
    pub len: u64,
}

/// Storage for spilled blocks.
pub trait SpillStore: Send + Sync {
    /// Writes a block's encoded bytes.
    fn write(&self, name: &str, payload: &[u8]) -> Result<SpillHandle>;
    /// Reads them back, checking length and CRC.
    fn read(&self, handle: &SpillHandle) -> Result<Vec<u8>>;
    /// Deletes a spilled block.
    fn remove(&self, handle: &SpillHandle);
    /// Spill files currently present (for tests and metrics).
    fn files(&self) -> usize;
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn unframe(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    let corrupt = |reason: &str| Error::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    };
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
        return Err(corrupt("bad header"));
    }
    let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    if bytes.len() - HEADER_BYTES != len {
        return Err(corrupt("length does not match the header (truncated?)"));
    }
    if crc32fast::hash(&bytes[HEADER_BYTES..]) != crc {
        return Err(corrupt("CRC mismatch"));
    }
    bytes.drain(..HEADER_BYTES);
    Ok(bytes)
}

/// Spill files in a private directory (`<spill dir>/morpheus-spill-<pid>-<n>@<host>`),
/// removed with everything in it when the store is dropped.
///
/// A process killed outright (`kill -9`, OOM) never drops its store, so its directory
/// stays behind, and a later process can get the same pid. Creating a store therefore
/// skips names that exist, and (on Linux) first removes the directories that this host's
/// processes left and that no longer run, so the disk space of their spill files comes
/// back. The host name keeps machines sharing a spill directory (NFS) apart: pids of
/// another machine say nothing here.
#[derive(Debug)]
pub struct FileSpillStore {
    dir: PathBuf,
    seq: AtomicU64,
    live: AtomicU64,
}

impl FileSpillStore {
    /// Creates the private directory under `parent` (which is created if missing).
    pub fn new(parent: &Path) -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let io = |path: &Path, source| Error::Io {
            path: path.to_owned(),
            source,
        };
        fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        let host = host_name();
        if let Some(host) = &host {
            remove_dead_processes_dirs(parent, host);
        }
        let host = host.unwrap_or_else(|| "unknown".to_owned());
        let pid = std::process::id();
        let mut attempts = 0;
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = parent.join(format!("{SPILL_DIR_PREFIX}{pid}-{n}@{host}"));
            match fs::create_dir(&dir) {
                Ok(()) => {
                    return Ok(Self {
                        dir,
                        seq: AtomicU64::new(0),
                        live: AtomicU64::new(0),
                    })
                }
                // Left by an earlier process with this pid (still running, or not
                // removable): take the next name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 10_000 => {
                    attempts += 1;
                }
                Err(e) => return Err(io(&dir, e)),
            }
        }
    }

    /// The private directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

const SPILL_DIR_PREFIX: &str = "morpheus-spill-";

/// This machine's name, where `/proc` tells it (Linux); `None` elsewhere.
fn host_name() -> Option<String> {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Removes `parent/morpheus-spill-<pid>-<n>@<host>` directories of this host whose process
/// no longer runs (best effort; only where `/proc` tells). A process that is alive keeps
/// its directory, whatever program now has that pid.
fn remove_dead_processes_dirs(parent: &Path, host: &str) {
    let proc_fs = Path::new("/proc");
    if !proc_fs.join("self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let suffix = format!("@{host}");
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SPILL_DIR_PREFIX))
            .and_then(|n| n.strip_suffix(suffix.as_str()))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || proc_fs.join(pid.to_string()).exists() {
            continue;
        }
        match fs::remove_dir_all(e.path()) {
            Ok(()) => {
                tracing::debug!(dir = %e.path().display(), "removed a dead process's spill directory")
            }
            Err(err) => {
                tracing::debug!(dir = %e.path().display(), error = %err, "stale spill directory not removed")
            }
        }
    }
}

impl SpillStore for FileSpillStore {
    fn write(&self, name: &str, payload: &[u8]) -> Result<SpillHandle> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{name}-{n}.blk"));
        let framed = frame(payload);
        let res = fs::File::create(&path).and_then(|mut f| f.write_all(&framed));
        if let Err(source) = res {
            let _ = fs::remove_file(&path);
            return Err(Error::Io { path, source });
        }
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(SpillHandle {
            path,
            len: payload.len() as u64,
        })
    }

    fn read(&self, handle: &SpillHandle) -> Result<Vec<u8>> {
        let bytes = fs::read(&handle.path).map_err(|source| Error::Io {
            path: handle.path.clone(),
            source,
        })?;
        unframe(&handle.path, bytes)
    }

    fn remove(&self, handle: &SpillHandle) {
        if fs::remove_file(&handle.path).is_ok() {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn files(&self) -> usize {
        self.live.load(Ordering::Relaxed) as usize
    }
}

impl Drop for FileSpillStore {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove spill directory");
        }
    }
}

/// A store that works for `ok_writes` writes and then fails every write and read with an
/// I/O error, as a full disk would.
#[derive(Debug)]
pub struct FailingSpillStore {
    inner: FileSpillStore,
    ok_writes: u64,
    writes: AtomicU64,
}

impl FailingSpillStore {
    /// A failing store backed by files under `parent`.
    pub fn new(parent: &Path, ok_writes: u64) -> Result<Self> {
        Ok(Self {
            inner: FileSpillStore::new(parent)?,
            ok_writes,
            writes: AtomicU64::new(0),
        })
    }

    fn failed(&self) -> bool {
        self.writes.load(Ordering::Relaxed) >= self.ok_writes
    }
}

impl SpillStore for FailingSpillStore {
    fn write(&self, name: &str, payload: &[u8]) -> Result<SpillHandle> {
        if self.failed() {
            return Err(Error::Io {
                path: self.inner.dir().join(name),
                source: std::io::Error::other("injected failure: no space left on device"),
            });
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.write(name, payload)
    }

    fn read(&self, handle: &SpillHandle) -> Result<Vec<u8>> {
        if self.failed() {
            return Err(Error::Io {
                path: handle.path.clone(),
                source: std::io::Error::other("injected failure: read error"),
            });
        }
        self.inner.read(handle)
    }

    fn remove(&self, handle: &SpillHandle) {
        self.inner.remove(handle);
    }

    fn files(&self) -> usize {
        self.inner.files()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_left_by_earlier_processes_are_skipped_and_dead_ones_removed() {
        let parent = tempfile::tempdir().unwrap();
        // Directories this pid would take first (as after pid reuse), and one of a process
        // that cannot exist (pids stay below 2^22 on Linux), holding a spill file.
        let pid = std::process::id();
        let host = host_name().unwrap_or_else(|| "unknown".to_owned());
        for n in 0..64 {
            let name = format!("{SPILL_DIR_PREFIX}{pid}-{n}@{host}");
            fs::create_dir(parent.path().join(name)).unwrap();
        }
        let dead = parent
            .path()
            .join(format!("{SPILL_DIR_PREFIX}4000000000-0@{host}"));
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("d1-p0-0.blk"), b"left behind").unwrap();
        // Not ours to judge: another machine's directory, and a name that is no pid.
        let remote = parent
            .path()
            .join(format!("{SPILL_DIR_PREFIX}4000000000-0@elsewhere.example"));
        fs::create_dir(&remote).unwrap();
        let unrelated = parent
            .path()
            .join(format!("{SPILL_DIR_PREFIX}notapid@{host}"));
        fs::create_dir(&unrelated).unwrap();
        let stores: Vec<FileSpillStore> = (0..3)
            .map(|_| FileSpillStore::new(parent.path()).unwrap())
            .collect();
        for s in &stores {
            let h = s.write("b", b"x").unwrap();
            assert_eq!(s.read(&h).unwrap(), b"x");
        }
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists(), "a dead process's spill directory was kept");
        }
        assert!(unrelated.exists() && remote.exists());
        assert!(parent
            .path()
            .join(format!("{SPILL_DIR_PREFIX}{pid}-0@{host}"))
            .exists());
    }

    #[test]
    fn frames_detect_damage_and_directory_is_removed() {
        let parent = tempfile::tempdir().unwrap();
        let store = FileSpillStore::new(parent.path()).unwrap();
        let dir = store.dir().to_owned();
        let h = store.write("b", b"hello spill").unwrap();
        assert_eq!(store.read(&h).unwrap(), b"hello spill");
        let mut bytes = fs::read(&h.path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&h.path, &bytes).unwrap();
        assert!(matches!(store.read(&h), Err(Error::Corrupt { .. })));
        fs::write(&h.path, &bytes[..10]).unwrap();
        assert!(matches!(store.read(&h), Err(Error::Corrupt { .. })));
        assert_eq!(store.files(), 1);
        drop(store);
        assert!(!dir.exists());
    }
}
