//! Helpers shared by the RDD integration tests.

use std::sync::mpsc;
use std::time::Duration;

use morpheus_engine::{execute, Config, Context, JobMetrics, Result};

/// Runs a job on its own thread; fails the test if it hangs for two minutes or errors.
pub fn run<T: Send + 'static>(
    config: Config,
    f: impl for<'a> Fn(&Context<'a>) -> Result<T> + Send + Sync + 'static,
) -> (Vec<T>, JobMetrics) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(execute(config, f));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("job hung")
        .expect("job succeeds")
}

/// Runs `f` with 1, 2 and 4 workers; every worker of every run must return `want`.
pub fn check<T: PartialEq + std::fmt::Debug + Send + Clone + 'static>(
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
