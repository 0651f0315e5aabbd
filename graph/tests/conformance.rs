//! LDBC Graphalytics conformance of the parallel engine: every graph × algorithm with a
//! reference output in `MORPHEUS_LDBC_DIR` (all 24), imported into a store and run with 1
//! and 2 workers, and with a memory budget small enough to spill, each output validated by
//! Graphalytics' rules. Skipped (with a message) when the variable is unset.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use morpheus_engine::{execute, Config};
use morpheus_graph::graphalytics::{reference_output_path, validate_files, Algorithm};
use morpheus_graph::run::{self, graphalytics_params, OutputFormat};
use morpheus_storage::import::{import, ldbc::parse_properties, ImportOptions, NoProgress};
use morpheus_storage::Store;

/// Runs `algorithm` on `store`, writes Graphalytics text to `out`; returns spilled bytes.
fn run_one(
    store: &Arc<Store>,
    config: Config,
    properties: &Path,
    algorithm: Algorithm,
    out: &Path,
) -> morpheus_engine::Result<u64> {
    let graph = parse_properties(properties).unwrap();
    let (algo, params) = graphalytics_params(&graph, properties, algorithm)?;
    let store = Arc::clone(store);
    let (results, metrics) = execute(config, move |ctx| run::run(ctx, &store, algo, &params))?;
    let outcome = results.into_iter().next().unwrap();
    run::write_output(
        out,
        OutputFormat::Graphalytics,
        &outcome.ids,
        &outcome.values,
    )?;
    Ok(metrics.spilled_bytes)
}

#[test]
fn every_ldbc_reference_output_reproduces() {
    let Some(dir) = std::env::var_os("MORPHEUS_LDBC_DIR").map(PathBuf::from) else {
        eprintln!("skipping: MORPHEUS_LDBC_DIR is not set");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut props: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "properties"))
        .collect();
    props.sort();
    for p in props {
        let graph = parse_properties(&p).unwrap();
        let store_dir = tmp.path().join(&graph.name);
        let mut options = ImportOptions::default();
        options.weighted = graph.weight_column.is_some();
        import(&store_dir, std::slice::from_ref(&p), &options, &NoProgress).unwrap();
        let store = Arc::new(Store::open_read_only(&store_dir).unwrap());
        for algorithm in Algorithm::ALL {
            let expected = reference_output_path(&dir, &graph.name, algorithm);
            if !expected.exists() {
                continue;
            }
            let out = tmp
                .path()
                .join(format!("{}-{}", graph.name, algorithm.suffix()));
            let check = |what: &str| {
                let report = validate_files(algorithm, &expected, &out).unwrap();
                assert!(
                    report.is_ok(),
                    "{} {algorithm} ({what}):\n{report}",
                    graph.name
                );
            };
            for workers in [1, 2] {
                run_one(&store, Config::threads(workers), &p, algorithm, &out).unwrap();
                check(&format!("{workers} workers"));
            }
            // Shrink the budget until the edge partitions spill (the vertex state must
            // still fit: smaller budgets fail with a clear error, which is fine here).
            let spill = tempfile::tempdir().unwrap();
            let mut spilled = false;
            // Two workers first; the tiniest graphs only spill with one (the engine's
            // floor is 256 B per worker).
            for workers in [2u64, 1] {
                let mut budget = 64u64 << 10;
                while budget >= 256 * workers && !spilled {
                    let config = Config::threads(workers as usize)
                        .with_memory_budget(budget)
                        .with_spill_dir(spill.path());
                    match run_one(&store, config, &p, algorithm, &out) {
                        Ok(bytes) if bytes > 0 => {
                            check(&format!(
                                "{workers} workers, budget {budget} B, {bytes} B spilled"
                            ));
                            spilled = true;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let msg = e.to_string();
                            assert!(msg.contains("budget"), "unexpected error: {msg}");
                        }
                    }
                    budget = budget * 9 / 10;
                }
            }
            assert!(
                spilled,
                "{} {algorithm}: no budget made it spill",
                graph.name
            );
            assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
            checked += 1;
        }
    }
    assert_eq!(checked, 24, "reference outputs checked");
}
