//! The graph store as collections: one partition per shard, so each worker scans the shards
//! it owns (`shard % workers`), reading segments sequentially.

use std::rc::Rc;

use morpheus_engine::Error;
use morpheus_rdd::Rdd;
use morpheus_storage::Store;

fn store_err(e: morpheus_storage::Error) -> Error {
    Error::Job(format!("graph store: {e}"))
}

/// Every vertex id of the store.
pub fn store_vertices(store: &Rc<Store>) -> Rdd<u64> {
    let s = Rc::clone(store);
    Rdd::from_fn(store.shard_count() as usize, move |shard| {
        s.vertex_ids(shard as u32).map_err(store_err)
    })
}

/// Every edge of the store as `(src, dst, weight)` (undirected stores hold both directions).
pub fn store_edges(store: &Rc<Store>) -> Rdd<(u64, u64, f64)> {
    let s = Rc::clone(store);
    Rdd::from_fn(store.shard_count() as usize, move |shard| {
        let mut out = Vec::new();
        s.scan_edges(shard as u32, |a, b, w| out.push((a, b, w)))
            .map_err(store_err)?;
        Ok(out)
    })
}

/// Every vertex with its label and properties, as `(id, label, [(name, value as text)])`.
pub fn store_vertex_records(store: &Rc<Store>) -> Rdd<(u64, String, Vec<(String, String)>)> {
    let s = Rc::clone(store);
    Rdd::from_fn(store.shard_count() as usize, move |shard| {
        let mut out = Vec::new();
        s.for_each_vertex(shard as u32, |v| {
            let props = v
                .properties
                .iter()
                .map(|(k, val)| (k.clone(), val.to_string()))
                .collect();
            out.push((v.id, v.label, props));
        })
        .map_err(store_err)?;
        Ok(out)
    })
}
