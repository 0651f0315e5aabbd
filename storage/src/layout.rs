//! Which segment files make up a shard: the files found in its directory held against the
//! commit log's mark (the active log segment and its committed length) and the shard's
//! segment list ([`crate::seglist`]). One classification serves `open` (which fails on the
//! first problem) and `verify` (which lists them all).

use std::path::PathBuf;

use crate::commit::ShardMark;
use crate::error::Error;
use crate::seglist::{self, Listed};
use crate::segment::{segment_path, SegmentKind};

/// A segment file found in a shard directory.
#[derive(Debug)]
pub(crate) struct SegFile {
    pub id: u64,
    pub kind: SegmentKind,
    pub path: PathBuf,
    /// Length of the file on disk.
    pub file_len: u64,
    /// Committed length: the part of the file that belongs to the store.
    pub len: u64,
}

/// The shard's files, sorted out.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Segments of the committed state, by id, each with its committed length.
    pub committed: Vec<SegFile>,
    /// Log segments after the active one: started by a transaction that never committed.
    pub uncommitted: Vec<SegFile>,
    /// Files neither listed, nor the active segment, nor uncommitted: left by an
    /// interrupted compaction (an output not yet listed, or a victim not yet unlinked).
    pub leftovers: Vec<SegFile>,
    /// Committed data that is missing: listed segments absent or of another length, the
    /// active segment absent or shorter than committed. Each is [`Error::Corrupt`].
    pub problems: Vec<Error>,
    /// Bytes past the committed end of the active segment.
    pub active_tail: u64,
    /// Whether the list names uncommitted segments (a writable open rewrites it).
    pub stale_list: bool,
}

/// Sorts out `found` (id, kind, path, file length; sorted by id) for shard directory `dir`.
/// `mark` is the commit log's (`None` when it is unreadable: every file then counts as
/// committed at its length); `listed` the segment list (`None` for a version 1 store,
/// whose sealed segments are whatever is on disk).
pub(crate) fn classify(
    dir: &std::path::Path,
    mark: Option<ShardMark>,
    listed: Option<&[Listed]>,
    found: Vec<(u64, SegmentKind, PathBuf, u64)>,
) -> Layout {
    let mut out = Layout::default();
    let list_name = seglist::path(dir);
    let list_name = list_name.display();
    // Listed log segments from the active one on were sealed by a transaction whose commit
    // record never landed.
    let listed: Option<Vec<Listed>> = listed.map(|l| {
        l.iter()
            .copied()
            .filter(|l| {
                let uncommitted =
                    l.kind == SegmentKind::Log && mark.is_some_and(|m| l.id >= m.segment);
                out.stale_list |= uncommitted;
                !uncommitted
            })
            .collect()
    });
    if let Some(list) = &listed {
        for l in list {
            let on_disk = found.iter().find(|f| f.0 == l.id && f.1 == l.kind);
            match on_disk {
                None => out.problems.push(Error::corrupt(
                    segment_path(dir, l.id, l.kind),
                    0,
                    format!(
                        "segment is missing: {list_name} lists it with {} committed bytes",
                        l.len
                    ),
                )),
                Some(&(_, _, ref path, file_len)) if file_len != l.len => {
                    out.problems.push(Error::corrupt(
                        path,
                        file_len.min(l.len),
                        format!(
                            "segment is {file_len} bytes, {list_name} lists {} committed bytes",
                            l.len
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    let mut saw_active = false;
    for (id, kind, path, file_len) in found {
        let mut f = SegFile {
            id,
            kind,
            path,
            file_len,
            len: file_len,
        };
        let is_log = kind == SegmentKind::Log;
        let Some(m) = mark else {
            out.committed.push(f);
            continue;
        };
        if is_log && id == m.segment {
            saw_active = true;
            if file_len < m.offset {
                out.problems.push(Error::corrupt(
                    &f.path,
                    file_len,
                    format!(
                        "committed data missing: file is {file_len} bytes, commit log says {}",
                        m.offset
                    ),
                ));
                continue;
            }
            out.active_tail = file_len - m.offset;
            f.len = m.offset;
            out.committed.push(f);
        } else if is_log && id > m.segment {
            out.uncommitted.push(f);
        } else {
            match &listed {
                None => out.committed.push(f),
                Some(list) => match list.iter().find(|l| l.id == id && l.kind == kind) {
                    Some(l) => {
                        f.len = l.len.min(file_len);
                        if l.len == file_len {
                            out.committed.push(f);
                        }
                    }
                    None => out.leftovers.push(f),
                },
            }
        }
    }
    if let Some(m) = mark {
        if !saw_active {
            out.problems.push(Error::corrupt(
                segment_path(dir, m.segment, SegmentKind::Log),
                0,
                "active log segment named by the commit log is missing",
            ));
        }
    }
    out
}
