//! Helpers shared by the integration tests that drive the `morpheus` binary.

use std::path::Path;

use arrow_array::{Array, Float64Array, Int64Array, UInt64Array};
use std::process::{Command, Output};

/// Runs `morpheus ARGS` (with `CI=true`: no progress bars) and returns its output.
pub fn morpheus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args(args)
        .env("CI", "true")
        .output()
        .expect("binary runs")
}

/// Runs `morpheus ARGS`, fails the test unless it succeeds, returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = morpheus(args);
    assert!(
        out.status.success(),
        "morpheus {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The `(src, dst)` pairs of an edge-list text (blank and `#` / `%` comment lines
/// skipped), read independently of Morpheus.
#[allow(dead_code)] // not every test binary reads edge lists
pub fn edge_pairs(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('%'))
        .map(|l| {
            let mut f = l
                .split_whitespace()
                .map(|x| x.parse::<u64>().expect("an id"));
            (
                f.next().expect("a source"),
                f.next().expect("a destination"),
            )
        })
        .collect()
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every row of a two-column Parquet file as text, sorted.
#[allow(dead_code)] // not every test binary compares Parquet outputs
pub fn parquet_rows(path: &Path) -> Vec<(String, String)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let text = |a: &dyn Array, i: usize| -> String {
        if let Some(a) = a.as_any().downcast_ref::<UInt64Array>() {
            a.value(i).to_string()
        } else if let Some(a) = a.as_any().downcast_ref::<Int64Array>() {
            a.value(i).to_string()
        } else if let Some(a) = a.as_any().downcast_ref::<Float64Array>() {
            a.value(i).to_string()
        } else {
            panic!("unexpected column type {:?}", a.data_type())
        }
    };
    let mut rows = Vec::new();
    for batch in reader {
        let b = batch.unwrap();
        for i in 0..b.num_rows() {
            rows.push((text(b.column(0), i), text(b.column(1), i)));
        }
    }
    rows.sort();
    rows
}

/// Every file under `dir` with its bytes (the lock file aside), to check that a command
/// left a store byte-identical.
#[allow(dead_code)] // not every test binary compares stores
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read a directory") {
            let e = e.expect("a directory entry");
            if e.file_type().expect("a file type").is_dir() {
                stack.push(e.path());
            } else if e.file_name() != "LOCK" {
                out.insert(e.path(), std::fs::read(e.path()).expect("read a file"));
            }
        }
    }
    out
}
