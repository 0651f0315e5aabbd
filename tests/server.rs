//! The job server end to end: a real `morpheus serve` on a free loopback port, driven
//! over HTTP and through the `morpheus submit` / `morpheus jobs` client.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
#[path = "common/server.rs"]
mod server_util;
use common::{edge_pairs, morpheus, ok, s};
use server_util::{Server, Setup};

const JOB: &str = r#"
name = "pr-top"
workers = 2
[vars]
out = "out"
iterations = "20"
[inputs.g]
store = "store"
[inputs.names]
csv = "names.csv"
key = "id"
[[steps]]
name = "ranks"
algorithm = "pagerank"
iterations = "${iterations}"
[[steps]]
name = "named"
join = "ranks"
with = "names"
[[steps]]
name = "nz"
input = "named"
filter = '(= country "NZ")'
[[steps]]
name = "top"
input = "nz"
top = 10
by = "rank"
[[outputs]]
step = "top"
path = "${out}/top.parquet"
"#;

#[test]
fn submitted_jobs_run_and_report_state_metrics_and_logs() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let spec = setup.dir.path().join("job.toml");
    fs::write(&spec, JOB).unwrap();
    let out = ok(&[
        "submit",
        s(&spec),
        "--set",
        "out=results",
        "--server",
        &server.url,
    ]);
    let id: i64 = out
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an id: `{out}`"));
    let job = server.wait_for(id, |s| s == "succeeded" || s == "failed", 120);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["name"], "pr-top");
    assert!(job["duration_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(job["spilled_bytes"], 0);
    let outputs = job["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["rows"], 10);
    let path = PathBuf::from(outputs[0]["path"].as_str().unwrap());
    assert_eq!(path, setup.data().join("results/top.parquet"));
    assert!(path.is_file());
    let stages = job["stages"].as_array().unwrap();
    assert!(
        stages.iter().any(|s| s["name"] == "step ranks"),
        "{stages:?}"
    );
    assert!(stages
        .iter()
        .any(|s| s["name"] == "output top" && s["records_out"] == 10));
    // The list, the CLI client and the log.
    let list = server.get("/api/v1/jobs");
    assert_eq!(list["total"], 1);
    assert_eq!(list["jobs"][0]["id"], id);
    let listed = ok(&["jobs", "list", "--server", &server.url]);
    assert!(
        listed.contains("pr-top") && listed.contains("succeeded"),
        "{listed}"
    );
    let shown = ok(&["jobs", "show", &id.to_string(), "--server", &server.url]);
    assert!(shown.contains("10 rows of `top`"), "{shown}");
    let shown: Value = serde_json::from_str(&ok(&[
        "jobs",
        "show",
        &id.to_string(),
        "--json",
        "--server",
        &server.url,
    ]))
    .unwrap();
    assert_eq!(shown["id"], id);
    let logs = ok(&["jobs", "logs", &id.to_string(), "--server", &server.url]);
    assert!(logs.contains("wrote 10 rows of `top`"), "{logs}");
    // Cancelling a finished job is a conflict; a queued one is cancelled.
    let (status, _) = server.request("POST", &format!("/api/v1/jobs/{id}/cancel"), None, None);
    assert_eq!(status, 409);
}

#[test]
fn bad_requests_get_4xx_with_a_reason() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let cases: Vec<(&str, &str, Option<String>, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/jobs",
            Some("name = \"x\n".into()),
            400,
            "line 1",
        ),
        (
            "POST",
            "/api/v1/jobs",
            Some("name = \"x\"\n[[steps]]\nalgorithm = \"nope\"\n".into()),
            400,
            "unknown algorithm",
        ),
        (
            "POST",
            "/api/v1/jobs",
            Some(JOB.replace("${out}/top.parquet", "../../escape.parquet")),
            400,
            "outside the server's data root",
        ),
        (
            "POST",
            "/api/v1/jobs?set=novalue",
            Some(JOB.to_owned()),
            400,
            "not key=value",
        ),
        ("GET", "/api/v1/jobs/12345", None, 404, "no job 12345"),
        ("GET", "/api/v1/jobs/abc", None, 400, ""),
        ("DELETE", "/api/v1/schedules/abc", None, 400, ""),
        (
            "DELETE",
            "/api/v1/schedules/99",
            None,
            404,
            "no schedule 99",
        ),
        (
            "GET",
            "/api/v1/jobs?state=bogus",
            None,
            400,
            "unknown state",
        ),
        ("GET", "/api/v1/jobs?limit=-4", None, 400, "limit"),
        ("GET", "/api/v1/nothing", None, 404, "no such route"),
        ("POST", "/api/v1/jobs/7/cancel", None, 404, "no job 7"),
        ("GET", "/api/v1/jobs/9/logs", None, 404, "no job 9"),
    ];
    for (method, path, body, status, text) in cases {
        let (got, reply) = server.request(method, path, body.as_deref(), None);
        assert_eq!(got, status, "{method} {path}: {reply}");
        assert!(reply.contains(text), "{method} {path}: {reply}");
    }
    // One byte over the limit: the server reads the whole body before refusing it, so the
    // client is never cut off mid-send (a far larger body can end in a broken pipe).
    let (got, reply) = server.request(
        "POST",
        "/api/v1/jobs",
        Some(&"x".repeat(morpheus_jobs::server::MAX_BODY_BYTES + 1)),
        None,
    );
    assert_eq!(got, 413, "{reply}");
    // The client prints the server's reason and exits 1.
    let bad = setup.dir.path().join("bad.toml");
    fs::write(
        &bad,
        "name = \"x\"\n[[steps]]\nfilter = '(> a'\ninput = \"names\"\n",
    )
    .unwrap();
    let out = morpheus(&["submit", s(&bad), "--server", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("steps[0]") && err.contains("400"), "{err}");
    server.kill();

    // With a token, requests without it are refused; off loopback, a token is required.
    let token = setup.dir.path().join("token");
    fs::write(&token, "s3cret\n").unwrap();
    let server = Server::start(&setup, &["--token-file", s(&token)]);
    assert_eq!(server.request("GET", "/api/v1/jobs", None, None).0, 401);
    assert_eq!(
        server.request("GET", "/api/v1/jobs", None, Some("wrong")).0,
        401
    );
    assert_eq!(
        server
            .request("GET", "/api/v1/jobs", None, Some("s3cret"))
            .0,
        200
    );
    let listed = ok(&[
        "jobs",
        "list",
        "--server",
        &server.url,
        "--token-file",
        s(&token),
    ]);
    assert!(listed.contains("state"), "{listed}");
    let out = morpheus(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--state",
        s(&setup.state()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without a token"));
}

#[test]
fn a_schedule_firing_every_second_runs_at_least_twice() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let spec = JOB.replace("name = \"pr-top\"", "name = \"every-second\"")
        + "\n[schedule]\ncron = \"* * * * * *\"\n";
    let (status, body) = server.request("POST", "/api/v1/jobs?set=out%3Dsched", Some(&spec), None);
    assert_eq!(status, 201, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    let schedule = reply["schedule_id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = server.get("/api/v1/jobs?state=succeeded");
        let runs = list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["schedule_id"] == schedule)
            .count();
        if runs >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {runs} scheduled runs: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let schedules = server.get("/api/v1/schedules");
    assert_eq!(schedules["schedules"][0]["name"], "every-second");
    assert!(schedules["schedules"][0]["runs"].as_i64().unwrap() >= 2);
    assert!(setup.data().join("sched/top.parquet").is_file());

    // The CLI lists it; deleting it stops the firing and keeps the history.
    let listed = ok(&["jobs", "schedules", "--server", &server.url]);
    assert!(listed.contains("every-second"), "{listed}");
    let deleted = ok(&[
        "jobs",
        "unschedule",
        &schedule.to_string(),
        "--server",
        &server.url,
    ]);
    assert!(
        deleted.contains("every-second") && deleted.contains("deleted"),
        "{deleted}"
    );
    assert_eq!(
        server.get("/api/v1/schedules")["schedules"],
        serde_json::json!([])
    );
    let fired = |server: &Server| {
        server.get("/api/v1/jobs?limit=1000")["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["schedule_id"] == schedule)
            .count()
    };
    // A firing that read the schedule just before the delete may still land.
    std::thread::sleep(Duration::from_millis(1500));
    let after = fired(&server);
    assert!(after >= 2);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(fired(&server), after, "a deleted schedule fired again");
    let (status, body) = server.request(
        "DELETE",
        &format!("/api/v1/schedules/{schedule}"),
        None,
        None,
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no schedule"), "{body}");
}

#[test]
fn a_killed_server_restarts_with_history_and_the_interrupted_run_failed() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let spec = setup.dir.path().join("job.toml");
    fs::write(&spec, JOB).unwrap();
    let first: i64 = ok(&["submit", s(&spec), "--server", &server.url])
        .trim()
        .parse()
        .unwrap();
    server.wait_for(first, |s| s == "succeeded", 120);
    // A run that takes minutes: PageRank for ten million iterations.
    let long: i64 = ok(&[
        "submit",
        s(&spec),
        "--set",
        "iterations=10000000",
        "--server",
        &server.url,
    ])
    .trim()
    .parse()
    .unwrap();
    let running = server.wait_for(long, |s| s == "running", 60);
    assert_eq!(running["state"], "running");
    std::thread::sleep(Duration::from_millis(300));
    server.kill(); // SIGKILL
    let server = Server::start(&setup, &[]);
    let job = server.get(&format!("/api/v1/jobs/{long}"));
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"].as_str().unwrap().contains("server stopped"),
        "{job}"
    );
    let done = server.get(&format!("/api/v1/jobs/{first}"));
    assert_eq!(done["state"], "succeeded");
    assert_eq!(server.get("/api/v1/jobs")["total"], 2);
    // The orphaned run noticed and stopped.
    let log = setup.state().join(format!("jobs/{long}/log.txt"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("exited; stopping")
    {
        assert!(Instant::now() < deadline, "the orphaned run is still going");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn running_jobs_are_cancelled_and_timed_out_runs_are_retried_then_failed() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let spec = setup.dir.path().join("job.toml");
    fs::write(&spec, JOB).unwrap();
    let submit = |sets: &[&str]| -> i64 {
        let mut args = vec!["submit", s(&spec), "--server", &server.url];
        for kv in sets {
            args.extend(["--set", kv]);
        }
        ok(&args).trim().parse().unwrap()
    };
    // Cancel while running.
    let long = submit(&["iterations=10000000", "out=cancelled"]);
    server.wait_for(long, |s| s == "running", 60);
    let (status, body) = server.request("POST", &format!("/api/v1/jobs/{long}/cancel"), None, None);
    assert_eq!(status, 202, "{body}");
    let job = server.wait_for(long, |s| s != "running", 30);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert!(!setup.data().join("cancelled/top.parquet").exists());
    // A timeout of 1 s with one retry: two attempts, then failed.
    let slow = submit(&["iterations=10000000", "timeout=1s", "retries=1", "out=slow"]);
    let job = server.wait_for(slow, |s| s == "failed", 60);
    assert_eq!(job["attempt"], 1, "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 1s"),
        "{job}"
    );
    let logs = server
        .request("GET", &format!("/api/v1/jobs/{slow}/logs"), None, None)
        .1;
    assert!(
        logs.contains("attempt 1 of job") && logs.contains("attempt 2 of job"),
        "{logs}"
    );
}

#[test]
fn a_schedule_missed_while_down_runs_once_on_start_with_catchup_once() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let yearly = |name: &str, catchup: &str| {
        JOB.replace("name = \"pr-top\"", &format!("name = \"{name}\""))
            + &format!("\n[schedule]\ncron = \"0 0 1 1 *\"\ncatchup = \"{catchup}\"\n")
    };
    for (name, catchup) in [("caught-up", "once"), ("skipped", "skip")] {
        let (status, body) =
            server.request("POST", "/api/v1/jobs", Some(&yearly(name, catchup)), None);
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(server.get("/api/v1/jobs")["total"], 0);
    server.kill();
    // While the server is down, both schedules' next firing passes.
    let db = rusqlite::Connection::open(setup.state().join("morpheus.db")).unwrap();
    db.execute("UPDATE schedules SET next_fire = 1000.0", [])
        .unwrap();
    drop(db);
    let server = Server::start(&setup, &[]);
    let list = server.get("/api/v1/jobs");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["jobs"][0]["name"], "caught-up");
    let id = list["jobs"][0]["id"].as_i64().unwrap();
    server.wait_for(id, |s| s == "succeeded", 120);
    let schedules = server.get("/api/v1/schedules");
    for s in schedules["schedules"].as_array().unwrap() {
        assert!(s["next_run"].as_f64().unwrap() > 1.0e9, "{s}");
    }
}

#[test]
fn a_scheduled_incremental_pipeline_updates_from_the_store_change_log() {
    let setup = Setup::new();
    let data = setup.data();
    let text = fs::read_to_string(data.join("g.txt")).unwrap();
    let pairs = edge_pairs(&text);
    let source = pairs[0].0;
    let example = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/jobs/incremental-wcc.toml"
    ))
    .unwrap();
    let spec = format!("{example}\n[schedule]\ncron = \"* * * * * *\"\n")
        .replace("store = \"morpheus-demo/store\"", "store = \"store\"")
        .replace("out = \"morpheus-demo/incremental\"", "out = \"inc\"")
        .replace("source = \"14184\"", &format!("source = \"{source}\""));
    let server = Server::start(&setup, &[]);
    let (status, body) = server.request("POST", "/api/v1/jobs", Some(&spec), None);
    assert_eq!(status, 201, "{body}");
    let schedule = serde_json::from_str::<Value>(&body).unwrap()["schedule_id"]
        .as_i64()
        .unwrap();
    let succeeded_after = |t: f64| -> Option<i64> {
        let list = server.get("/api/v1/jobs?state=succeeded");
        list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["schedule_id"] == schedule)
            .filter(|j| j["started_at"].as_f64().unwrap() > t)
            .map(|j| j["id"].as_i64().unwrap())
            .min()
    };
    let wait_after = |t: f64| -> i64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(id) = succeeded_after(t) {
                return id;
            }
            assert!(Instant::now() < deadline, "no scheduled run after {t}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let first = wait_after(0.0);
    let log = server
        .request("GET", &format!("/api/v1/jobs/{first}/logs"), None, None)
        .1;
    assert!(log.contains("full computation of `@graph`"), "{log}");

    // Change the store between runs: one new edge (and vertex), two deleted edge pairs.
    fs::write(data.join("new.txt"), "3 900000\n").unwrap();
    ok(&[
        "import",
        "--store",
        s(&data.join("store")),
        s(&data.join("new.txt")),
    ]);
    let gone: Vec<(u64, u64)> = vec![pairs[1], pairs[2]];
    let gone_text: String = gone.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    fs::write(data.join("gone.txt"), gone_text).unwrap();
    ok(&[
        "import",
        "--store",
        s(&data.join("store")),
        "--delete",
        s(&data.join("gone.txt")),
    ]);
    let removed = pairs.iter().filter(|p| gone.contains(p)).count();
    let changed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let after = wait_after(changed_at);
    // Runs fire every second, so one may have started between the two imports: the runs
    // after the first one together processed the change, and each only its own part.
    let changes = |id: i64| -> u64 {
        let log = server
            .request("GET", &format!("/api/v1/jobs/{id}/logs"), None, None)
            .1;
        let marker = "incremental update of `@graph`: ";
        let at = log
            .find(marker)
            .unwrap_or_else(|| panic!("job {id}: {log}"))
            + marker.len();
        let n = log[at..].split_whitespace().next().unwrap();
        n.parse()
            .unwrap_or_else(|_| panic!("job {id}: `{n}` in {log}"))
    };
    let list = server.get("/api/v1/jobs?state=succeeded");
    let runs: Vec<i64> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["schedule_id"] == schedule)
        .map(|j| j["id"].as_i64().unwrap())
        .filter(|&id| id > first && id <= after)
        .collect();
    let total: u64 = runs.iter().map(|&id| changes(id)).sum();
    assert_eq!(total, (2 + removed) as u64, "runs {runs:?}");
    server.kill();

    // The incremental outputs equal a fresh batch run of the same pipeline.
    let plain = data.join("plain.toml");
    fs::write(&plain, spec.replace("incremental = true", "")).unwrap();
    ok(&[
        "run",
        s(&plain),
        "--set",
        &format!("store={}", s(&data.join("store"))),
        "--set",
        &format!("out={}", s(&data.join("fresh"))),
    ]);
    for file in ["wcc.parquet", "bfs.parquet"] {
        let a = common::parquet_rows(&data.join("inc").join(file));
        let b = common::parquet_rows(&data.join("fresh").join(file));
        assert!(a.len() > 100);
        assert_eq!(a, b, "{file}");
    }
}
