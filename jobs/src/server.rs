//! The job server: an HTTP JSON API (axum on tokio), durable history in SQLite, a
//! dispatcher that runs each job as a supervised `morpheus run` child process (its own
//! workers and memory budget; killed on cancel or timeout), and a cron scheduler.
//!
//! Routes (all JSON unless noted):
//! - `POST /api/v1/jobs` — body: a TOML spec; query `set=key=value` (repeatable). 201 with
//!   `{"id", "state"}`; a spec with a `[schedule]` registers (or replaces, by name) a
//!   schedule instead: 201 with `{"schedule_id", "next_run"}`.
//! - `GET /api/v1/jobs?state=&limit=&offset=` — newest first.
//! - `GET /api/v1/jobs/{id}` — state, timings, error, metrics with per-stage figures.
//! - `POST /api/v1/jobs/{id}/cancel`
//! - `GET /api/v1/jobs/{id}/logs` — text.
//! - `GET /api/v1/schedules`
//! - `DELETE /api/v1/schedules/{id}` — stops the schedule firing; jobs it already started
//!   (queued or running) go on, and its history stays.
//!
//! Every accepted job is committed to SQLite (WAL, synchronous=FULL) before the reply.
//! On start, runs left `running` by a crash are marked failed, or queued again when the
//! spec allows retries. Children watch the server's pid and stop when it dies.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value as Json_};
use tokio::sync::Notify;

use crate::spec::{Catchup, LoadOptions, Spec};

mod child;
mod schedule;

use child::dispatcher;
use schedule::{catch_up, next_fire, scheduler};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// State directory: `morpheus.db`, per-job directories with specs, logs and metrics.
    pub state_dir: PathBuf,
    /// Relative paths in specs resolve here; outputs must stay inside it.
    pub data_root: PathBuf,
    /// Bearer token required on every request (required off loopback).
    pub token: Option<String>,
    /// Jobs running at once.
    pub max_concurrent: usize,
    /// The `morpheus` executable that runs jobs (`morpheus run …`).
    pub exe: PathBuf,
}

/// Seconds since the epoch.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A failure to report over HTTP.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

/// The longest error message a response carries (user input inside is clipped to
/// [`crate::CLIP_BYTES`] where it is quoted; this bounds the whole).
const MAX_ERROR_BYTES: usize = 4096;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = crate::clip_to(&self.1, MAX_ERROR_BYTES);
        (self.0, Json(json!({ "error": message }))).into_response()
    }
}

/// Every error answer as JSON `{"error": …}`: axum's own rejections (a body over the
/// limit, a body that is not UTF-8, an id that is not a number, a wrong method) answer in
/// plain text; they are rewritten here, their text clipped.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let text = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        t => crate::clip(t).into_owned(),
    };
    ApiError(status, text).into_response()
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

type ApiResult = Result<(StatusCode, Json<Json_>), ApiError>;

/// Shared server state.
struct App {
    config: ServerConfig,
    db: Mutex<Connection>,
    /// Running jobs: their cancel signals.
    running: Mutex<HashMap<i64, Arc<Notify>>>,
    wake: Notify,
}

impl App {
    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Notify>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn job_dir(&self, id: i64) -> PathBuf {
        self.config.state_dir.join("jobs").join(id.to_string())
    }

    /// Incremental state of the pipeline `name` (odd characters in the name replaced).
    fn incremental_dir(&self, name: &str) -> PathBuf {
        self.config
            .state_dir
            .join("incremental")
            .join(crate::runner::file_name_for(name))
    }
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    sets TEXT NOT NULL,
    state TEXT NOT NULL,
    schedule_id INTEGER,
    attempt INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL,
    backoff REAL NOT NULL,
    timeout REAL,
    max_concurrent INTEGER NOT NULL,
    submitted_at REAL NOT NULL,
    run_after REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error TEXT,
    metrics TEXT,
    log_path TEXT,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);
CREATE INDEX IF NOT EXISTS jobs_schedule ON jobs(schedule_id, state);
CREATE TABLE IF NOT EXISTS stages (
    job_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    records_in INTEGER NOT NULL,
    records_out INTEGER NOT NULL,
    shuffle_bytes INTEGER NOT NULL,
    spilled_bytes INTEGER NOT NULL,
    read_back_bytes INTEGER NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    sets TEXT NOT NULL,
    cron TEXT NOT NULL,
    catchup TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    next_fire REAL,
    last_fire REAL,
    created_at REAL NOT NULL
);
";

/// Opens (creating) the state database and repairs what a crash left behind: runs still
/// marked running are failed, or queued again when retries remain.
///
/// # Errors
/// SQLite errors.
fn open_db(state_dir: &Path) -> Result<Connection, String> {
    std::fs::create_dir_all(state_dir.join("jobs"))
        .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
    let path = state_dir.join("morpheus.db");
    let db = Connection::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    db.execute_batch(SCHEMA)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let t = now();
    let msg = "the server stopped while this job ran";
    db.execute(
        "UPDATE jobs SET state = 'queued', attempt = attempt + 1, error = ?1, run_after = ?2, pid = NULL
         WHERE state = 'running' AND attempt < retries",
        params![format!("{msg}; retrying"), t],
    )
    .map_err(|e| e.to_string())?;
    let failed = db
        .execute(
            "UPDATE jobs SET state = 'failed', error = ?1, finished_at = ?2, pid = NULL
             WHERE state = 'running'",
            params![msg, t],
        )
        .map_err(|e| e.to_string())?;
    if failed > 0 {
        tracing::warn!("{failed} job(s) were running when the server stopped: marked failed");
    }
    Ok(db)
}

/// Runs the server until the process is stopped.
///
/// # Errors
/// A refused configuration (non-loopback without a token), the state database, or the
/// listener.
pub fn serve(config: ServerConfig) -> Result<(), String> {
    if !config.listen.ip().is_loopback() && config.token.is_none() {
        return Err(format!(
            "refusing to listen on {} without a token: pass --token-file (or listen on \
             127.0.0.1)",
            config.listen
        ));
    }
    std::fs::create_dir_all(&config.data_root)
        .map_err(|e| format!("cannot create {}: {e}", config.data_root.display()))?;
    let db = open_db(&config.state_dir)?;
    let app = Arc::new(App {
        config,
        db: Mutex::new(db),
        running: Mutex::new(HashMap::new()),
        wake: Notify::new(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        catch_up(&app).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(app.config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", app.config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // The address line is the readiness signal scripts and tests wait for.
        println!("listening on http://{addr}");
        tracing::info!(
            "job server on http://{addr}, state in {}",
            app.config.state_dir.display()
        );
        tokio::spawn(dispatcher(Arc::clone(&app)));
        tokio::spawn(scheduler(Arc::clone(&app)));
        axum::serve(listener, router(app))
            .await
            .map_err(|e| e.to_string())
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v1/jobs", get(list_jobs).post(submit))
        .route("/api/v1/jobs/{id}", get(show_job))
        .route("/api/v1/jobs/{id}/cancel", post(cancel_job))
        .route("/api/v1/jobs/{id}/logs", get(job_logs))
        .route("/api/v1/schedules", get(list_schedules))
        .route(
            "/api/v1/schedules/{id}",
            axum::routing::delete(delete_schedule),
        )
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "no such route (see /api/v1/jobs)".into(),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(app)
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &app.config.token else {
        return Ok(());
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    // Compare in constant time: no early exit on the first differing byte.
    let ok = given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token".into(),
        ))
    }
}

/// Query parameters in order, repeats kept (axum decodes them; a malformed query is a 400).
type Params = Query<Vec<(String, String)>>;

/// `key=value` pairs from repeated `set=` query parameters.
fn query_sets(query: &[(String, String)]) -> Result<Vec<(String, String)>, ApiError> {
    query
        .iter()
        .filter(|(k, _)| k == "set")
        .map(|(_, v)| {
            v.split_once('=')
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .ok_or_else(|| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        format!("set=`{}` is not key=value", crate::clip(v)),
                    )
                })
        })
        .collect()
}

fn query_param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn load_spec(app: &App, text: &str, sets: &[(String, String)]) -> Result<Spec, ApiError> {
    let options = LoadOptions {
        set: sets.to_vec(),
        base_dir: Some(app.config.data_root.clone()),
        data_root: Some(app.config.data_root.clone()),
        state_dir: Some(app.config.state_dir.clone()),
    };
    Spec::parse(text, "<request>", &options)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))
}

async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Params,
    body: String,
) -> ApiResult {
    authorize(&app, &headers)?;
    let sets = query_sets(&query)?;
    // Reading dataset schemas touches files: off the async threads.
    let (app2, text, sets2) = (Arc::clone(&app), body.clone(), sets.clone());
    let spec = tokio::task::spawn_blocking(move || load_spec(&app2, &text, &sets2))
        .await
        .map_err(internal)??;
    let sets_json = serde_json::to_string(&sets).map_err(internal)?;
    let t = now();
    if let Some(s) = &spec.schedule {
        let next = next_fire(&s.cron);
        let db = app.db();
        db.execute(
            "INSERT INTO schedules (name, spec, sets, cron, catchup, max_concurrent, next_fire, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, sets = excluded.sets,
                 cron = excluded.cron, catchup = excluded.catchup,
                 max_concurrent = excluded.max_concurrent, next_fire = excluded.next_fire",
            params![
                spec.name,
                body,
                sets_json,
                s.cron,
                if s.catchup == Catchup::Once { "once" } else { "skip" },
                spec.max_concurrent as i64,
                next,
                t
            ],
        )
        .map_err(internal)?;
        let id: i64 = db
            .query_row(
                "SELECT id FROM schedules WHERE name = ?1",
                [&spec.name],
                |r| r.get(0),
            )
            .map_err(internal)?;
        return Ok((
            StatusCode::CREATED,
            Json(json!({ "schedule_id": id, "name": spec.name, "cron": s.cron, "next_run": next })),
        ));
    }
    let id = insert_job(&app.db(), &spec, &body, &sets_json, None).map_err(internal)?;
    app.wake.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "state": "queued" })),
    ))
}

fn insert_job(
    db: &Connection,
    spec: &Spec,
    text: &str,
    sets_json: &str,
    schedule: Option<i64>,
) -> rusqlite::Result<i64> {
    let t = now();
    db.execute(
        "INSERT INTO jobs (name, spec, sets, state, schedule_id, retries, backoff, timeout,
             max_concurrent, submitted_at, run_after)
         VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            spec.name,
            text,
            sets_json,
            schedule,
            spec.retries,
            spec.retry_backoff.as_secs_f64(),
            spec.timeout.map(|d| d.as_secs_f64()),
            spec.max_concurrent as i64,
            t
        ],
    )?;
    Ok(db.last_insert_rowid())
}

fn job_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<Json_> {
    let started: Option<f64> = r.get("started_at")?;
    let finished: Option<f64> = r.get("finished_at")?;
    Ok(json!({
        "id": r.get::<_, i64>("id")?,
        "name": r.get::<_, String>("name")?,
        "state": r.get::<_, String>("state")?,
        "attempt": r.get::<_, i64>("attempt")?,
        "schedule_id": r.get::<_, Option<i64>>("schedule_id")?,
        "submitted_at": r.get::<_, f64>("submitted_at")?,
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": match (started, finished) {
            (Some(s), Some(f)) => Some(f - s),
            _ => None,
        },
        "error": r.get::<_, Option<String>>("error")?,
    }))
}

const STATES: &[&str] = &["queued", "running", "succeeded", "failed", "cancelled"];

async fn list_jobs(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Params,
) -> ApiResult {
    authorize(&app, &headers)?;
    let q = query.as_slice();
    let num = |name: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match query_param(q, name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "`{name}` must be an integer from 0 to {max}, found `{}`",
                            crate::clip(v)
                        ),
                    )
                }),
        }
    };
    let limit = num("limit", 100, 10_000)?;
    let offset = num("offset", 0, i64::MAX)?;
    let state = query_param(q, "state");
    if let Some(s) = state {
        if !STATES.contains(&s) {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown state `{}` (expected one of {})",
                    crate::clip(s),
                    STATES.join(", ")
                ),
            ));
        }
    }
    let db = app.db();
    let (jobs, total) = (|| -> rusqlite::Result<(Vec<Json_>, i64)> {
        let mut stmt = db.prepare_cached(
            "SELECT id, name, state, attempt, schedule_id, submitted_at, started_at, finished_at, error
             FROM jobs WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        )?;
        let jobs = stmt
            .query_map(params![state, limit, offset], job_summary)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let total: i64 = db.query_row(
            "SELECT COUNT(*) FROM jobs WHERE (?1 IS NULL OR state = ?1)",
            params![state],
            |r| r.get(0),
        )?;
        Ok((jobs, total))
    })()
    .map_err(internal)?;
    Ok((
        StatusCode::OK,
        Json(json!({ "jobs": jobs, "total": total, "limit": limit, "offset": offset })),
    ))
}

fn not_found(id: i64) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no job {id}"))
}

async fn show_job(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult {
    authorize(&app, &headers)?;
    let db = app.db();
    let job = (|| -> rusqlite::Result<Option<Json_>> {
        let mut stmt = db.prepare_cached("SELECT * FROM jobs WHERE id = ?1")?;
        let Some((mut summary, metrics, spec, sets, log, pid)) = stmt
            .query_row([id], |r| {
                Ok((
                    job_summary(r)?,
                    r.get::<_, Option<String>>("metrics")?,
                    r.get::<_, String>("spec")?,
                    r.get::<_, String>("sets")?,
                    r.get::<_, Option<String>>("log_path")?,
                    r.get::<_, Option<i64>>("pid")?,
                ))
            })
            .optional()?
        else {
            return Ok(None);
        };
        let mut stages = db.prepare_cached(
            "SELECT name, records_in, records_out, shuffle_bytes, spilled_bytes, read_back_bytes, seconds
             FROM stages WHERE job_id = ?1 ORDER BY idx",
        )?;
        let stages = stages
            .query_map([id], |r| {
                Ok(json!({
                    "name": r.get::<_, String>(0)?,
                    "records_in": r.get::<_, i64>(1)?,
                    "records_out": r.get::<_, i64>(2)?,
                    "shuffle_bytes": r.get::<_, i64>(3)?,
                    "spilled_bytes": r.get::<_, i64>(4)?,
                    "read_back_bytes": r.get::<_, i64>(5)?,
                    "seconds": r.get::<_, f64>(6)?,
                }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if let Some(obj) = summary.as_object_mut() {
            let metrics: Json_ = metrics
                .and_then(|m| serde_json::from_str(&m).ok())
                .unwrap_or(Json_::Null);
            obj.insert("spilled_bytes".into(), metrics.get("spilled_bytes").cloned().unwrap_or(Json_::Null));
            obj.insert("outputs".into(), metrics.get("outputs").cloned().unwrap_or(json!([])));
            obj.insert("metrics".into(), metrics);
            obj.insert("stages".into(), Json_::Array(stages));
            obj.insert("spec".into(), spec.into());
            obj.insert("sets".into(), serde_json::from_str(&sets).unwrap_or(Json_::Null));
            obj.insert("log_path".into(), log.into());
            obj.insert("pid".into(), pid.into());
        }
        Ok(Some(summary))
    })()
    .map_err(internal)?;
    match job {
        Some(j) => Ok((StatusCode::OK, Json(j))),
        None => Err(not_found(id)),
    }
}

async fn cancel_job(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult {
    authorize(&app, &headers)?;
    let state: Option<String> = app
        .db()
        .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(internal)?;
    match state.as_deref() {
        None => Err(not_found(id)),
        Some("queued") => {
            app.db()
                .execute(
                    "UPDATE jobs SET state = 'cancelled', finished_at = ?2, error = 'cancelled before it started'
                     WHERE id = ?1 AND state = 'queued'",
                    params![id, now()],
                )
                .map_err(internal)?;
            Ok((
                StatusCode::OK,
                Json(json!({ "id": id, "state": "cancelled" })),
            ))
        }
        Some("running") => {
            if let Some(n) = app.running().get(&id) {
                n.notify_one();
            }
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "id": id, "state": "cancelling" })),
            ))
        }
        Some(other) => Err(ApiError(
            StatusCode::CONFLICT,
            format!("job {id} already finished ({other})"),
        )),
    }
}

async fn job_logs(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let exists: Option<i64> = app
        .db()
        .query_row("SELECT id FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(internal)?;
    if exists.is_none() {
        return Err(not_found(id));
    }
    let path = app.job_dir(id).join("log.txt");
    let text = match tokio::fs::read(&path).await {
        Ok(b) => {
            // The last MiB at most.
            let start = b.len().saturating_sub(1 << 20);
            String::from_utf8_lossy(&b[start..]).into_owned()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(internal(e)),
    };
    Ok(([("content-type", "text/plain; charset=utf-8")], text).into_response())
}

async fn list_schedules(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult {
    authorize(&app, &headers)?;
    let db = app.db();
    let list = (|| -> rusqlite::Result<Vec<Json_>> {
        let mut stmt = db.prepare_cached(
            "SELECT s.id, s.name, s.cron, s.catchup, s.max_concurrent, s.next_fire, s.last_fire,
                    (SELECT COUNT(*) FROM jobs j WHERE j.schedule_id = s.id)
             FROM schedules s ORDER BY s.id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(json!({
                    "id": r.get::<_, i64>(0)?,
                    "name": r.get::<_, String>(1)?,
                    "cron": r.get::<_, String>(2)?,
                    "catchup": r.get::<_, String>(3)?,
                    "max_concurrent": r.get::<_, i64>(4)?,
                    "next_run": r.get::<_, Option<f64>>(5)?,
                    "last_run": r.get::<_, Option<f64>>(6)?,
                    "runs": r.get::<_, i64>(7)?,
                }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })()
    .map_err(internal)?;
    Ok((StatusCode::OK, Json(json!({ "schedules": list }))))
}

async fn delete_schedule(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> ApiResult {
    authorize(&app, &headers)?;
    let db = app.db();
    let name: Option<String> = db
        .query_row(
            "DELETE FROM schedules WHERE id = ?1 RETURNING name",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(internal)?;
    match name {
        Some(name) => {
            tracing::info!(schedule = id, %name, "schedule deleted");
            Ok((
                StatusCode::OK,
                Json(json!({ "id": id, "name": name, "deleted": true })),
            ))
        }
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no schedule {id}"))),
    }
}
