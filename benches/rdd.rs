//! reduce_by_key over N (u64, u64) pairs (default 20M; 2M distinct keys): one worker, two
//! workers, two workers with a budget of 10% of the data, and a plain single-threaded
//! `HashMap` fold (the COST baseline). Each configuration runs in its own process so peak
//! RSS is its own. Answers are checked against the baseline before figures are printed.
//!
//! ```text
//! cargo bench --bench rdd
//! MORPHEUS_BENCH_PAIRS=2000000 cargo bench --bench rdd
//! ```
//! Targets (issue #3, 2 cores): 2 workers ≥ 1.6× faster than 1; 1 worker within 2× of the
//! HashMap fold; the 10% budget run completes with the same answer, peak RSS ≤ budget +
//! 300 MiB and ≤ 3× the in-memory time.

#[path = "common.rs"]
mod common;
use common::peak_rss_mib;
use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

use morpheus_engine::{execute, Config};
use morpheus_rdd::Rdd;

fn key(i: u64, distinct: u64) -> u64 {
    morpheus_storage::generate::splitmix(i) % distinct
}

/// (distinct keys, checksum) of the reduced pairs.
fn checksum(pairs: impl Iterator<Item = (u64, u64)>) -> (u64, u64) {
    pairs.fold((0, 0), |(n, x), (k, v)| {
        (
            n + 1,
            x ^ k.wrapping_mul(0x2545_f491_4f6c_dd1d).wrapping_add(v),
        )
    })
}

fn child(mode: &str, n: u64) -> (f64, (u64, u64)) {
    let distinct = (n / 10).max(1);
    let t = Instant::now();
    let answer = match mode {
        "hashmap" => {
            let mut m: HashMap<u64, u64> = HashMap::with_capacity(distinct as usize);
            for i in 0..n {
                *m.entry(key(i, distinct)).or_insert(0) += 1;
            }
            checksum(m.into_iter())
        }
        _ => {
            let (workers, budget): (usize, u64) = match mode {
                "w1" => (1, 4 << 30),
                "w2" => (2, 4 << 30),
                _ => (2, n * 16 / 10), // 10% of the 16-byte pairs
            };
            let config = Config::threads(workers).with_memory_budget(budget);
            let parts = 8 * workers;
            let (r, metrics) = execute(config, move |ctx| {
                let pairs = Rdd::from_fn(parts, move |p| {
                    let (lo, hi) = (
                        p as u64 * n / parts as u64,
                        (p as u64 + 1) * n / parts as u64,
                    );
                    Ok((lo..hi)
                        .map(|i| (key(i, distinct), 1u64))
                        .collect::<Vec<_>>())
                });
                let reduced = pairs.reduce_by_key(|a, b| a + b);
                reduced.aggregate(
                    ctx,
                    (0u64, 0u64),
                    |acc, kv| {
                        let (n2, x) = checksum(std::iter::once(kv));
                        (acc.0 + n2, acc.1 ^ x)
                    },
                    |a, b| (a.0 + b.0, a.1 ^ b.1),
                )
            })
            .expect("job runs");
            if std::env::var_os("MORPHEUS_BENCH_STAGES").is_some() {
                for s in &metrics.stages {
                    eprintln!(
                        "{:<28} {:>8.3} s  in {:>9}  out {:>9}  spilled {:>10}",
                        s.name, s.seconds, s.records_in, s.records_out, s.spilled_bytes
                    );
                }
            }
            r[0]
        }
    };
    (t.elapsed().as_secs_f64(), answer)
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("MORPHEUS_BENCH_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 20_000_000 } else { 200_000 });
    if let Ok(mode) = std::env::var("MORPHEUS_BENCH_CHILD") {
        let (secs, (k, x)) = child(&mode, n);
        println!("{secs} {k} {x} {}", peak_rss_mib());
        return;
    }
    let exe = std::env::current_exe().expect("bench binary path");
    let run = |mode: &str| -> (f64, u64, u64, f64) {
        let out = Command::new(&exe)
            .env("MORPHEUS_BENCH_CHILD", mode)
            .env("MORPHEUS_BENCH_PAIRS", n.to_string())
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = text.split_whitespace().collect();
        (
            f[0].parse().unwrap_or(f64::NAN),
            f[1].parse().unwrap_or(0),
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(f64::NAN),
        )
    };
    println!(
        "reduce_by_key over {n} (u64, u64) pairs, {} distinct keys",
        n / 10
    );
    let base = run("hashmap");
    let w1 = run("w1");
    let w2 = run("w2");
    let spill = run("spill");
    for (name, r) in [
        ("1 worker", w1),
        ("2 workers", w2),
        ("2 workers, 10% budget", spill),
    ] {
        assert_eq!(
            (r.1, r.2),
            (base.1, base.2),
            "{name} disagrees with the HashMap fold"
        );
    }
    let mps = |s: f64| n as f64 / s / 1e6;
    println!(
        "  HashMap fold (1 thread)   {:>7.2} s  {:>6.1} M pairs/s  peak RSS {:>6.0} MiB",
        base.0,
        mps(base.0),
        base.3
    );
    println!("  1 worker                  {:>7.2} s  {:>6.1} M pairs/s  peak RSS {:>6.0} MiB  {:.2}x the HashMap time (target <= 2)", w1.0, mps(w1.0), w1.3, w1.0 / base.0);
    println!("  2 workers                 {:>7.2} s  {:>6.1} M pairs/s  peak RSS {:>6.0} MiB  {:.2}x faster than 1 worker (target >= 1.6)", w2.0, mps(w2.0), w2.3, w1.0 / w2.0);
    let budget_mib = (n * 16 / 10) as f64 / 1048576.0;
    println!(
        "  2 workers, budget {:.0} MiB {:>6.2} s  {:>6.1} M pairs/s  peak RSS {:>6.0} MiB = budget + {:.0} MiB (target <= +300), {:.2}x the in-memory time (target <= 3)",
        budget_mib, spill.0, mps(spill.0), spill.3, spill.3 - budget_mib, spill.0 / w2.0
    );
}
