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

/// Spill files in a private directory (`<spill dir>/morpheus-spill-<pid>-<n>`), removed
/// with everything in it when the store is dropped.
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
        let dir = parent.join(format!(
            "morpheus-spill-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&dir).map_err(|e| io(&dir, e))?;
        Ok(Self {
            dir,
            seq: AtomicU64::new(0),
            live: AtomicU64::new(0),
        })
    }

    /// The private directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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
