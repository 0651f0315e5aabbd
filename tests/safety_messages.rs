//! Errors quote at most a little of what the user gave: a megabyte-long token, cell, size
//! or value never becomes a megabyte-long error line (found by the `job_spec` fuzz target).

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use common::morpheus;

fn assert_short_failure(args: &[&str], mentions: &str) {
    let out = morpheus(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        stderr.len() < 2048,
        "{} bytes of error for {:?}: {}…",
        stderr.len(),
        &args[..1],
        stderr.chars().take(300).collect::<String>()
    );
    assert!(stderr.contains(mentions), "{stderr}");
}

#[test]
fn a_huge_token_or_cell_in_an_import_is_quoted_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let edges = dir.path().join("edges.txt");
    std::fs::write(&edges, format!("1 2\n3 {}\n", "9".repeat(1 << 20))).unwrap();
    let store = dir.path().join("s");
    let (s, e) = (store.to_str().unwrap(), edges.to_str().unwrap());
    assert_short_failure(&["import", "--store", s, e], "edges.txt:2");
    let csv = dir.path().join("v.csv");
    std::fs::write(&csv, format!("id,age\n1,3\n{},4\n", "x".repeat(1 << 20))).unwrap();
    assert_short_failure(&["import", "--store", s, csv.to_str().unwrap()], "v.csv:3");
}

#[test]
fn a_huge_size_or_duration_in_a_spec_or_flag_is_quoted_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("job.toml");
    let long = "k".repeat(1 << 20);
    std::fs::write(
        &spec,
        format!(
            "name = \"j\"\nmemory_budget = \"1{long}\"\n[[steps]]\nname = \"r\"\nread = \"x\"\n"
        ),
    )
    .unwrap();
    assert_short_failure(&["validate", spec.to_str().unwrap()], "memory_budget");
    std::fs::write(
        &spec,
        format!("name = \"j\"\ntimeout = \"1{long}\"\n[[steps]]\nname = \"r\"\nread = \"x\"\n"),
    )
    .unwrap();
    assert_short_failure(&["validate", spec.to_str().unwrap()], "timeout");
    // clap quotes a rejected flag value whole: the middle of the line goes.
    // (One argument may hold at most 128 KiB.)
    let budget = format!("1{}", &long[..100_000]);
    assert_short_failure(
        &[
            "algo",
            "pagerank",
            "--store",
            "s",
            "--memory-budget",
            &budget,
        ],
        "unknown size unit",
    );
}
