//! Top-k with persist and reuse: a derived collection is cached once (spilling under a small
//! budget), then reused by three actions without recomputation from the source.
//!
//! Run: `cargo run --example top_k_persist`

use std::cell::Cell;
use std::rc::Rc;

use morpheus_engine::{execute, Config, StorageLevel};
use morpheus_rdd::Rdd;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::threads(2).with_memory_budget(512 << 10);
    let (results, metrics) = execute(config, |ctx| {
        let computed = Rc::new(Cell::new(0u64));
        let c = Rc::clone(&computed);
        let scores = Rdd::from_fn(16, move |p| {
            c.set(c.get() + 1);
            Ok((0..50_000u64)
                .map(|i| {
                    let x = (p as u64) * 50_000 + i;
                    (x, x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 44)
                })
                .collect::<Vec<_>>())
        })
        .persist(StorageLevel::MemoryAndDisk);
        let top = scores.map(|(id, s)| (s, id)).top(ctx, 5)?;
        let count = scores.count(ctx)?;
        let max = scores.map(|(_, s)| s).reduce(ctx, u64::max)?;
        Ok((top, count, max, computed.get()))
    })?;
    let (top, count, max, computed) = &results[0];
    assert_eq!(*count, 800_000);
    assert_eq!(Some(top[0].0), *max);
    // Each worker computed each of its 8 partitions once, despite three actions.
    assert_eq!(*computed, 8);
    println!("top 5 (score, id): {top:?}");
    println!(
        "{count} records, partitions computed once per worker ({computed}), spilled {} B",
        metrics.spilled_bytes
    );
    Ok(())
}
