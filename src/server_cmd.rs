//! `morpheus serve`, and its client: `morpheus submit`, `morpheus jobs …`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use morpheus_jobs::server::{serve, ServerConfig};
use serde_json::Value;

use crate::job_cmd::{parse_set, print_table};

/// The server a client talks to when `--server` is not given.
const DEFAULT_SERVER: &str = "http://127.0.0.1:7878";

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address to listen on (loopback by default; another address needs --token-file).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// State directory: the SQLite history, job specs, logs and metrics.
    #[arg(long, default_value = "morpheus-state")]
    state: PathBuf,
    /// Relative paths in specs resolve here, and outputs must stay inside it
    /// (default: STATE/data).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// File holding the bearer token clients must send.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Jobs running at once (each with its own workers and memory budget).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    max_concurrent: u32,
}

fn read_token(path: &Path) -> Result<String> {
    let t = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read token file {}", path.display()))?;
    let t = t.trim().to_owned();
    if t.is_empty() {
        bail!("token file {} is empty", path.display());
    }
    Ok(t)
}

pub(crate) fn serve_cmd(a: &ServeArgs) -> Result<ExitCode> {
    let token = a.token_file.as_deref().map(read_token).transpose()?;
    let state_dir = absolute(&a.state)?;
    let data_root = absolute(&a.data_root.clone().unwrap_or_else(|| a.state.join("data")))?;
    let config = ServerConfig {
        listen: a.listen,
        state_dir,
        data_root,
        token,
        max_concurrent: a.max_concurrent as usize,
        exe: std::env::current_exe().context("cannot find the morpheus executable")?,
    };
    serve(config).map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_owned())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// Where the client connects, and with which token.
#[derive(Args, Debug)]
pub(crate) struct ClientArgs {
    /// Server URL (default: $MORPHEUS_SERVER, else http://127.0.0.1:7878).
    #[arg(long)]
    server: Option<String>,
    /// File holding the bearer token (default: $MORPHEUS_TOKEN when set).
    #[arg(long)]
    token_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct SubmitArgs {
    /// Job spec (TOML).
    spec: PathBuf,
    /// Variable overrides, as for `morpheus run`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand, Debug)]
pub(crate) enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state (queued, running, succeeded, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one job: state, timings, outputs, per-stage metrics.
    Show {
        /// Job id.
        id: u64,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// Job id.
        id: u64,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List schedules: name, cron, next and last run, runs so far.
    Schedules {
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a schedule (by id, as `schedules` lists it): it stops firing; jobs it already
    /// started go on.
    Unschedule {
        /// Schedule id.
        id: u64,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print a job's log.
    Logs {
        /// Job id.
        id: u64,
        /// Accepted for symmetry; logs are text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    fn new(a: &ClientArgs) -> Result<Client> {
        let base = a
            .server
            .clone()
            .or_else(|| std::env::var("MORPHEUS_SERVER").ok())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let token = match &a.token_file {
            Some(p) => Some(read_token(p)?),
            None => std::env::var("MORPHEUS_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent,
        })
    }

    /// Sends a request with `query` parameters (ureq encodes them); returns the body of a
    /// 2xx answer, or an error with the server's message.
    fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<String>,
    ) -> Result<String> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let response = match (method, body) {
            ("POST", body) => {
                let mut r = self
                    .agent
                    .post(&url)
                    .query_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.header("content-type", "application/toml")
                    .send(body.unwrap_or_default())
            }
            ("DELETE", _) => {
                let mut r = self
                    .agent
                    .delete(&url)
                    .query_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.call()
            }
            _ => {
                let mut r = self
                    .agent
                    .get(&url)
                    .query_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.call()
            }
        };
        let mut response = response.map_err(|e| anyhow!("cannot reach {}: {e}", self.base))?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| anyhow!("reading the answer from {url}: {e}"))?;
        if status.is_success() {
            return Ok(text);
        }
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(text);
        bail!("{} ({status})", morpheus_jobs::clip_to(msg.trim(), 4096))
    }

    fn json(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<String>,
    ) -> Result<Value> {
        let text = self.call(method, path, query, body)?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "the server sent invalid JSON: {}",
                morpheus_jobs::clip(&text)
            )
        })
    }
}

pub(crate) fn submit_cmd(a: &SubmitArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.spec)
        .with_context(|| format!("cannot read {}", a.spec.display()))?;
    let client = Client::new(&a.client)?;
    let query: Vec<(&str, String)> = a
        .set
        .iter()
        .map(|(k, v)| ("set", format!("{k}={v}")))
        .collect();
    let v = client
        .json("POST", "/api/v1/jobs", &query, Some(text))
        .with_context(|| format!("submitting {}", a.spec.display()))?;
    if let Some(id) = v.get("id") {
        outln!("{id}")?;
    } else if let Some(id) = v.get("schedule_id") {
        outln!("{id}")?;
        eprintln!(
            "registered schedule {id} `{}` ({}); runs appear in `morpheus jobs list`",
            v.get("name").and_then(Value::as_str).unwrap_or(""),
            v.get("cron").and_then(Value::as_str).unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) from seconds since the epoch, or `-`.
fn fmt_time(v: &Value) -> String {
    v.as_f64()
        .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
        .map_or("-".to_owned(), |d| {
            d.format("%Y-%m-%d %H:%M:%S").to_string()
        })
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints a server answer: pretty JSON with `--json`, else the command's own view of it.
fn respond(
    v: &Value,
    json: bool,
    human: impl FnOnce(&Value) -> std::io::Result<()>,
) -> Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(v)?)?;
    } else {
        human(v)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the JSON array `list` as a table: one row per element, cells from `row`.
fn print_list(
    list: &Value,
    columns: &[&str],
    row: impl Fn(&Value) -> Vec<String>,
) -> std::io::Result<()> {
    let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    let rows: Vec<Vec<String>> = list
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(row)
        .collect();
    print_table(&columns, &rows, usize::MAX)
}

pub(crate) fn jobs_cmd(c: &JobsCommand) -> Result<ExitCode> {
    match c {
        JobsCommand::List {
            state,
            limit,
            json,
            client,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            if let Some(s) = state {
                query.push(("state", s.clone()));
            }
            let v = Client::new(client)?.json("GET", "/api/v1/jobs", &query, None)?;
            respond(&v, *json, |v| {
                print_list(
                    &v["jobs"],
                    &["id", "name", "state", "submitted", "seconds", "error"],
                    |j| {
                        vec![
                            cell(&j["id"]),
                            cell(&j["name"]),
                            cell(&j["state"]),
                            fmt_time(&j["submitted_at"]),
                            j["duration_seconds"]
                                .as_f64()
                                .map_or("-".to_owned(), |s| format!("{s:.2}")),
                            cell(&j["error"]),
                        ]
                    },
                )
            })
        }
        JobsCommand::Show { id, json, client } => {
            let v = Client::new(client)?.json("GET", &format!("/api/v1/jobs/{id}"), &[], None)?;
            respond(&v, *json, |v| {
                outln!(
                    "job {} `{}`: {}",
                    cell(&v["id"]),
                    cell(&v["name"]),
                    cell(&v["state"])
                )?;
                outln!("  submitted {}", fmt_time(&v["submitted_at"]))?;
                outln!("  started   {}", fmt_time(&v["started_at"]))?;
                outln!("  finished  {}", fmt_time(&v["finished_at"]))?;
                if let Some(s) = v["duration_seconds"].as_f64() {
                    outln!("  took      {s:.2}s")?;
                }
                if !v["error"].is_null() {
                    outln!("  error     {}", cell(&v["error"]))?;
                }
                if !v["spilled_bytes"].is_null() {
                    outln!("  spilled   {} bytes", cell(&v["spilled_bytes"]))?;
                }
                for o in v["outputs"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    outln!(
                        "  output    {} rows of `{}` in {}",
                        cell(&o["rows"]),
                        cell(&o["step"]),
                        cell(&o["path"])
                    )?;
                }
                if v["stages"].as_array().is_some_and(|s| !s.is_empty()) {
                    outln!("  stages:")?;
                    return print_list(
                        &v["stages"],
                        &[
                            "name",
                            "records in",
                            "records out",
                            "shuffle bytes",
                            "spilled bytes",
                            "seconds",
                        ],
                        |s| {
                            vec![
                                cell(&s["name"]),
                                cell(&s["records_in"]),
                                cell(&s["records_out"]),
                                cell(&s["shuffle_bytes"]),
                                cell(&s["spilled_bytes"]),
                                s["seconds"]
                                    .as_f64()
                                    .map_or("-".to_owned(), |x| format!("{x:.3}")),
                            ]
                        },
                    );
                }
                Ok(())
            })
        }
        JobsCommand::Cancel { id, json, client } => {
            let v = Client::new(client)?.json(
                "POST",
                &format!("/api/v1/jobs/{id}/cancel"),
                &[],
                None,
            )?;
            respond(&v, *json, |v| outln!("job {id}: {}", cell(&v["state"])))
        }
        JobsCommand::Schedules { json, client } => {
            let v = Client::new(client)?.json("GET", "/api/v1/schedules", &[], None)?;
            respond(&v, *json, |v| {
                print_list(
                    &v["schedules"],
                    &["id", "name", "cron", "next run", "last run", "runs"],
                    |s| {
                        vec![
                            cell(&s["id"]),
                            cell(&s["name"]),
                            cell(&s["cron"]),
                            fmt_time(&s["next_run"]),
                            fmt_time(&s["last_run"]),
                            cell(&s["runs"]),
                        ]
                    },
                )
            })
        }
        JobsCommand::Unschedule { id, json, client } => {
            let v = Client::new(client)?.json(
                "DELETE",
                &format!("/api/v1/schedules/{id}"),
                &[],
                None,
            )?;
            respond(&v, *json, |v| {
                outln!("schedule {id} ({}) deleted", cell(&v["name"]))
            })
        }
        JobsCommand::Logs { id, client, .. } => {
            let text =
                Client::new(client)?.call("GET", &format!("/api/v1/jobs/{id}/logs"), &[], None)?;
            out!("{text}")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
