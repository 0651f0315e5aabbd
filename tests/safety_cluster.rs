//! Cluster runs fail cleanly and never silently disagree (issue 15): two `morpheus`
//! processes on loopback, each test bounded to a few seconds.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ok, s};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A hostfile naming two free loopback ports.
fn hostfile(dir: &Path) -> (PathBuf, [String; 2]) {
    let hosts = [
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    ];
    let path = dir.join("hosts");
    fs::write(&path, format!("{}\n{}\n", hosts[0], hosts[1])).unwrap();
    (path, hosts)
}

fn store_of(dir: &Path, name: &str, edges: &str) -> PathBuf {
    let file = dir.join(format!("{name}.txt"));
    fs::write(&file, edges).unwrap();
    let store = dir.join(name);
    ok(&["import", "--store", s(&store), s(&file)]);
    store
}

/// Starts process `id` of two running `args`.
fn start(args: &[&str], hosts: &Path, id: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args(args)
        .args(["--processes", "2", "--process-id", &id.to_string()])
        .args(["--hostfile", s(hosts)])
        .env("CI", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit`; kills it and fails the test past that.
fn finish(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Both processes exit 1 with an `error:` line containing each of `wanted`, and neither
/// panics.
fn assert_refused(outs: [Output; 2], wanted: &[&str]) {
    for (i, out) in outs.iter().enumerate() {
        let err = stderr_of(out);
        assert_eq!(out.status.code(), Some(1), "process {i}: {err}");
        assert!(err.starts_with("error: "), "process {i}: {err}");
        assert!(!err.contains("panicked"), "process {i}: {err}");
        for w in wanted {
            assert!(err.contains(w), "process {i}: `{w}` not in {err}");
        }
        assert!(out.stdout.is_empty(), "process {i} printed a result");
    }
}

#[test]
fn a_killed_peer_fails_the_survivor_within_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.txt");
    ok(&["generate", "rmat", "--scale", "12", "--out", s(&g)]);
    let store = dir.path().join("store");
    ok(&["import", "--store", s(&store), s(&g)]);
    let (hosts, addresses) = hostfile(dir.path());
    // Enough iterations to run far longer than the test.
    let args = [
        "algo",
        "pagerank",
        "--store",
        s(&store),
        "--iterations",
        "10000000",
    ];
    for victim in [1, 0] {
        let survivor = 1 - victim;
        let mut killed = start(&args, &hosts, victim);
        let child = start(&args, &hosts, survivor);
        std::thread::sleep(Duration::from_millis(1500));
        killed.kill().unwrap();
        let killed_at = Instant::now();
        let _ = killed.wait();
        let out = finish(child, Duration::from_secs(10));
        assert!(killed_at.elapsed() < Duration::from_secs(10));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let want = format!("process {victim} ({}) disconnected", addresses[victim]);
        assert!(err.starts_with("error: ") && err.contains(&want), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line, no panic output: {err}");
    }
}

#[test]
fn a_peer_that_never_comes_is_an_error_after_the_connect_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path(), "g", "1 2\n2 3\n");
    let (hosts, addresses) = hostfile(dir.path());
    let started = Instant::now();
    let child = start(
        &[
            "algo",
            "wcc",
            "--store",
            s(&store),
            "--connect-timeout",
            "2s",
        ],
        &hosts,
        0,
    );
    let out = finish(child, Duration::from_secs(10));
    let err = stderr_of(&out);
    assert!(started.elapsed() >= Duration::from_secs(2), "{err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains(&format!("process 1 ({})", addresses[1])),
        "{err}"
    );
    assert!(err.contains("--connect-timeout"), "{err}");
    // Connection progress is logged only with -v.
    assert!(!err.contains("awaiting connections"), "{err}");
}

#[test]
fn processes_on_different_stores_refuse_to_run() {
    let dir = tempfile::tempdir().unwrap();
    // The same edges, imported twice: equal contents, but not the same store.
    let a = store_of(dir.path(), "a", "1 2\n2 3\n");
    let b = store_of(dir.path(), "b", "1 2\n2 3\n");
    let (hosts, _) = hostfile(dir.path());
    let p1 = start(&["algo", "wcc", "--store", s(&b)], &hosts, 1);
    let p0 = start(&["algo", "wcc", "--store", s(&a)], &hosts, 0);
    let outs = [
        finish(p0, Duration::from_secs(15)),
        finish(p1, Duration::from_secs(15)),
    ];
    assert_refused(
        outs,
        &["store id", "every process must run the same command"],
    );

    // The same store, but one process sees a later commit: refused on the LSN.
    let extra = dir.path().join("extra.txt");
    fs::write(&extra, "3 4\n").unwrap();
    let c = dir.path().join("c");
    let _ = fs::remove_dir_all(&c);
    copy_dir(&a, &c);
    ok(&["import", "--store", s(&c), s(&extra)]);
    let p1 = start(&["algo", "wcc", "--store", s(&c)], &hosts, 1);
    let p0 = start(&["algo", "wcc", "--store", s(&a)], &hosts, 0);
    let outs = [
        finish(p0, Duration::from_secs(15)),
        finish(p1, Duration::from_secs(15)),
    ];
    assert_refused(outs, &["store last LSN"]);
}

#[test]
fn processes_running_different_algorithms_refuse_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path(), "g", "1 2\n2 3\n");
    let (hosts, _) = hostfile(dir.path());
    let p1 = start(&["algo", "scc", "--store", s(&store)], &hosts, 1);
    let p0 = start(&["algo", "wcc", "--store", s(&store)], &hosts, 0);
    let outs = [
        finish(p0, Duration::from_secs(15)),
        finish(p1, Duration::from_secs(15)),
    ];
    assert_refused(outs, &["different algorithm", "`wcc`", "`scc`"]);

    // Same algorithm, different parameters.
    let p1 = start(
        &["algo", "bfs", "--store", s(&store), "--source", "2"],
        &hosts,
        1,
    );
    let p0 = start(
        &["algo", "bfs", "--store", s(&store), "--source", "1"],
        &hosts,
        0,
    );
    let outs = [
        finish(p0, Duration::from_secs(15)),
        finish(p1, Duration::from_secs(15)),
    ];
    assert_refused(outs, &["different parameters"]);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "LOCK" {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}
