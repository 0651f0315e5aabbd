//! Incremental pipelines from the command line: `examples/jobs/incremental-wcc.toml` run
//! twice with `--incremental-state`, with edges imported and deleted in between; the second
//! run processes about the change and its outputs equal a fresh full run's.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

mod common;
use common::{edge_pairs, morpheus, ok, parquet_rows, s};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn incremental_wcc_example_updates_and_matches_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let edges = p("g.txt");
    ok(&["generate", "rmat", "--scale", "10", "--out", s(&edges)]);
    ok(&["import", "--store", s(&p("store")), s(&edges)]);
    let text = fs::read_to_string(&edges).unwrap();
    let pairs = edge_pairs(&text);
    let source = pairs[0].0.to_string();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/jobs/incremental-wcc.toml"
    );
    let run = |out: &str, state: Option<&str>, metrics: &str| -> Value {
        let mut args: Vec<String> = vec![
            "run".into(),
            example.into(),
            "--set".into(),
            format!("store={}", s(&p("store"))),
            "--set".into(),
            format!("out={}", s(&p(out))),
            "--set".into(),
            format!("source={source}"),
            "--metrics".into(),
            s(&p(metrics)).into(),
        ];
        if let Some(st) = state {
            args.push("--incremental-state".into());
            args.push(s(&p(st)).into());
        }
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        read_json(&p(metrics))
    };
    let first = run("out", Some("state"), "m1.json");
    assert_eq!(first["incremental"]["@graph"]["mode"], "full", "{first}");

    // New edges (one to a new vertex, a new component of two) and deleted ones.
    let added = "5 1000000\n1000000 7\n2000000 2000001\n";
    fs::write(p("new.txt"), added).unwrap();
    ok(&["import", "--store", s(&p("store")), s(&p("new.txt"))]);
    let mut gone = String::new();
    let mut distinct = std::collections::BTreeSet::new();
    for &(a, b) in pairs.iter().step_by(97).take(20) {
        if distinct.insert((a, b)) {
            gone.push_str(&format!("{a} {b}\n"));
        }
    }
    fs::write(p("gone.txt"), &gone).unwrap();
    ok(&[
        "import",
        "--store",
        s(&p("store")),
        "--delete",
        s(&p("gone.txt")),
    ]);
    // Arcs removed: every copy of each deleted pair (RMAT repeats some edges).
    let removed: usize = pairs.iter().filter(|pr| distinct.contains(pr)).count();

    let second = run("out", Some("state"), "m2.json");
    let inc = &second["incremental"]["@graph"];
    assert_eq!(inc["mode"], "incremental", "{second}");
    // 3 arcs and 3 vertices added, `removed` arcs deleted: the change, not the graph.
    let expected = (3 + 3 + removed) as u64;
    assert_eq!(second["input_changes"].as_u64(), Some(expected), "{second}");
    assert!(inc["arcs"].as_u64().unwrap() > 100 * expected);

    let fresh = run("full", None, "m3.json");
    assert!(fresh.get("input_changes").is_none());
    for file in ["wcc.parquet", "bfs.parquet"] {
        let a = parquet_rows(&p("out").join(file));
        let b = parquet_rows(&p("full").join(file));
        assert!(a.len() > 500, "{file}: {} rows", a.len());
        assert_eq!(a, b, "{file}: incremental and full outputs differ");
    }
    // WCC labels are the smallest id of each component.
    let wcc: BTreeMap<String, String> = parquet_rows(&p("out").join("wcc.parquet"))
        .into_iter()
        .collect();
    assert_eq!(wcc["2000001"], "2000000");
    assert_eq!(wcc["1000000"], wcc["5"]);

    // A third run with nothing changed processes nothing.
    let third = run("out", Some("state"), "m4.json");
    assert_eq!(third["input_changes"].as_u64(), Some(0), "{third}");

    // State from another store is rebuilt, and the run says so.
    ok(&["import", "--store", s(&p("other")), s(&edges)]);
    let out = morpheus(&[
        "run",
        example,
        "--set",
        &format!("store={}", s(&p("other"))),
        "--set",
        &format!("out={}", s(&p("o2"))),
        "--set",
        &format!("source={source}"),
        "--incremental-state",
        s(&p("state")),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("full computation") && err.contains("another store"),
        "{err}"
    );

    // A state directory for a spec that is not incremental is refused.
    let plain = p("plain.toml");
    fs::write(
        &plain,
        fs::read_to_string(example)
            .unwrap()
            .replace("incremental = true", ""),
    )
    .unwrap();
    let out = morpheus(&[
        "run",
        s(&plain),
        "--set",
        &format!("store={}", s(&p("store"))),
        "--set",
        &format!("source={source}"),
        "--incremental-state",
        s(&p("state")),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not incremental"));
}
