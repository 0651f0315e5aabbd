//! Error type of the engine.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of job execution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is not usable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// More workers per process than the machine can run well, without `force_workers`.
    #[error(
        "{workers} workers per process exceed the limit of {limit} ({per_core} per available \
         core, {cores} cores); use fewer, or pass --force-workers (`force_workers = true` in a \
         job spec) to run them anyway",
        per_core = crate::config::WORKERS_PER_CORE
    )]
    TooManyWorkers {
        /// Workers asked for.
        workers: usize,
        /// The limit.
        limit: usize,
        /// Cores available to the process.
        cores: usize,
    },
    /// A cluster peer's connection failed mid-run (the process died or the network
    /// failed).
    #[error("process {process} ({address}) disconnected")]
    Disconnected {
        /// The peer's process index.
        process: usize,
        /// Its `host:port`.
        address: String,
    },
    /// Cluster peers did not all connect within the connect timeout.
    #[error(
        "gave up after {}s waiting for {} (--connect-timeout); is every process started, with the same hostfile?",
        .waited.as_secs_f64(),
        .missing.join(", ")
    )]
    ConnectTimeout {
        /// How long this process waited.
        waited: std::time::Duration,
        /// The processes that never connected, as `process N (host:port)`.
        missing: Vec<String>,
    },
    /// Cluster processes were started with different work: refused before any of it.
    #[error(
        "process {process} ({address}) runs with a different {field}: `{there}` there, `{here}` here; \
         every process must run the same command on the same store"
    )]
    Mismatch {
        /// The peer's process index.
        process: usize,
        /// Its `host:port`.
        address: String,
        /// What differs.
        field: String,
        /// This process's value.
        here: String,
        /// The peer's value.
        there: String,
    },
    /// This process's cluster address cannot be listened on.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The `host:port` of this process in the hostfile.
        address: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A worker panicked.
    #[error("worker {worker} panicked: {message}")]
    WorkerPanicked {
        /// Global worker index.
        worker: usize,
        /// The panic message.
        message: String,
    },
    /// A worker failed with an error.
    #[error("worker {worker} failed: {source}")]
    WorkerFailed {
        /// Global worker index.
        worker: usize,
        /// The error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// This worker stopped because another one failed (the job's error names that one).
    #[error("stopped because worker {worker} failed")]
    Aborted {
        /// The worker that failed first.
        worker: usize,
    },
    /// Block storage or spilling failed.
    #[error(transparent)]
    Spill(#[from] morpheus_spill::Error),
    /// Timely could not start (for example, a cluster peer is unreachable).
    #[error("cannot start workers: {0}")]
    Startup(String),
    /// A job-level error raised by user code.
    #[error("{0}")]
    Job(String),
    /// File I/O outside the spill path (inputs and outputs of a job).
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
