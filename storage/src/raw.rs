//! The one place with `unsafe`: memory-mapping segment files for sequential scans.
//! Byte interpretation stays in safe code (`record`, `cell`) over the mapped slice.
#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Deref;

/// A read-only view of a file's bytes: mapped when non-empty.
pub(crate) enum FileBytes {
    Mapped(memmap2::Mmap),
    Empty,
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Empty => &[],
        }
    }
}

/// Maps `file` read-only.
pub(crate) fn map(file: &File) -> std::io::Result<FileBytes> {
    if file.metadata()?.len() == 0 {
        return Ok(FileBytes::Empty);
    }
    // SAFETY: the map is read-only and private to this process. Segment files are only ever
    // appended to while the store's exclusive lock is held, and never truncated while a map
    // of them is alive: recovery truncates before mapping, and the writer's rollback path
    // runs only on files this process has not mapped (see `store::Store::rollback`). Appends
    // beyond the mapped length do not change mapped bytes.
    let map = unsafe { memmap2::Mmap::map(file)? };
    Ok(FileBytes::Mapped(map))
}
