//! Job and stage metrics, available programmatically and as JSON.

use serde::Serialize;

/// One stage (an exchange, or a named step) as seen by one worker, or summed over workers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageMetrics {
    /// Stage name.
    pub name: String,
    /// Records that entered the stage.
    pub records_in: u64,
    /// Records it produced.
    pub records_out: u64,
    /// Bytes sent through the exchange (in-memory size of the records).
    pub shuffle_bytes: u64,
    /// Bytes spilled during the stage.
    pub spilled_bytes: u64,
    /// Bytes read back from spill files during the stage.
    pub read_back_bytes: u64,
    /// Wall-clock seconds (the slowest worker's, once merged).
    pub seconds: f64,
}

/// Totals of a job plus its stages.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobMetrics {
    /// Workers in this process.
    pub workers: usize,
    /// Processes in the job.
    pub processes: usize,
    /// Sum of records entering stages.
    pub records_in: u64,
    /// Sum of records leaving stages.
    pub records_out: u64,
    /// Bytes exchanged between workers.
    pub shuffle_bytes: u64,
    /// Bytes written to spill files (blocks and shuffle runs).
    pub spilled_bytes: u64,
    /// Bytes read back from spill files.
    pub read_back_bytes: u64,
    /// Wall-clock seconds of the whole job in this process.
    pub seconds: f64,
    /// Stages in execution order, summed over this process's workers.
    pub stages: Vec<StageMetrics>,
}

impl JobMetrics {
    /// Peak resident memory of this process so far (VmHWM), in bytes, where the OS
    /// reports it.
    pub fn peak_rss_bytes() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// Adds another worker's metrics: counters add up, stage times take the maximum.
    pub(crate) fn merge_worker(&mut self, other: &JobMetrics) {
        self.records_in += other.records_in;
        self.records_out += other.records_out;
        self.shuffle_bytes += other.shuffle_bytes;
        self.spilled_bytes += other.spilled_bytes;
        self.read_back_bytes += other.read_back_bytes;
        for (i, s) in other.stages.iter().enumerate() {
            match self.stages.get_mut(i) {
                Some(mine) => {
                    mine.records_in += s.records_in;
                    mine.records_out += s.records_out;
                    mine.shuffle_bytes += s.shuffle_bytes;
                    mine.spilled_bytes += s.spilled_bytes;
                    mine.read_back_bytes += s.read_back_bytes;
                    mine.seconds = mine.seconds.max(s.seconds);
                }
                None => self.stages.push(s.clone()),
            }
        }
    }

    /// The metrics as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("metrics serialise")
    }
}
