//! Job configuration, built in code from the CLI's own flags (never timely's argv parser).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Workers per available core a process runs unless forced ([`Config::worker_limit`]).
pub const WORKERS_PER_CORE: usize = 4;

/// Where and how a job runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Worker threads per process. Default: 1.
    pub workers: usize,
    /// Number of processes. Default: 1.
    pub processes: usize,
    /// This process's index, `0..processes`. Default: 0.
    pub process_id: usize,
    /// File of `host:port` lines, one per process (cluster mode). Default: none, which
    /// means `127.0.0.1:2101+i`.
    pub hostfile: Option<PathBuf>,
    /// Memory budget of this process for blocks, split evenly among its workers.
    /// Default: 1 GiB.
    pub memory_budget_bytes: u64,
    /// Directory for spill files (each worker uses a private subdirectory, removed at the
    /// end). Default: the system temporary directory.
    pub spill_dir: PathBuf,
    /// Default number of partitions of new collections; 0 means 4 × total workers.
    pub partitions: usize,
    /// Run more workers per process than [`Config::worker_limit`] allows (the
    /// `--force-workers` flag). Default: false.
    pub force_workers: bool,
    /// Cluster mode: how long to wait for every process to connect. Default: 60 s.
    pub connect_timeout: std::time::Duration,
    /// Cluster mode: what this process runs, as `(field, value)` pairs (the command, the
    /// algorithm and its parameters, the store's id and last LSN, …). Before any work the
    /// processes exchange them, with the worker and process counts, and refuse to run on a
    /// difference. Default: empty.
    pub fingerprint: Vec<(String, String)>,
    /// Fault injection for tests: spill stores fail every write after this many.
    #[doc(hidden)]
    pub spill_fault_after_writes: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workers: 1,
            processes: 1,
            process_id: 0,
            hostfile: None,
            memory_budget_bytes: 1 << 30,
            spill_dir: std::env::temp_dir(),
            partitions: 0,
            force_workers: false,
            connect_timeout: std::time::Duration::from_secs(60),
            fingerprint: Vec::new(),
            spill_fault_after_writes: None,
        }
    }
}

impl Config {
    /// One worker thread.
    pub fn single_thread() -> Self {
        Self::default()
    }

    /// `n` worker threads in this process.
    pub fn threads(n: usize) -> Self {
        Self {
            workers: n,
            ..Self::default()
        }
    }

    /// Sets the memory budget (consuming setter).
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget_bytes = bytes;
        self
    }

    /// Sets the spill directory (consuming setter).
    pub fn with_spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = dir.into();
        self
    }

    /// Sets the default partition count (consuming setter).
    pub fn with_partitions(mut self, partitions: usize) -> Self {
        self.partitions = partitions;
        self
    }

    /// Sets whether more workers than [`Config::worker_limit`] may run (consuming setter).
    pub fn with_force_workers(mut self, force: bool) -> Self {
        self.force_workers = force;
        self
    }

    /// Adds a `(field, value)` pair to the fingerprint (consuming setter).
    pub fn with_fingerprint(mut self, field: impl Into<String>, value: impl ToString) -> Self {
        self.fingerprint.push((field.into(), value.to_string()));
        self
    }

    /// The most worker threads a process runs unless forced: 4 × the cores available to
    /// it (`std::thread::available_parallelism`, which honours CPU affinity and cgroup
    /// quotas), and the cores counted.
    pub fn worker_limit() -> (usize, usize) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (WORKERS_PER_CORE * cores, cores)
    }

    /// Total workers across processes.
    pub fn total_workers(&self) -> usize {
        self.workers * self.processes
    }

    /// The default partition count.
    pub fn default_partitions(&self) -> usize {
        if self.partitions == 0 {
            4 * self.total_workers()
        } else {
            self.partitions
        }
    }

    /// Checks ranges and that cluster settings agree.
    pub fn validate(&self) -> Result<()> {
        if self.workers == 0 || self.workers > 1024 {
            return Err(Error::InvalidConfig(format!(
                "workers must be 1..=1024, not {}",
                self.workers
            )));
        }
        let (limit, cores) = Self::worker_limit();
        if self.workers > limit && !self.force_workers {
            return Err(Error::TooManyWorkers {
                workers: self.workers,
                limit,
                cores,
            });
        }
        if self.processes == 0 {
            return Err(Error::InvalidConfig("processes must be at least 1".into()));
        }
        if self.process_id >= self.processes {
            return Err(Error::InvalidConfig(format!(
                "process id {} is not below the process count {}",
                self.process_id, self.processes
            )));
        }
        if (self.memory_budget_bytes as usize / self.workers) < 256 {
            return Err(Error::InvalidConfig(format!(
                "memory budget {} B leaves less than 256 B per worker",
                self.memory_budget_bytes
            )));
        }
        Ok(())
    }

    /// Host addresses of the processes: the hostfile's lines, or `127.0.0.1:2101+i`.
    pub fn addresses(&self) -> Result<Vec<String>> {
        let Some(path) = &self.hostfile else {
            return Ok((0..self.processes)
                .map(|i| format!("127.0.0.1:{}", 2101 + i))
                .collect());
        };
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let hosts: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        for (i, h) in hosts.iter().enumerate() {
            if !h.contains(':') {
                return Err(Error::InvalidConfig(format!(
                    "{}: line {}: `{h}` is not host:port",
                    path.display(),
                    i + 1
                )));
            }
        }
        if hosts.len() < self.processes {
            return Err(Error::InvalidConfig(format!(
                "{} names {} hosts, but {} processes were requested",
                path.display(),
                hosts.len(),
                self.processes
            )));
        }
        Ok(hosts.into_iter().take(self.processes).collect())
    }

    pub(crate) fn timely(&self) -> Result<timely::Config> {
        let communication = if self.processes > 1 {
            timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process_id,
                addresses: self.addresses()?,
                report: false,
                zerocopy: false,
            }
        } else if self.workers > 1 {
            timely::CommunicationConfig::Process(self.workers)
        } else {
            timely::CommunicationConfig::Thread
        };
        Ok(timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        })
    }
}
