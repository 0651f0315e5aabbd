//! Every operation against a plain sequential model, with 1, 2 and 4 workers; wide
//! operations again under a 64 KiB budget (same answer, spilled bytes > 0, spill directory
//! empty afterwards); MemoryOnly recomputation; spill failures surface as errors.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::time::Duration;

use morpheus_engine::{execute, Config, Context, Error, JobMetrics, Result, StorageLevel};
use morpheus_rdd::Rdd;
use proptest::prelude::*;

fn run<T: Send + 'static>(
    config: Config,
    f: impl for<'a> Fn(&Context<'a>) -> Result<T> + Send + Sync + 'static,
) -> (Vec<T>, JobMetrics) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(execute(config, f));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("job hung")
        .unwrap()
}

/// Runs `f` with 1, 2 and 4 workers; every worker of every run must return `want`.
fn check<T: PartialEq + std::fmt::Debug + Send + Clone + 'static>(
    want: T,
    f: impl for<'a> Fn(&Context<'a>) -> Result<T> + Send + Sync + Clone + 'static,
) {
    for workers in [1, 2, 4] {
        let (got, _) = run(Config::threads(workers).with_partitions(5), f.clone());
        for g in got {
            assert_eq!(g, want, "workers={workers}");
        }
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn pairs() -> impl Strategy<Value = Vec<(u8, i32)>> {
    proptest::collection::vec((0u8..20, -100i32..100), 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn narrow_ops_match_model(data in pairs()) {
        let want: Vec<(u8, i32)> = data.iter().filter(|(_, v)| v % 3 != 0).flat_map(|&(k, v)| [(k, v * 2), (k, v + 1)]).collect();
        let d = data.clone();
        check(want, move |ctx| {
            Rdd::parallelize(ctx, d.clone(), 0).filter(|(_, v)| v % 3 != 0).flat_map(|(k, v)| [(k, v * 2), (k, v + 1)]).collect(ctx)
        });
        let want_union: Vec<(u8, i32)> = data.iter().chain(data.iter()).copied().collect();
        let d = data.clone();
        check(want_union, move |ctx| {
            let a = Rdd::parallelize(ctx, d.clone(), 3);
            a.union(&a).collect(ctx)
        });
    }

    #[test]
    fn actions_match_model(data in pairs()) {
        let values: Vec<i64> = data.iter().map(|&(_, v)| i64::from(v)).collect();
        let want = (
            values.len() as u64,
            values.iter().copied().reduce(|a, b| a + b),
            values.iter().sum::<i64>() + 7 * 6,
            values.iter().take(5).copied().collect::<Vec<_>>(),
            sorted(values.clone()).into_iter().rev().take(4).collect::<Vec<_>>(),
            sorted(values.clone()).into_iter().take(4).collect::<Vec<_>>(),
            values.first().copied(),
        );
        let v = values.clone();
        check(want, move |ctx| {
            // 5 partitions with 7 as the zero: fold adds it once per partition plus once.
            let r = Rdd::parallelize(ctx, v.clone(), 5);
            Ok((
                r.count(ctx)?,
                r.reduce(ctx, |a, b| a + b)?,
                r.fold(ctx, 7, |a, b| a + b)?,
                r.take(ctx, 5)?,
                r.top(ctx, 4)?,
                r.take_ordered(ctx, 4)?,
                r.first(ctx)?,
            ))
        });
    }

    #[test]
    fn aggregations_match_model(data in pairs()) {
        let mut sums: BTreeMap<u8, i64> = BTreeMap::new();
        let mut groups: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
        let mut counts: HashMap<u8, u64> = HashMap::new();
        for &(k, v) in &data {
            *sums.entry(k).or_default() += i64::from(v);
            groups.entry(k).or_default().push(v);
            *counts.entry(k).or_default() += 1;
        }
        let groups: Vec<(u8, Vec<i32>)> = groups.into_iter().map(|(k, v)| (k, sorted(v))).collect();
        let sums: Vec<(u8, i64)> = sums.into_iter().collect();
        let maxes: Vec<(u8, i32)> = groups.iter().map(|(k, v)| (*k, *v.iter().max().unwrap())).collect();
        let want = (sums.clone(), sums.clone(), groups.clone(), maxes, counts.clone());
        let d = data.clone();
        check(want, move |ctx| {
            let r = Rdd::parallelize(ctx, d.clone(), 0).map_values(i64::from);
            let by_reduce = sorted(r.reduce_by_key(|a, b| a + b).collect(ctx)?);
            let by_fold = sorted(r.fold_by_key(0, |a, b| a + b).collect(ctx)?);
            let raw = Rdd::parallelize(ctx, d.clone(), 0);
            let grouped: Vec<(u8, Vec<i32>)> = sorted(raw.group_by_key().map_values(sorted).collect(ctx)?);
            let maxes = sorted(raw.aggregate_by_key(i32::MIN, |a, b| a.max(b), |a, b| a.max(b)).collect(ctx)?);
            Ok((by_reduce, by_fold, grouped, maxes, raw.count_by_key(ctx)?))
        });
    }

    #[test]
    fn joins_match_model(a in pairs(), b in pairs()) {
        let mut inner = Vec::new();
        let mut left = Vec::new();
        let mut full = Vec::new();
        for &(k, v) in &a {
            let matches: Vec<i32> = b.iter().filter(|(k2, _)| *k2 == k).map(|&(_, w)| w).collect();
            if matches.is_empty() {
                left.push((k, (v, None)));
                full.push((k, (Some(v), None)));
            }
            for w in matches {
                inner.push((k, (v, w)));
                left.push((k, (v, Some(w))));
                full.push((k, (Some(v), Some(w))));
            }
        }
        for &(k, w) in &b {
            if !a.iter().any(|(k2, _)| *k2 == k) {
                full.push((k, (None, Some(w))));
            }
        }
        let right: Vec<(u8, (Option<i32>, i32))> = full.iter().filter_map(|&(k, (v, w))| w.map(|w| (k, (v, w)))).collect();
        let want = (sorted(inner), sorted(left), sorted(right), sorted(full));
        let (a2, b2) = (a.clone(), b.clone());
        check(want, move |ctx| {
            let x = Rdd::parallelize(ctx, a2.clone(), 3);
            let y = Rdd::parallelize(ctx, b2.clone(), 4);
            Ok((
                sorted(x.join(&y).collect(ctx)?),
                sorted(x.left_outer_join(&y).collect(ctx)?),
                sorted(x.right_outer_join(&y).collect(ctx)?),
                sorted(x.full_outer_join(&y).collect(ctx)?),
            ))
        });
    }

    #[test]
    fn ordering_and_reshaping_match_model(data in pairs()) {
        let mut distinct: Vec<(u8, i32)> = data.clone();
        distinct.sort();
        distinct.dedup();
        let mut by_key = data.clone();
        by_key.sort_by_key(|(k, _)| *k);
        let keys_sorted: Vec<u8> = by_key.iter().map(|(k, _)| *k).collect();
        let mut desc: Vec<i32> = data.iter().map(|(_, v)| *v).collect();
        desc.sort_by(|a, b| b.cmp(a));
        let want = (distinct, keys_sorted, desc, sorted(data.clone()), data.len() as u64);
        let d = data.clone();
        check(want, move |ctx| {
            let r = Rdd::parallelize(ctx, d.clone(), 0);
            let distinct = sorted(r.distinct().collect(ctx)?);
            // sort_by_key is a global order: collected keys must come out sorted.
            let keys: Vec<u8> = r.sort_by_key(true, 3).keys().collect(ctx)?;
            let desc: Vec<i32> = r.sort_by(|(_, v)| *v, false, 4).values().collect(ctx)?;
            let reparted = sorted(r.repartition(7).collect(ctx)?);
            let indexed = r.zip_with_index().collect(ctx)?;
            assert!(indexed.iter().enumerate().all(|(i, (_, j))| i as u64 == *j));
            Ok((distinct, keys, desc, reparted, indexed.len() as u64))
        });
    }
}

#[test]
fn sample_is_deterministic_and_a_subset() {
    check(true, |ctx| {
        let r = Rdd::parallelize(ctx, (0..10_000u32).collect(), 8);
        let a = r.sample(0.1, 42).collect(ctx)?;
        let b = r.sample(0.1, 42).collect(ctx)?;
        Ok(a == b && a.len() > 800 && a.len() < 1200 && a.windows(2).all(|w| w[0] < w[1]))
    });
}

fn words(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("word-{}", (i * 7919) % (n / 3 + 1)))
        .collect()
}

#[test]
fn wide_ops_under_a_64k_budget_spill_and_match_in_memory() {
    let data = words(60_000);
    let job = move |ctx: &Context<'_>| -> Result<(Vec<(String, u64)>, Vec<String>, usize)> {
        let r = Rdd::parallelize(ctx, data.clone(), 0);
        let counts = sorted(
            r.map(|w| (w, 1u64))
                .reduce_by_key(|a, b| a + b)
                .collect(ctx)?,
        );
        let order: Vec<String> = r.sort_by(|w| w.clone(), true, 0).take(ctx, 50)?;
        let groups = r.map(|w| (w.len(), w)).group_by_key().count(ctx)? as usize;
        Ok((counts, order, groups))
    };
    let (want, _) = run(Config::threads(2), job.clone());
    for workers in [1, 2, 4] {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::threads(workers)
            .with_memory_budget(64 * 1024 * workers as u64)
            .with_spill_dir(dir.path());
        let (got, metrics) = run(config, job.clone());
        for g in &got {
            assert_eq!(g, &want[0], "workers={workers}");
        }
        assert!(
            metrics.spilled_bytes > 0,
            "workers={workers}: nothing spilled"
        );
        assert!(metrics.read_back_bytes > 0);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spill directory left behind"
        );
    }
}

#[test]
fn memory_only_evictions_are_recomputed_and_disk_levels_survive() {
    for level in [
        StorageLevel::MemoryOnly,
        StorageLevel::MemoryAndDisk,
        StorageLevel::DiskOnly,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::threads(2)
            .with_memory_budget(128 * 1024)
            .with_spill_dir(dir.path());
        let (got, metrics) = run(config, move |ctx| {
            let r = Rdd::parallelize(ctx, (0..200_000u64).collect(), 16)
                .map(|x| x * 3)
                .persist(level);
            let first = r.reduce(ctx, |a, b| a + b)?;
            let second = r.reduce(ctx, |a, b| a + b)?;
            r.unpersist(ctx);
            Ok((first, second))
        });
        let want = Some((0..200_000u64).map(|x| x * 3).sum::<u64>());
        for g in got {
            assert_eq!(g, (want, want), "{level:?}");
        }
        match level {
            StorageLevel::MemoryOnly => assert_eq!(metrics.spilled_bytes, 0),
            _ => assert!(metrics.spilled_bytes > 0, "{level:?}"),
        }
    }
}

#[test]
fn spill_failure_fails_the_job_within_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::threads(2)
        .with_memory_budget(128 * 1024)
        .with_spill_dir(dir.path());
    config.spill_fault_after_writes = Some(2);
    let data = words(60_000);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = execute(config, move |ctx| {
            Rdd::parallelize(ctx, data.clone(), 0)
                .map(|w| (w, 1u64))
                .reduce_by_key(|a, b| a + b)
                .count(ctx)
        });
        let _ = tx.send(r.map(|_| ()));
    });
    let err = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("job hung")
        .unwrap_err();
    assert!(matches!(err, Error::Spill(_)), "{err}");
    assert!(err.to_string().contains("no space left"), "{err}");
}

#[test]
fn text_files_split_at_lines_and_save_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let lines: Vec<String> = (0..5000)
        .map(|i| format!("line {i} {}", "x".repeat(i % 37)))
        .collect();
    std::fs::write(&input, lines.join("\r\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let (inp, o) = (input.clone(), out.clone());
    let (got, _) = run(Config::threads(2), move |ctx| {
        let r = Rdd::text_file(ctx, &inp, 7)?;
        r.save_as_text_file(ctx, &o)?;
        let again = r.save_as_text_file(ctx, &o);
        Ok((r.collect(ctx)?, again.is_err()))
    });
    for (g, refused) in got {
        assert_eq!(g, lines);
        assert!(refused, "an existing output is not overwritten");
    }
    let mut written = Vec::new();
    let mut parts: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    for p in parts {
        written.extend(
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    assert_eq!(written, lines);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary directory left"
    );
}
