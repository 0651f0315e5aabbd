//! Engine behaviour: exchange correctness for several worker counts, failure propagation
//! without hangs, configuration checks.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::sync::mpsc;
use std::time::Duration;

use morpheus_engine::{execute, Config, Error};

/// Runs `f` on a thread and fails the test if it takes longer than `secs`.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("job hung")
}

#[test]
fn exchange_delivers_every_record_to_its_worker() {
    for workers in [1, 2, 4] {
        let (results, metrics) = execute(Config::threads(workers), move |ctx| {
            let peers = ctx.peers() as u64;
            let mut out = vec![Vec::new(); ctx.peers()];
            // Worker w sends (w, i) for i in 0..1000 to worker i % peers.
            for i in 0..100_000u64 {
                out[(i % peers) as usize].push((ctx.index() as u64, i));
            }
            let got = ctx.exchange("spray", out)?;
            assert!(got.iter().all(|(_, i)| i % peers == ctx.index() as u64));
            Ok(got.len())
        })
        .unwrap();
        assert_eq!(results.iter().sum::<usize>(), 100_000 * workers);
        assert_eq!(metrics.stages.len(), 1);
        assert_eq!(metrics.stages[0].records_in, 100_000 * workers as u64);
        assert_eq!(metrics.stages[0].records_out, 100_000 * workers as u64);
        assert!(metrics.shuffle_bytes > 0);
    }
}

#[test]
fn all_gather_returns_values_in_worker_order() {
    let (results, _) = execute(Config::threads(3), |ctx| {
        ctx.all_gather("g", ctx.index() * 10)
    })
    .unwrap();
    for r in results {
        assert_eq!(r, vec![0, 10, 20]);
    }
}

#[test]
fn a_panicking_worker_fails_the_job_naming_it_without_hanging() {
    let err = within(30, || {
        execute(Config::threads(2), |ctx| {
            if ctx.index() == 1 {
                panic!("boom in worker one");
            }
            // Worker 0 reaches a collective step and must not wait forever for worker 1.
            let out = vec![vec![1u64]; ctx.peers()];
            ctx.exchange("after-panic", out)?;
            Ok(())
        })
        .unwrap_err()
    });
    match err {
        Error::WorkerPanicked { worker, message } => {
            assert_eq!(worker, 1);
            assert!(message.contains("boom in worker one"));
        }
        other => panic!("expected a panic report, got {other}"),
    }
}

#[test]
fn a_worker_error_is_the_root_cause_reported() {
    let err = within(30, || {
        execute(Config::threads(4), |ctx| {
            if ctx.index() == 2 {
                return Err(Error::Job("input file is missing".into()));
            }
            for _ in 0..3 {
                ctx.exchange("loop", vec![vec![0u8]; ctx.peers()])?;
            }
            Ok(())
        })
        .unwrap_err()
    });
    assert!(
        matches!(err, Error::Job(ref m) if m == "input file is missing"),
        "{err}"
    );
}

#[test]
fn configuration_is_validated() {
    let mut c = Config::threads(2);
    c.process_id = 3;
    c.processes = 2;
    assert!(matches!(
        execute(c, |_| Ok(())),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        execute(Config::threads(0), |_| Ok(())),
        Err(Error::InvalidConfig(_))
    ));
    let tiny = Config::threads(2).with_memory_budget(500);
    assert!(execute(tiny, |_| Ok(()))
        .unwrap_err()
        .to_string()
        .contains("256 B per worker"));
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1:3000\nnot-an-address\n").unwrap();
    let mut c = Config::default();
    c.processes = 2;
    c.hostfile = Some(hosts.clone());
    let err = c.addresses().unwrap_err().to_string();
    assert!(
        err.contains("line 2") && err.contains("not-an-address"),
        "{err}"
    );
    std::fs::write(&hosts, "127.0.0.1:3000\n").unwrap();
    assert!(c
        .addresses()
        .unwrap_err()
        .to_string()
        .contains("names 1 hosts"));
}

#[test]
fn spill_dir_is_private_and_removed_after_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::threads(2)
        .with_memory_budget(64 << 10)
        .with_spill_dir(dir.path());
    let (_, metrics) = execute(config, |ctx| {
        for p in 0..20u32 {
            let id = morpheus_engine::BlockId::new(0, p);
            ctx.blocks().put(
                id,
                vec![u64::from(p); 1000],
                morpheus_engine::StorageLevel::MemoryAndDisk,
            )?;
        }
        Ok(())
    })
    .unwrap();
    assert!(metrics.spilled_bytes > 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
