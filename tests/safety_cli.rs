//! CLI safety (issue 15): empty partitions, bounded workers, usage errors, closed stdout,
//! OS errors said once. Each test drives the `morpheus` binary as a user would.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use common::{morpheus, ok, s};

const ALGORITHMS: [&str; 11] = [
    "bfs",
    "sssp",
    "pagerank",
    "wcc",
    "cdlp",
    "lcc",
    "triangles",
    "scc",
    "kcore",
    "degree",
    "path",
];

/// Imports the edge-list text `edges` into a new store `dir/name`.
fn store_of(dir: &Path, name: &str, edges: &str) -> std::path::PathBuf {
    let file = dir.join(format!("{name}.txt"));
    fs::write(&file, edges).unwrap();
    let store = dir.join(name);
    ok(&["import", "--store", s(&store), s(&file)]);
    store
}

fn algo(algorithm: &str, store: &Path, workers: usize, source: u64, target: u64) -> String {
    ok(&[
        "algo",
        algorithm,
        "--store",
        s(store),
        "--workers",
        &workers.to_string(),
        "--source",
        &source.to_string(),
        "--target",
        &target.to_string(),
    ])
}

#[test]
fn every_algorithm_runs_on_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path(), "empty", "");
    for workers in ["1", "2"] {
        for a in ALGORITHMS {
            let out = morpheus(&[
                "algo",
                a,
                "--store",
                s(&store),
                "--workers",
                workers,
                "--source",
                "1",
                "--target",
                "2",
            ]);
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            let what = format!("{a} on {workers} workers: {stderr}");
            assert!(!stderr.contains("partition"), "{what}");
            assert!(!stderr.contains("panicked"), "{what}");
            match a {
                // The source (or target) cannot be in an empty graph.
                "bfs" | "sssp" | "path" => {
                    assert_eq!(out.status.code(), Some(1), "{what}");
                    assert!(stderr.contains("is not in the graph"), "{what}");
                }
                "triangles" => {
                    assert!(out.status.success(), "{what}");
                    assert_eq!(stdout, "triangles 0\n", "{what}");
                }
                _ => {
                    assert!(out.status.success(), "{what}");
                    assert_eq!(stdout, "", "{what}");
                }
            }
        }
    }
}

#[test]
fn graphs_with_fewer_vertices_than_workers_give_the_one_worker_answers() {
    let dir = tempfile::tempdir().unwrap();
    // One vertex (a self-loop) on 2 workers; a path of 3 vertices on 3 and 4 workers.
    let one = store_of(dir.path(), "one", "5 5\n");
    let three = store_of(dir.path(), "three", "1 2\n2 3\n");
    let cases: [(&Path, u64, u64, &[usize]); 2] = [(&one, 5, 5, &[2, 3]), (&three, 1, 3, &[3, 4])];
    for (store, source, target, workers) in cases {
        for a in ALGORITHMS {
            let want = algo(a, store, 1, source, target);
            for &w in workers {
                assert_eq!(
                    algo(a, store, w, source, target),
                    want,
                    "{a} on {w} workers"
                );
            }
        }
    }
    // Known answers on the path 1 -> 2 -> 3.
    assert_eq!(algo("bfs", &three, 3, 1, 3), "1 0\n2 1\n3 2\n");
    assert_eq!(algo("wcc", &three, 3, 1, 3), "1 1\n2 1\n3 1\n");
    assert_eq!(algo("degree", &three, 3, 1, 3), "1 1\n2 1\n3 0\n");
    assert_eq!(algo("scc", &three, 3, 1, 3), "1 1\n2 2\n3 3\n");
    assert_eq!(
        algo("path", &three, 3, 1, 3),
        "path 1 -> 3: exists, length 2\n"
    );
    assert_eq!(algo("wcc", &one, 2, 5, 5), "5 5\n");
}

/// The most workers a process runs unless forced: 4 per available core.
fn worker_limit() -> usize {
    4 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn workers_beyond_four_per_core_need_force_workers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path(), "g", "1 2\n2 3\n");
    let too_many = (worker_limit() + 1).to_string();
    let limit = format!("limit of {}", worker_limit());
    for workers in [too_many.as_str(), "1024"] {
        let out = morpheus(&["algo", "wcc", "--store", s(&store), "--workers", workers]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&limit) && err.contains("--force-workers"),
            "{err}"
        );
    }
    let forced = ok(&[
        "algo",
        "wcc",
        "--store",
        s(&store),
        "--workers",
        &too_many,
        "--force-workers",
    ]);
    assert_eq!(forced, "1 1\n2 1\n3 1\n");

    // A job spec: `workers = N` is refused the same way, unless `force_workers = true` or
    // `morpheus run --force-workers`.
    let spec = |name: &str, extra: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        fs::write(
            &path,
            format!(
                "name = \"{name}\"\nworkers = {too_many}\n{extra}\n\
                 [inputs.g]\nstore = \"{}\"\n\
                 [[steps]]\nname = \"wcc\"\nalgorithm = \"wcc\"\n\
                 [[outputs]]\nstep = \"wcc\"\npath = \"{}\"\nformat = \"csv\"\n",
                s(&store),
                s(&dir.path().join(format!("{name}.csv")))
            ),
        )
        .unwrap();
        path
    };
    let plain = spec("plain", "");
    let out = morpheus(&["run", s(&plain)]);
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&limit) && err.contains("force_workers"),
        "{err}"
    );
    assert!(!dir.path().join("plain.csv").exists());
    ok(&["run", s(&plain), "--force-workers"]);
    assert!(dir.path().join("plain.csv").exists());
    let forced = spec("forced", "force_workers = true");
    ok(&["run", s(&forced)]);
    assert!(dir.path().join("forced.csv").exists());
}

#[test]
fn argument_problems_found_after_parsing_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path(), "g", "1 2\n2 3\n");
    let st = s(&store);
    let cases: [(&[&str], &str); 6] = [
        (&["algo", "bfs", "--store", st], "--source"),
        (
            &["algo", "path", "--store", st, "--source", "1"],
            "--target",
        ),
        (
            &["algo", "pagerank", "--store", st, "--damping", "1.5"],
            "--damping",
        ),
        (
            &["store", "compact", "--store", st, "--dead-ratio", "2"],
            "--dead-ratio",
        ),
        (
            &[
                "algo",
                "wcc",
                "--store",
                st,
                "--processes",
                "2",
                "--process-id",
                "2",
            ],
            "--process-id",
        ),
        (
            &["generate", "rmat", "--size", "1MB", "--out", "x"],
            "--scale",
        ),
    ];
    for (args, names) in cases {
        let out = morpheus(args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(names),
            "{args:?}: {err}"
        );
    }
    // A store that is not there is a failure, not a usage error.
    let out = morpheus(&["algo", "wcc", "--store", s(&dir.path().join("none"))]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
}

#[test]
fn an_os_error_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.properties");
    let out = morpheus(&[
        "graphalytics",
        "run",
        "--properties",
        s(&missing),
        "--algorithm",
        "bfs",
        "--out",
        s(&dir.path().join("out.txt")),
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("missing.properties"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

/// Runs `morpheus ARGS` with stdout a pipe whose reading end is already closed, so the
/// first write fails with EPIPE.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_morpheus"));
    cmd.args(args)
        .env("CI", "true")
        .stdout(writer)
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    drop(cmd); // the parent's copy of the pipe's writing end
    child.wait_with_output().unwrap()
}

fn assert_quiet_exit(args: &[&str], out: &std::process::Output) {
    let err = stderr_of(out);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
}

/// A one-request-per-connection HTTP server answering every request with `body`, as the
/// job server would; returns its base URL.
fn fake_server(body: String, content_type: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn no_command_panics_when_its_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.txt");
    ok(&["generate", "rmat", "--scale", "8", "--out", s(&g)]);
    let store = dir.path().join("store");
    ok(&["import", "--store", s(&store), s(&g)]);
    let text = dir.path().join("t.txt");
    ok(&["generate", "text", "--size", "20KB", "--out", s(&text)]);
    let spec = dir.path().join("job.toml");
    fs::write(
        &spec,
        format!(
            "name = \"j\"\n[inputs.g]\nstore = \"{}\"\n[[steps]]\nname = \"d\"\n\
             algorithm = \"degree\"\n[[outputs]]\nstep = \"d\"\npath = \"{}\"\nformat = \"csv\"\n",
            s(&store),
            s(&dir.path().join("d.csv"))
        ),
    )
    .unwrap();
    let st = s(&store);
    let local: [&[&str]; 11] = [
        &["store", "stats", "--store", st],
        &["store", "stats", "--store", st, "--json"],
        &["store", "verify", "--store", st],
        &["store", "changes", "--store", st],
        &["algo", "pagerank", "--store", st],
        &["algo", "triangles", "--store", st],
        &["degrees", "--store", st],
        &["wordcount", s(&text)],
        &["validate", s(&spec)],
        &["run", s(&spec)],
        &["generate", "rmat", "--scale", "4", "--out", s(&g)],
    ];
    for args in local {
        assert_quiet_exit(args, &with_closed_stdout(args));
    }

    // `jobs show` of a job with many stages, `jobs list`, `jobs logs` and `submit`.
    let stages: Vec<serde_json::Value> = (0..500)
        .map(|i| serde_json::json!({"name": format!("stage {i}"), "records_in": i, "seconds": 0.5}))
        .collect();
    let job = serde_json::json!({
        "id": 6, "name": "j", "state": "succeeded", "stages": stages,
        "jobs": (0..500).map(|i| serde_json::json!({"id": i, "name": "j"})).collect::<Vec<_>>(),
    });
    let json_server = fake_server(job.to_string(), "application/json");
    let log_server = fake_server("log line\n".repeat(10_000), "text/plain");
    let remote: [&[&str]; 5] = [
        &["jobs", "show", "6", "--server", &json_server],
        &["jobs", "show", "6", "--json", "--server", &json_server],
        &["jobs", "list", "--server", &json_server],
        &["jobs", "logs", "6", "--server", &log_server],
        &["submit", s(&spec), "--server", &json_server],
    ];
    for args in remote {
        assert_quiet_exit(args, &with_closed_stdout(args));
    }
}

/// `morpheus algo … | head -c 16`: the reader goes away after the first bytes of a long
/// output (more than a pipe holds).
#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.txt");
    ok(&["generate", "rmat", "--scale", "13", "--out", s(&g)]);
    let store = dir.path().join("store");
    ok(&["import", "--store", s(&store), s(&g)]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args(["algo", "pagerank", "--store", s(&store)])
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_quiet_exit(&["algo", "pagerank"], &out);
}
