//! The commit log (`COMMITS`): one fixed-size, CRC'd record per committed transaction giving,
//! for every shard, the log segment and offset up to which that shard's records are committed.
//! A transaction is durable once its commit record is fsynced; everything past the offsets of
//! the last valid commit record is an uncommitted tail, discarded on open. Keeping the commit
//! point in one file (rather than a commit record per shard) makes a transaction that spans
//! shards atomic.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::codec::Reader;
use crate::error::{Error, IoContext, Result};

/// File name of the commit log.
pub const COMMIT_FILE: &str = "COMMITS";
const MAGIC: &[u8; 8] = b"MPHCOMIT";
const HEADER_BYTES: usize = 16;

/// Committed end of one shard's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardMark {
    /// Id of the shard's active log segment.
    pub segment: u64,
    /// Committed length of that segment in bytes.
    pub offset: u64,
}

/// One commit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Transaction sequence number (0 for the store's creation).
    pub txn: u64,
    /// Highest LSN written by this or any earlier transaction.
    pub last_lsn: u64,
    /// Committed end of each shard's log.
    pub marks: Vec<ShardMark>,
}

impl Commit {
    fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(16 + self.marks.len() * 16);
        payload.extend_from_slice(&self.txn.to_le_bytes());
        payload.extend_from_slice(&self.last_lsn.to_le_bytes());
        for m in &self.marks {
            payload.extend_from_slice(&m.segment.to_le_bytes());
            payload.extend_from_slice(&m.offset.to_le_bytes());
        }
        let mut out = Vec::with_capacity(8 + payload.len());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }
}

fn record_bytes(shards: u32) -> usize {
    8 + 16 + 16 * shards as usize
}

/// What reading the commit log found.
#[derive(Debug)]
pub struct CommitLogState {
    /// The last valid commit.
    pub last: Commit,
    /// Number of commit records.
    pub commits: u64,
    /// Length of the valid prefix of the file.
    pub valid_len: u64,
    /// Length of the file (more than `valid_len` when a commit write was torn).
    pub file_len: u64,
}

/// Reads and validates the commit log. A partial last record is a torn write (ignored, and
/// reported through `valid_len < file_len`); a complete record with a bad CRC is corruption.
pub fn read(dir: &Path, shards: u32) -> Result<CommitLogState> {
    let path = dir.join(COMMIT_FILE);
    let mut bytes = Vec::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .at(&path)?;
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
        return Err(Error::corrupt(&path, 0, "bad commit log header"));
    }
    let file_shards = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    if file_shards != shards {
        return Err(Error::corrupt(
            &path,
            12,
            format!("commit log is for {file_shards} shards, manifest says {shards}"),
        ));
    }
    let rec = record_bytes(shards);
    let mut pos = HEADER_BYTES;
    let mut last = None;
    let mut commits = 0u64;
    while bytes.len() - pos >= rec {
        let at = pos as u64;
        let mut r = Reader::new(&bytes[pos..pos + rec]);
        let len = r
            .u32("len")
            .map_err(|e| Error::corrupt(&path, at, e.to_string()))?;
        let crc = r
            .u32("crc")
            .map_err(|e| Error::corrupt(&path, at, e.to_string()))?;
        if len as usize != rec - 8 {
            return Err(Error::corrupt(
                &path,
                at,
                "commit record has the wrong length",
            ));
        }
        let payload = &bytes[pos + 8..pos + rec];
        if crc32fast::hash(payload) != crc {
            return Err(Error::corrupt(&path, at, "commit record CRC mismatch"));
        }
        let mut r = Reader::new(payload);
        let err = |e: crate::codec::DecodeError| Error::corrupt(&path, at, e.to_string());
        let txn = r.u64("txn").map_err(err)?;
        let last_lsn = r.u64("lsn").map_err(err)?;
        let mut marks = Vec::with_capacity(shards as usize);
        for _ in 0..shards {
            let segment = r.u64("segment").map_err(err)?;
            let offset = r.u64("offset").map_err(err)?;
            marks.push(ShardMark { segment, offset });
        }
        last = Some(Commit {
            txn,
            last_lsn,
            marks,
        });
        commits += 1;
        pos += rec;
    }
    let last =
        last.ok_or_else(|| Error::corrupt(&path, HEADER_BYTES as u64, "no commit record"))?;
    Ok(CommitLogState {
        last,
        commits,
        valid_len: pos as u64,
        file_len: bytes.len() as u64,
    })
}

/// Appender for the commit log.
pub struct CommitLog {
    path: PathBuf,
    file: File,
}

impl CommitLog {
    /// Creates a new commit log holding `initial`.
    pub fn create(dir: &Path, shards: u32, initial: &Commit) -> Result<Self> {
        let path = dir.join(COMMIT_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        let mut header = Vec::with_capacity(HEADER_BYTES);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&1u32.to_le_bytes());
        header.extend_from_slice(&shards.to_le_bytes());
        file.write_all(&header).at(&path)?;
        let mut log = Self { path, file };
        log.append(initial)?;
        Ok(log)
    }

    /// Opens the log for appending after its valid prefix (cutting a torn last record).
    pub fn open(dir: &Path, valid_len: u64) -> Result<Self> {
        let path = dir.join(COMMIT_FILE);
        let file = OpenOptions::new().write(true).open(&path).at(&path)?;
        if file.metadata().at(&path)?.len() != valid_len {
            file.set_len(valid_len).at(&path)?;
            file.sync_all().at(&path)?;
        }
        let mut log = Self { path, file };
        use std::io::Seek;
        log.file
            .seek(std::io::SeekFrom::Start(valid_len))
            .at(&log.path)?;
        Ok(log)
    }

    /// Appends `commit` and fsyncs: the transaction is durable when this returns.
    pub fn append(&mut self, commit: &Commit) -> Result<()> {
        self.file.write_all(&commit.encode()).at(&self.path)?;
        self.file.sync_data().at(&self.path)
    }
}
