//! Issue 15, the job server over HTTP: reads and writes confined to the data root (symlinks
//! resolved), outputs never onto the root, a store, an input or the state directory; JSON
//! errors that echo little of their input; case-insensitive bearer scheme; unknown `set=`
//! keys refused; a child killed by a signal says so; failing schedule firings recorded.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
#[path = "common/server.rs"]
mod server_util;
use common::{ok, s};
use server_util::{Server, Setup};

/// Reads `input` (a dataset input line) and writes its top row to `out`.
fn job(input: &str, out: &str) -> String {
    format!(
        r#"
name = "safety"
[vars]
out = "{out}"
[inputs.t]
{input}
[[steps]]
name = "top"
input = "t"
top = 1
by = "id"
[[outputs]]
step = "top"
path = "${{out}}"
format = "csv"
"#
    )
}

fn post(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let (status, text) = server.request("POST", path, Some(body), None);
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, v)
}

#[test]
fn outputs_never_replace_the_data_root_a_store_an_input_or_leave_through_a_symlink() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), setup.data().join("escape")).unwrap();
    let input = r#"csv = "names.csv""#;
    let cases = [
        (".", "data root"),
        ("", "data root"),
        ("store", "is the Morpheus store"),
        ("store/x.csv", "lies inside the Morpheus store"),
        ("names.csv", "is input `t`"),
        ("escape/x.csv", "data root"),
        ("g.txt", "not written by Morpheus"),
    ];
    for (out, why) in cases {
        let (status, body) = post(&server, "/api/v1/jobs", &job(input, out));
        assert_eq!(status, 400, "{out}: {body}");
        let e = body["error"].as_str().unwrap();
        assert!(
            e.contains("outputs[0].path") && e.contains(why),
            "{out}: {e}"
        );
    }
    assert!(setup.data().join("store/MANIFEST.json").is_file());
    assert!(fs::read_dir(outside.path()).unwrap().next().is_none());
    // A job inside the root runs, and runs again over its own output.
    for _ in 0..2 {
        let (status, body) = post(&server, "/api/v1/jobs", &job(input, "res/top.csv"));
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_i64().unwrap();
        let done = server.wait_for(id, |s| s == "succeeded" || s == "failed", 60);
        assert_eq!(done["state"], "succeeded", "{done}");
    }
}

#[test]
fn outputs_never_touch_the_state_directory_inside_the_data_root() {
    let setup = Setup::new();
    // The data root holds the state directory.
    let server = Server::start_at(&setup, setup.dir.path(), &[]);
    fs::write(setup.dir.path().join("n.csv"), "id,x\n1,2\n").unwrap();
    for out in ["state", "state/morpheus.db", "state/jobs/x.csv"] {
        let (status, body) = post(&server, "/api/v1/jobs", &job(r#"csv = "n.csv""#, out));
        assert_eq!(status, 400, "{out}: {body}");
        let e = body["error"].as_str().unwrap();
        assert!(e.contains("state directory"), "{out}: {e}");
    }
}

#[test]
fn inputs_outside_the_data_root_are_refused_without_echoing_their_content() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("shadow.csv");
    fs::write(&secret, "root:SECRETHASH:19000\nuser:OTHERHASH:1\n").unwrap();
    std::os::unix::fs::symlink(&secret, setup.data().join("inside.csv")).unwrap();
    ok(&[
        "import",
        "--store",
        s(&outside.path().join("store")),
        s(&setup.data().join("g.txt")),
    ]);
    std::os::unix::fs::symlink(outside.path().join("store"), setup.data().join("ln-store"))
        .unwrap();
    let store_job = |store: &str| {
        format!(
            "name = \"s\"\n[inputs.g]\nstore = \"{store}\"\n[[steps]]\nname = \"d\"\n\
             algorithm = \"degree\"\n[[outputs]]\nstep = \"d\"\npath = \"d.csv\"\n"
        )
    };
    let cases = [
        job(&format!("csv = \"{}\"", s(&secret)), "o.csv"),
        job("csv = \"../../../../../../..{}\"", "o.csv").replace("{}", s(&secret)),
        job(r#"csv = "inside.csv""#, "o.csv"),
        store_job(s(&outside.path().join("store"))),
        store_job("ln-store"),
    ];
    for spec in &cases {
        let (status, text) = server.request("POST", "/api/v1/jobs", Some(spec), None);
        assert_eq!(status, 400, "{spec}: {text}");
        assert!(
            text.contains("outside the server's data root"),
            "{spec}: {text}"
        );
        assert!(
            !text.contains("SECRETHASH") && !text.contains("root:"),
            "the secret leaked: {text}"
        );
    }
    // No job was created, so no preview of the secret's rows exists.
    assert_eq!(server.get("/api/v1/jobs")["total"], 0);
}

#[test]
fn every_api_error_is_json_and_echoes_at_most_a_little_input() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    // A body over the limit (1 MiB).
    let (status, text) = server.post_announcing("/api/v1/jobs", 2 << 20, (1 << 20) + 4096);
    assert_eq!(status, 413, "{text}");
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert!(v["error"].as_str().is_some(), "{v}");
    let long_id = "9".repeat(50_000);
    let cases: Vec<(&str, String, Vec<u8>, u16)> = vec![
        (
            "POST",
            "/api/v1/jobs".into(),
            vec![b'n', 0xff, 0xfe, b'\n'],
            400,
        ),
        ("GET", "/api/v1/jobs/abc".into(), Vec::new(), 400),
        ("GET", format!("/api/v1/jobs/{long_id}"), Vec::new(), 400),
        ("GET", "/api/v1/nothing".into(), Vec::new(), 404),
        ("DELETE", "/api/v1/jobs".into(), Vec::new(), 405),
        (
            "GET",
            format!("/api/v1/jobs?state={long_id}"),
            Vec::new(),
            400,
        ),
    ];
    for (method, path, body, code) in cases {
        let (status, text) = server.request_raw(method, &path, &body, &[]);
        let shown = &text[..text.len().min(300)];
        assert_eq!(status, code, "{method} {shown}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {shown}"));
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        assert!(text.len() < 1000, "{} bytes: {shown}", text.len());
    }
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let setup = Setup::new();
    let token = setup.dir.path().join("token");
    fs::write(&token, "sekrit-token\n").unwrap();
    let server = Server::start(&setup, &["--token-file", s(&token)]);
    for auth in [
        "Bearer sekrit-token",
        "bearer sekrit-token",
        "BEARER sekrit-token",
    ] {
        let (status, body) =
            server.request_raw("GET", "/api/v1/jobs", b"", &[("authorization", auth)]);
        assert_eq!(status, 200, "{auth}: {body}");
    }
    for auth in ["bearer wrong", "Basic sekrit-token", "sekrit-token"] {
        let (status, body) =
            server.request_raw("GET", "/api/v1/jobs", b"", &[("authorization", auth)]);
        assert_eq!(status, 401, "{auth}: {body}");
    }
}

#[test]
fn an_unknown_set_key_is_refused_listing_the_variables() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let spec = job(r#"csv = "names.csv""#, "default.csv");
    let (status, body) = post(&server, "/api/v1/jobs?set=outt%3Delsewhere.csv", &spec);
    assert_eq!(status, 400, "{body}");
    let e = body["error"].as_str().unwrap();
    assert!(e.contains("unknown key `outt`") && e.contains("out"), "{e}");
    let (status, body) = post(&server, "/api/v1/jobs?set=workers%3D2", &spec);
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_child_killed_by_a_signal_reports_it_and_the_log_ends_with_it() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    let spec = "name = \"slow\"\n[inputs.g]\nstore = \"store\"\n[[steps]]\nname = \"r\"\n\
                algorithm = \"pagerank\"\niterations = 10000000\n[[outputs]]\nstep = \"r\"\n\
                path = \"slow.csv\"\n";
    let (status, body) = post(&server, "/api/v1/jobs", spec);
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let j = server.get(&format!("/api/v1/jobs/{id}"));
        if let Some(pid) = j["pid"].as_i64() {
            break pid;
        }
        assert!(Instant::now() < deadline, "no pid: {j}");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let job = server.wait_for(id, |s| s != "running" && s != "queued", 30);
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert_eq!(error, "killed by signal 9", "{job}");
    let (_, log) = server.request("GET", &format!("/api/v1/jobs/{id}/logs"), None, None);
    let last = log.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(last.ends_with(error), "last line `{last}` of:\n{log}");
}

#[test]
fn a_schedule_firing_that_fails_validation_is_a_failed_job() {
    let setup = Setup::new();
    let server = Server::start(&setup, &[]);
    fs::write(setup.data().join("soon-gone.csv"), "id,x\n1,2\n").unwrap();
    let spec =
        job(r#"csv = "soon-gone.csv""#, "sched.csv") + "[schedule]\ncron = \"* * * * * *\"\n";
    let (status, body) = post(&server, "/api/v1/jobs", &spec);
    assert_eq!(status, 201, "{body}");
    let schedule = body["schedule_id"].as_i64().unwrap();
    fs::remove_file(setup.data().join("soon-gone.csv")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let list = server.get("/api/v1/jobs?state=failed");
        let hit = list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| {
                j["schedule_id"] == schedule
                    && j["error"]
                        .as_str()
                        .is_some_and(|e| e.contains("soon-gone.csv"))
            })
            .cloned();
        if let Some(j) = hit {
            break j;
        }
        assert!(Instant::now() < deadline, "no failed firing: {list}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(failed["name"], "safety", "{failed}");
    let listed = ok(&["jobs", "list", "--server", &server.url]);
    assert!(listed.contains("failed"), "{listed}");
    let schedules = server.get("/api/v1/schedules");
    assert!(
        schedules["schedules"][0]["runs"].as_i64().unwrap() >= 1,
        "{schedules}"
    );
    ok(&[
        "jobs",
        "unschedule",
        &schedule.to_string(),
        "--server",
        &server.url,
    ]);
}
