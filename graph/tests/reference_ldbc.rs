//! Conformance of the sequential twins (`morpheus_graph::reference`) with the LDBC
//! Graphalytics validation graphs and their reference outputs, in the directory named by
//! `MORPHEUS_LDBC_DIR` (see `shared/conformance/ldbc/PROVENANCE.md`). Skipped when unset.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use morpheus_graph::graphalytics::{
    read_ldbc_graph, read_output, reference_output_path, to_rows, validate, Algorithm,
};
use morpheus_graph::reference::{self, RefGraph};
use morpheus_storage::import::ldbc::{parse_properties, LdbcGraph};

fn param<T: std::str::FromStr>(spec: &LdbcGraph, key: &str) -> T {
    let v = spec
        .properties
        .get(key)
        .unwrap_or_else(|| panic!("{}: no {key}", spec.name));
    v.parse()
        .unwrap_or_else(|_| panic!("{}: bad {key} `{v}`", spec.name))
}

fn run(spec: &LdbcGraph, g: &RefGraph, algorithm: Algorithm) -> Vec<(u64, String)> {
    let ids = g.ids();
    match algorithm {
        Algorithm::Bfs => to_rows(
            ids,
            &reference::bfs(g, param(spec, "bfs.source-vertex")).unwrap(),
        ),
        Algorithm::Sssp => to_rows(
            ids,
            &reference::sssp(g, param(spec, "sssp.source-vertex")).unwrap(),
        ),
        Algorithm::Pr => to_rows(
            ids,
            &reference::pagerank(
                g,
                param(spec, "pr.damping-factor"),
                param(spec, "pr.num-iterations"),
            ),
        ),
        Algorithm::Wcc => to_rows(ids, &reference::wcc(g)),
        Algorithm::Cdlp => to_rows(ids, &reference::cdlp(g, param(spec, "cdlp.max-iterations"))),
        Algorithm::Lcc => to_rows(ids, &reference::lcc(g)),
    }
}

/// For float outputs: the largest relative difference, as a note for the log.
fn max_rel_diff(expected: &[(u64, String)], actual: &[(u64, String)]) -> String {
    let got: HashMap<u64, &str> = actual.iter().map(|(id, v)| (*id, v.as_str())).collect();
    let mut max = 0.0f64;
    for (id, e) in expected {
        let (Ok(e), Some(Ok(a))) = (e.parse::<f64>(), got.get(id).map(|a| a.parse::<f64>())) else {
            return String::new();
        };
        if e != a {
            max = max.max(((e - a) / e).abs());
        }
    }
    format!(" (max relative difference {max:.1e})")
}

#[test]
fn reference_twins_match_ldbc_outputs() {
    let Some(dir) = std::env::var_os("MORPHEUS_LDBC_DIR") else {
        println!("skipping: MORPHEUS_LDBC_DIR is not set");
        return;
    };
    let dir = PathBuf::from(dir);
    let mut props: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "properties"))
        .collect();
    props.sort();
    assert!(
        !props.is_empty(),
        "no .properties files in {}",
        dir.display()
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in &props {
        let spec = parse_properties(path).unwrap();
        let g = read_ldbc_graph(&spec).unwrap();
        for algorithm in Algorithm::ALL {
            let reference = reference_output_path(&dir, &spec.name, algorithm);
            if !reference.exists() {
                continue;
            }
            let expected = read_output(&reference).unwrap();
            let actual = run(&spec, &g, algorithm);
            let report = validate(algorithm, &expected, &actual);
            println!(
                "{}: {report}{}",
                spec.name,
                max_rel_diff(&expected, &actual)
            );
            if !report.is_ok() {
                failures.push(format!("{}: {report}", spec.name));
            }
            if algorithm == Algorithm::Wcc {
                // Beyond equivalence: the labels are the smallest id of each component.
                let exact = validate(Algorithm::Cdlp, &expected, &actual);
                if !exact.is_ok() {
                    failures.push(format!("{}: WCC labels: {exact}", spec.name));
                }
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 24, "reference outputs checked");
}
