//! The cron scheduler: firings become queued jobs (or failed ones, when the spec no longer
//! validates), and missed firings are caught up on start.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection};

use super::{insert_job, load_spec, now, App};

/// The next firing of `cron` after now, in seconds since the epoch (None: it never fires
/// again, or no longer parses).
pub(super) fn next_fire(cron: &str) -> Option<f64> {
    crate::spec::parse_cron(cron)
        .ok()
        .and_then(|c| c.find_next_occurrence(&chrono::Utc::now(), false).ok())
        .map(|d| d.timestamp_millis() as f64 / 1000.0)
}

/// Missed schedules on start: run once (catchup = "once") or skip; either way the next
/// firing is computed from now.
pub(super) fn catch_up(app: &App) -> rusqlite::Result<()> {
    let db = app.db();
    let t = now();
    let mut stmt =
        db.prepare("SELECT id, spec, sets, cron, catchup, next_fire, name FROM schedules")?;
    type Row = (i64, String, String, String, String, Option<f64>, String);
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (id, text, sets, cron, catchup, next, name) in rows {
        let missed = next.is_some_and(|n| n < t);
        if missed && catchup == "once" {
            let sets: Vec<(String, String)> = serde_json::from_str(&sets).unwrap_or_default();
            match load_spec(app, &text, &sets) {
                Ok(spec) => {
                    let sets_json = serde_json::to_string(&sets).unwrap_or_default();
                    insert_job(&db, &spec, &text, &sets_json, Some(id))?;
                    tracing::info!(
                        "schedule {id} missed a run while the server was down: running once"
                    );
                }
                Err(e) => {
                    let sets_json = serde_json::to_string(&sets).unwrap_or_default();
                    insert_failed_firing(&db, id, &name, &text, &sets_json, &e.1)?;
                }
            }
        }
        let next = next_fire(&cron);
        db.execute(
            "UPDATE schedules SET next_fire = ?2 WHERE id = ?1",
            params![id, next],
        )?;
    }
    Ok(())
}

/// Fires due schedules: a job per firing, unless the pipeline already has
/// `max_concurrent` runs queued or running.
pub(super) async fn scheduler(app: Arc<App>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let app2 = Arc::clone(&app);
        let fired = tokio::task::spawn_blocking(move || fire_due(&app2)).await;
        match fired {
            Ok(Ok(n)) if n > 0 => app.wake.notify_one(),
            Ok(Err(e)) => tracing::error!("scheduler: {e}"),
            _ => {}
        }
    }
}

fn fire_due(app: &App) -> rusqlite::Result<usize> {
    let t = now();
    let due: Vec<(i64, String, String, String, i64, String)> = {
        let db = app.db();
        let mut stmt = db.prepare_cached(
            "SELECT id, spec, sets, cron, max_concurrent, name FROM schedules
             WHERE next_fire IS NOT NULL AND next_fire <= ?1",
        )?;
        let rows = stmt
            .query_map([t], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows
    };
    let mut fired = 0;
    for (id, text, sets_json, cron, max, name) in due {
        let sets: Vec<(String, String)> = serde_json::from_str(&sets_json).unwrap_or_default();
        let spec = load_spec(app, &text, &sets);
        let db = app.db();
        let next = next_fire(&cron);
        db.execute(
            "UPDATE schedules SET next_fire = ?2, last_fire = ?3 WHERE id = ?1",
            params![id, next, t],
        )?;
        let active: i64 = db.query_row(
            "SELECT COUNT(*) FROM jobs WHERE schedule_id = ?1 AND state IN ('queued', 'running')",
            [id],
            |r| r.get(0),
        )?;
        if active >= max {
            tracing::info!("schedule {id}: skipping a firing, {active} run(s) still active");
            continue;
        }
        match spec {
            Ok(spec) => {
                insert_job(&db, &spec, &text, &sets_json, Some(id))?;
                fired += 1;
            }
            Err(e) => insert_failed_firing(&db, id, &name, &text, &sets_json, &e.1)?,
        }
    }
    Ok(fired)
}

/// Records a firing of schedule `id` whose spec no longer validates (an input removed, …)
/// as a failed job with the reason, so it shows in the history and the schedule's runs.
fn insert_failed_firing(
    db: &Connection,
    id: i64,
    name: &str,
    text: &str,
    sets_json: &str,
    reason: &str,
) -> rusqlite::Result<()> {
    tracing::warn!("schedule {id}: spec no longer valid: {reason}");
    let t = now();
    let error = format!("the schedule's spec no longer validates: {reason}");
    db.execute(
        "INSERT INTO jobs (name, spec, sets, state, schedule_id, retries, backoff, max_concurrent,
             submitted_at, run_after, finished_at, error)
         VALUES (?1, ?2, ?3, 'failed', ?4, 0, 0, 1, ?5, ?5, ?5, ?6)",
        params![name, text, sets_json, id, t, error],
    )?;
    Ok(())
}
