//! Builds a store from a generated graph with the library API, updates it in a second
//! transaction, and scans every shard back, as a graph loader does.
//!
//! Run: `cargo run --example import_and_scan`

use morpheus::prelude::*;
use morpheus_storage::generate::write_edge_list;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let graph = dir.path().join("rmat12.txt");
    let gen = GenerateOptions {
        weighted: true,
        ..GenerateOptions::rmat(12)
    };
    write_edge_list(&gen, &graph)?;

    let store_dir = dir.path().join("store");
    let mut options = ImportOptions::default();
    options.weighted = true;
    let report = import(&store_dir, &[graph], &options, &NoProgress)?;
    println!(
        "imported {} edges in txn {} (last LSN {})",
        report.edges, report.commit.txn, report.commit.last_lsn
    );

    // A second transaction: label a vertex, add and remove edges.
    let mut store = Store::open(&store_dir)?;
    let lsn = store.last_lsn();
    let mut batch = WriteBatch::new();
    batch.put_vertex(0, Some("root"), vec![("rank".into(), Value::F64(1.0))]);
    batch.add_edge(0, 1_000_000, 2.5);
    batch.delete_edge(0, 1);
    store.commit(batch)?;
    println!(
        "cells changed since LSN {lsn}: {}",
        store.changes_since(lsn).len()
    );
    println!("vertex 0: {:?}", store.vertex(0)?);

    let mut edges = 0u64;
    let mut max_degree = (0u64, 0usize);
    for shard in 0..store.shard_count() {
        let mut degree = std::collections::HashMap::<u64, usize>::new();
        edges += store.scan_edges(shard, |src, _, _| *degree.entry(src).or_default() += 1)?;
        if let Some((&v, &d)) = degree
            .iter()
            .max_by_key(|(v, d)| (**d, std::cmp::Reverse(**v)))
        {
            if d > max_degree.1 {
                max_degree = (v, d);
            }
        }
    }
    let stats = store.stats();
    assert_eq!(edges, stats.edges);
    println!(
        "{} vertices, {} edges; highest out-degree: vertex {} with {}",
        stats.vertices, edges, max_degree.0, max_degree.1
    );
    Ok(())
}
