//! `verify`: a read-only, exhaustive check of a store. Unlike `open`, it does not stop at the
//! first problem: it lists every one it finds (file and offset), then checks the logical
//! structure (edge chains complete, every edge endpoint a live vertex).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::cell::{EdgeBlock, VertexData};
use crate::checkpoint::{self, Checkpoint};
use crate::commit::{self, ShardMark};
use crate::error::{Error, Result};
use crate::layout::{classify, Layout};
use crate::manifest::Manifest;
use crate::raw;
use crate::record::{CellKey, CellKind, RecordKind};
use crate::seglist;
use crate::segment::{check_header, parse_segment_name, RecordScan, ScanItem, SegmentKind};
use crate::shard::{record_counts, shard_dir, Entry, Loc};

/// One problem found by [`verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file concerned.
    pub path: PathBuf,
    /// Byte offset, when the problem has one.
    pub offset: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{}: offset {o}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    /// Everything wrong; empty for a clean store.
    pub problems: Vec<Problem>,
    /// What is harmless to the store's contents but worth knowing: leftovers of an
    /// interrupted compaction, damaged edge-log frames (incremental runs over the
    /// transactions they cover fall back to comparing cells).
    pub warnings: Vec<Problem>,
    /// Segment files checked.
    pub segments: u64,
    /// Records checked.
    pub records: u64,
    /// Bytes of an interrupted transaction that the next writable open will discard.
    pub uncommitted_bytes: u64,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Clone, Copy)]
struct Seen {
    version: u64,
    tombstone: bool,
    next: Option<u32>,
}

#[derive(Default)]
struct ShardCheck {
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    segments: u64,
    records: u64,
    uncommitted: u64,
    cells: HashMap<CellKey, Seen>,
    /// (source, destinations) of each newest edge block, for the endpoint check.
    dsts: HashMap<(u64, u32), Vec<u64>>,
}

fn problem(path: &Path, offset: Option<u64>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_owned(),
        offset,
        message: message.into(),
    }
}

/// A storage error as a problem: its file, offset and reason.
fn from_error(e: Error) -> Problem {
    match e {
        Error::Corrupt {
            path,
            offset,
            reason,
        } => Problem {
            path,
            offset: Some(offset),
            message: reason,
        },
        Error::Io { path, source } => problem(&path, None, source.to_string()),
        other => problem(Path::new(""), None, other.to_string()),
    }
}

/// Sorts out the shard's segment files against its commit mark and segment list (see
/// [`classify`]), recording problems and warnings in `c`; `None` when the directory cannot
/// be read.
fn shard_layout(
    dir: &Path,
    shard: u32,
    mark: Option<ShardMark>,
    lists: bool,
    c: &mut ShardCheck,
) -> Option<Layout> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            c.problems.push(problem(
                dir,
                None,
                format!("cannot read shard directory: {e}"),
            ));
            return None;
        }
    };
    let mut segs = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        match parse_segment_name(&name) {
            Some((id, kind)) => {
                let len = e.metadata().map_or(0, |m| m.len());
                segs.push((id, kind, e.path(), len));
            }
            None if name.ends_with(".tmp")
                || name == checkpoint::CHECKPOINT_FILE
                || name == seglist::SEGLIST_FILE => {}
            None => c.problems.push(problem(
                &e.path(),
                None,
                "unexpected file in shard directory",
            )),
        }
    }
    segs.sort_by_key(|s| s.0);
    let listed = if lists {
        match seglist::read(dir, shard) {
            Ok(Some(l)) => Some(l),
            Ok(None) => {
                c.problems.push(problem(
                    &seglist::path(dir),
                    None,
                    "segment list is missing",
                ));
                None
            }
            Err(e) => {
                c.problems.push(from_error(e));
                None
            }
        }
    } else {
        None
    };
    let mut layout = classify(dir, mark, listed.as_deref(), segs);
    c.problems.extend(
        std::mem::take(&mut layout.problems)
            .into_iter()
            .map(from_error),
    );
    c.uncommitted = layout.active_tail + layout.uncommitted.iter().map(|f| f.file_len).sum::<u64>();
    for f in &layout.leftovers {
        c.warnings.push(problem(
            &f.path,
            None,
            "not in the segment list: left by an interrupted compaction; \
             ignored, and removed by the next writable open",
        ));
    }
    Some(layout)
}

fn check_shard(store: &Path, shard: u32, mark: Option<ShardMark>, lists: bool) -> ShardCheck {
    let mut c = ShardCheck::default();
    let dir = shard_dir(store, shard);
    let Some(layout) = shard_layout(&dir, shard, mark, lists, &mut c) else {
        return c;
    };
    let ckpt = read_checkpoint(&dir, shard, &mut c.problems);
    let covered_len = |id: u64| {
        ckpt.as_ref()
            .and_then(|k| k.segments.iter().find(|s| s.id == id))
            .map_or(0, |s| s.len)
    };
    // The newest record of each cell within the lengths the checkpoint covers.
    let mut covered: HashMap<CellKey, Entry> = HashMap::new();
    let mut segs_seen = HashMap::new();
    for f in layout.committed {
        let (id, kind, path, end) = (f.id, f.kind, f.path, f.len);
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                c.problems
                    .push(problem(&path, None, format!("cannot open: {e}")));
                continue;
            }
        };
        let bytes = match raw::map(&file) {
            Ok(b) => b,
            Err(e) => {
                c.problems
                    .push(problem(&path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        c.segments += 1;
        segs_seen.insert(id, (kind, end));
        if let Err(r) = check_header(&bytes, shard, id, kind) {
            c.problems.push(problem(&path, Some(0), r));
            continue;
        }
        let covers = covered_len(id);
        for item in RecordScan::new(&bytes, end) {
            match item {
                ScanItem::Bad { offset, reason, .. } => {
                    c.problems.push(problem(&path, Some(offset), reason))
                }
                ScanItem::Record {
                    offset,
                    header,
                    payload,
                } => {
                    c.records += 1;
                    let mut next = None;
                    match header.kind {
                        RecordKind::Vertex => {
                            if let Err(e) = VertexData::decode(payload) {
                                c.problems.push(problem(
                                    &path,
                                    Some(offset),
                                    format!("vertex payload: {e}"),
                                ));
                            }
                        }
                        RecordKind::EdgeBlock => match EdgeBlock::decode(payload) {
                            Ok(b) => {
                                next = b.next;
                                let newer = c
                                    .cells
                                    .get(&header.key)
                                    .is_none_or(|s| s.version < header.version);
                                if newer {
                                    c.dsts.insert((header.key.vertex, header.key.block), b.dsts);
                                }
                            }
                            Err(e) => c.problems.push(problem(
                                &path,
                                Some(offset),
                                format!("edge block payload: {e}"),
                            )),
                        },
                        RecordKind::Tombstone => {}
                    }
                    let seen = Seen {
                        version: header.version,
                        tombstone: header.kind == RecordKind::Tombstone,
                        next,
                    };
                    let slot = c.cells.entry(header.key).or_insert(seen);
                    if slot.version < seen.version {
                        *slot = seen;
                    }
                    if offset + header.record_len() as u64 <= covers {
                        // An undecodable payload is reported above; it counts nothing.
                        let counts = record_counts(&header, payload).unwrap_or((0, 0));
                        let loc = Loc {
                            segment: id,
                            offset,
                        };
                        let entry = Entry::of_record(loc, &header, counts);
                        let slot = covered.entry(header.key).or_insert(entry);
                        if slot.version < entry.version {
                            *slot = entry;
                        }
                    }
                }
            }
        }
    }
    if let Some(k) = ckpt {
        check_checkpoint(&dir, &k, &covered, &segs_seen, &mut c.problems);
    }
    c
}

/// Reads the shard's index checkpoint, if any; an unreadable one is a problem (harmless:
/// open ignores it and scans, and the next checkpoint replaces it).
fn read_checkpoint(dir: &Path, shard: u32, problems: &mut Vec<Problem>) -> Option<Checkpoint> {
    let path = checkpoint::path(dir);
    let bytes = fs::read(&path).ok()?;
    match checkpoint::decode(&bytes, shard) {
        Ok(k) => Some(k),
        Err(e) => {
            problems.push(problem(
                &path,
                Some(e.offset as u64),
                format!("index checkpoint unusable ({}); open ignores it", e.what),
            ));
            None
        }
    }
}

/// Compares a checkpoint with what the scan found in the lengths it covers: the same cells,
/// each at the same record, and the same live bytes per segment.
fn check_checkpoint(
    dir: &Path,
    k: &Checkpoint,
    covered: &HashMap<CellKey, Entry>,
    segs: &HashMap<u64, (SegmentKind, u64)>,
    problems: &mut Vec<Problem>,
) {
    let path = checkpoint::path(dir);
    let mut say = |m: String| problems.push(problem(&path, None, m));
    for s in &k.segments {
        match segs.get(&s.id) {
            Some(&(kind, len)) if kind == s.kind && len >= s.len => {}
            _ => {
                say(format!(
                    "index checkpoint names segment {} ({} bytes), which is missing or shorter; \
                     open ignores the checkpoint",
                    s.id, s.len
                ));
                return;
            }
        }
    }
    if k.index.len() != covered.len() {
        say(format!(
            "index checkpoint lists {} cells, the segments it covers hold {}",
            k.index.len(),
            covered.len()
        ));
    }
    let mut live: HashMap<u64, u64> = HashMap::new();
    for (key, want) in covered {
        *live.entry(want.loc.segment).or_default() += u64::from(want.record_len);
        match k.index.get(key) {
            Some(got) if got == want => {}
            got => say(format!(
                "index checkpoint entry of {key:?} is {got:?}, the segments say {want:?}"
            )),
        }
    }
    for s in &k.segments {
        let want = live.get(&s.id).copied().unwrap_or(0);
        if s.live_bytes != want {
            say(format!(
                "index checkpoint gives segment {} {} live bytes, the segments say {want}",
                s.id, s.live_bytes
            ));
        }
    }
}

/// Checks every file of the store in `dir`. Returns `Err` only when `dir` is not a store
/// at all (or is locked by a writer); every problem inside it is listed in the report.
pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport> {
    let dir = dir.as_ref();
    let manifest = Manifest::load(dir)?;
    let _lock = crate::store::lock_shared(dir)?;
    let mut report = VerifyReport::default();
    let marks: Vec<Option<ShardMark>> = match commit::read(dir, manifest.shards) {
        Ok(state) => {
            if let Err(e) = crate::edgelog::check_commits_cover(dir, state.last.txn) {
                report.problems.push(from_error(e));
            }
            state.last.marks.into_iter().map(Some).collect()
        }
        Err(e) => {
            report
                .problems
                .push(problem(&dir.join(commit::COMMIT_FILE), None, e.to_string()));
            vec![None; manifest.shards as usize]
        }
    };
    let checks: Vec<ShardCheck> = marks
        .par_iter()
        .enumerate()
        .map(|(s, &m)| check_shard(dir, s as u32, m, manifest.lists_segments()))
        .collect();
    match crate::edgelog::check(dir) {
        Ok(None) => {}
        Ok(Some((offset, why))) => report.warnings.push(problem(
            &dir.join(crate::edgelog::EDGELOG_FILE),
            Some(offset),
            why,
        )),
        Err(e) => report.warnings.push(from_error(e)),
    }
    // Logical checks need every shard's live vertices.
    let mut live_vertices = HashSet::new();
    for c in &checks {
        for (k, s) in &c.cells {
            if k.kind == CellKind::Vertex && !s.tombstone {
                live_vertices.insert(k.vertex);
            }
        }
    }
    for (s, c) in checks.into_iter().enumerate() {
        let sdir = shard_dir(dir, s as u32);
        report.problems.extend(c.problems);
        report.warnings.extend(c.warnings);
        report.segments += c.segments;
        report.records += c.records;
        report.uncommitted_bytes += c.uncommitted;
        let mut blocks: Vec<(&CellKey, &Seen)> = c
            .cells
            .iter()
            .filter(|(k, s)| k.kind == CellKind::EdgeBlock && !s.tombstone)
            .collect();
        blocks.sort_by_key(|(k, _)| **k);
        for (k, seen) in blocks {
            let live = |b: u32| {
                c.cells
                    .get(&CellKey::edge_block(k.vertex, b))
                    .is_some_and(|s| !s.tombstone)
            };
            let what = format!("edge block {} of vertex {}", k.block, k.vertex);
            if k.block > 0 && !live(k.block - 1) {
                report.problems.push(problem(
                    &sdir,
                    None,
                    format!("{what}: previous block missing"),
                ));
            }
            match seen.next {
                Some(n) if n != k.block + 1 || !live(n) => {
                    report.problems.push(problem(
                        &sdir,
                        None,
                        format!("{what}: next block {n} missing"),
                    ));
                }
                None if live(k.block + 1) => {
                    report.problems.push(problem(
                        &sdir,
                        None,
                        format!("{what}: chain ends but block {} exists", k.block + 1),
                    ));
                }
                _ => {}
            }
            if !live_vertices.contains(&k.vertex) {
                report.problems.push(problem(
                    &sdir,
                    None,
                    format!("{what}: source vertex does not exist"),
                ));
            }
            if let Some(dsts) = c.dsts.get(&(k.vertex, k.block)) {
                if let Some(d) = dsts.iter().find(|d| !live_vertices.contains(d)) {
                    report.problems.push(problem(
                        &sdir,
                        None,
                        format!("{what}: destination {d} does not exist"),
                    ));
                }
            }
        }
    }
    Ok(report)
}
