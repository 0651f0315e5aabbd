//! The dispatcher: queued jobs run as supervised `morpheus run` child processes (killed on
//! cancel or timeout); their outcome, metrics and final error are recorded.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use serde_json::Value as Json_;
use tokio::sync::Notify;

use super::{load_spec, now, App};

/// A queued job ready to start.
struct Ready {
    id: i64,
    spec: String,
    sets: Vec<(String, String)>,
    attempt: i64,
    retries: i64,
    backoff: f64,
    timeout: Option<f64>,
}

/// Starts queued jobs while fewer than `max_concurrent` run (and fewer than each
/// pipeline's own `max_concurrent` of the same name).
pub(super) async fn dispatcher(app: Arc<App>) {
    loop {
        let _ = tokio::time::timeout(Duration::from_millis(200), app.wake.notified()).await;
        loop {
            let free = app
                .config
                .max_concurrent
                .saturating_sub(app.running().len());
            if free == 0 {
                break;
            }
            let next = match pick(&app) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("dispatcher: {e}");
                    None
                }
            };
            let Some(job) = next else { break };
            let cancel = Arc::new(Notify::new());
            app.running().insert(job.id, Arc::clone(&cancel));
            tokio::spawn(supervise(Arc::clone(&app), job, cancel));
        }
    }
}

fn pick(app: &App) -> rusqlite::Result<Option<Ready>> {
    let db = app.db();
    let mut stmt = db.prepare_cached(
        "SELECT j.id, j.spec, j.sets, j.attempt, j.retries, j.backoff, j.timeout
         FROM jobs j WHERE j.state = 'queued' AND j.run_after <= ?1
           AND (SELECT COUNT(*) FROM jobs r WHERE r.state = 'running' AND r.name = j.name) < j.max_concurrent
         ORDER BY j.id LIMIT 1",
    )?;
    let job = stmt
        .query_row([now()], |r| {
            let sets: String = r.get(2)?;
            Ok(Ready {
                id: r.get(0)?,
                spec: r.get(1)?,
                sets: serde_json::from_str(&sets).unwrap_or_default(),
                attempt: r.get(3)?,
                retries: r.get(4)?,
                backoff: r.get(5)?,
                timeout: r.get(6)?,
            })
        })
        .optional()?;
    if let Some(j) = &job {
        db.execute(
            "UPDATE jobs SET state = 'running', started_at = ?2, finished_at = NULL WHERE id = ?1",
            params![j.id, now()],
        )?;
    }
    Ok(job)
}

/// How a child run ended.
enum End {
    Exited(std::process::ExitStatus),
    TimedOut(f64),
    Cancelled,
    SpawnFailed(String),
}

async fn supervise(app: Arc<App>, job: Ready, cancel: Arc<Notify>) {
    let id = job.id;
    let end = run_child(&app, &job, &cancel).await;
    let app2 = Arc::clone(&app);
    let _ = tokio::task::spawn_blocking(move || {
        if let Err(e) = finish(&app2, &job, end) {
            tracing::error!("job {id}: cannot record the outcome: {e}");
        }
    })
    .await;
    app.running().remove(&id);
    app.wake.notify_one();
}

async fn run_child(app: &App, job: &Ready, cancel: &Notify) -> End {
    let dir = app.job_dir(job.id);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return End::SpawnFailed(format!("cannot create {}: {e}", dir.display()));
    }
    let spec_path = dir.join("spec.toml");
    let log_path = dir.join("log.txt");
    let metrics_path = dir.join("metrics.json");
    let _ = std::fs::remove_file(&metrics_path);
    if let Err(e) = std::fs::write(&spec_path, &job.spec) {
        return End::SpawnFailed(format!("cannot write {}: {e}", spec_path.display()));
    }
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
    {
        Ok(f) => f,
        Err(e) => return End::SpawnFailed(format!("cannot open {}: {e}", log_path.display())),
    };
    let log2 = match log.try_clone() {
        Ok(f) => f,
        Err(e) => return End::SpawnFailed(e.to_string()),
    };
    {
        use std::io::Write;
        let mut l = &log;
        let _ = writeln!(
            l,
            "=== attempt {} of job {} started at {:.3}",
            job.attempt + 1,
            job.id,
            now()
        );
    }
    let mut cmd = tokio::process::Command::new(&app.config.exe);
    cmd.arg("run")
        .arg(&spec_path)
        .arg("--metrics")
        .arg(&metrics_path)
        .arg("--parent-pid")
        .arg(std::process::id().to_string())
        .arg("--data-root")
        .arg(&app.config.data_root)
        .arg("--state-dir")
        .arg(&app.config.state_dir)
        .current_dir(&app.config.data_root)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in &job.sets {
        cmd.arg("--set").arg(format!("{k}={v}"));
    }
    // Incremental pipelines keep their state under the server's state directory, one
    // directory per pipeline name, so every run of the pipeline updates the last one's.
    if let Ok(spec) = load_spec(app, &job.spec, &job.sets) {
        if spec.incremental {
            cmd.arg("--incremental-state")
                .arg(app.incremental_dir(&spec.name));
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return End::SpawnFailed(format!("cannot start {}: {e}", app.config.exe.display()))
        }
    };
    let pid = child.id();
    {
        let db = app.db();
        let _ = db.execute(
            "UPDATE jobs SET pid = ?2, log_path = ?3 WHERE id = ?1",
            params![job.id, pid, log_path.to_string_lossy()],
        );
    }
    let limit = job.timeout.map(Duration::from_secs_f64);
    let timer = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        status = child.wait() => match status {
            Ok(s) => End::Exited(s),
            Err(e) => End::SpawnFailed(e.to_string()),
        },
        () = timer => {
            let _ = child.kill().await;
            End::TimedOut(job.timeout.unwrap_or(0.0))
        }
        () = cancel.notified() => {
            let _ = child.kill().await;
            End::Cancelled
        }
    }
}

/// The `error:` line the run wrote to the log in its last attempt (after the last
/// `=== attempt` header), if any.
fn logged_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .take_while(|l| !l.starts_with("=== attempt"))
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim().to_owned())
}

/// Why a child that did not succeed failed: killed by a signal, else its `error:` line,
/// else its exit code.
fn exit_error(log: &Path, status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        return format!("killed by signal {sig}");
    }
    logged_error(log).unwrap_or_else(|| match status.code() {
        Some(c) => format!("the run exited with code {c}"),
        None => format!("the run ended with {status}"),
    })
}

/// Appends `error` to the log unless it is already its last line: a job's log ends with
/// its final error.
fn log_final_error(log: &Path, error: &str) {
    use std::io::Write;
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
        == Some(error)
    {
        return;
    }
    let line = if error.starts_with("error:") {
        error.to_owned()
    } else {
        format!("error: {error}")
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = appended {
        tracing::warn!("cannot append to {}: {e}", log.display());
    }
}

fn finish(app: &App, job: &Ready, end: End) -> rusqlite::Result<()> {
    let dir = app.job_dir(job.id);
    let log = dir.join("log.txt");
    let t = now();
    let (state, error) = match end {
        End::Exited(s) if s.success() => ("succeeded", None),
        End::Exited(s) => ("failed", Some(exit_error(&log, s))),
        End::TimedOut(secs) => ("failed", Some(format!("timed out after {secs}s"))),
        End::Cancelled => ("cancelled", Some("cancelled".to_owned())),
        End::SpawnFailed(e) => ("failed", Some(e)),
    };
    if let Some(e) = &error {
        log_final_error(&log, e);
    }
    let metrics = std::fs::read_to_string(dir.join("metrics.json")).ok();
    let mut db = app.db();
    let tx = db.transaction()?;
    if let Some(m) = metrics
        .as_deref()
        .and_then(|m| serde_json::from_str::<Json_>(m).ok())
    {
        tx.execute("DELETE FROM stages WHERE job_id = ?1", [job.id])?;
        if let Some(stages) = m.get("stages").and_then(Json_::as_array) {
            for (i, s) in stages.iter().enumerate() {
                let n = |k: &str| s.get(k).and_then(Json_::as_i64).unwrap_or(0);
                tx.execute(
                    "INSERT INTO stages VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        job.id,
                        i as i64,
                        s.get("name").and_then(Json_::as_str).unwrap_or(""),
                        n("records_in"),
                        n("records_out"),
                        n("shuffle_bytes"),
                        n("spilled_bytes"),
                        n("read_back_bytes"),
                        s.get("seconds").and_then(Json_::as_f64).unwrap_or(0.0)
                    ],
                )?;
            }
        }
    }
    let retry = state == "failed" && job.attempt < job.retries;
    if retry {
        let wait = job.backoff * 2f64.powi(job.attempt.min(16) as i32);
        tx.execute(
            "UPDATE jobs SET state = 'queued', attempt = attempt + 1, run_after = ?2, error = ?3,
                 metrics = ?4, pid = NULL WHERE id = ?1",
            params![
                job.id,
                t + wait,
                error.map(|e| format!("attempt {} failed: {e}; retrying", job.attempt + 1)),
                metrics
            ],
        )?;
    } else {
        tx.execute(
            "UPDATE jobs SET state = ?2, finished_at = ?3, error = ?4, metrics = ?5, pid = NULL
             WHERE id = ?1",
            params![job.id, state, t, error, metrics],
        )?;
    }
    tx.commit()
}
