//! What each fuzz target does with one input, and what it checks. The libFuzzer targets in
//! `fuzz_targets/` call these; `tests/fuzz_corpus.rs` in the root package replays the saved
//! corpus through the same functions, so CI checks every input the fuzzer ever kept.
//!
//! Every function panics (a crash for the fuzzer, a failed test for the replay) when the code
//! under test panics or breaks one of its promises: bad input is an error, never a panic;
//! errors stay short (no echo of large inputs); a store that opens and verifies clean holds
//! exactly the graph that was written.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use morpheus_jobs::server::{serve, ServerConfig};
use morpheus_jobs::{LoadOptions, Spec};
use morpheus_storage::import::{import, Format, ImportOptions, NoProgress};
use morpheus_storage::{verify, Store, StoreOptions, Value, WriteBatch};

/// Longest error message accepted: messages quote at most ~200 bytes of user input.
const MAX_MESSAGE: usize = 2048;

/// A scratch directory for this process: on tmpfs where there is one, so fsyncs are free.
fn scratch(name: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("morpheus-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn reset(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch directory");
}

fn check_message(what: &str, message: &str) {
    assert!(
        message.len() <= MAX_MESSAGE,
        "{what}: error message of {} bytes (starts {:?})",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
}

/// Splits `data` at `0xFF` bytes into at most `n` parts (missing parts are empty).
fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == 0xFF).collect();
    out.resize(n, &[]);
    out
}

/// The import parsers. The first byte picks the format (edge list, weighted edge list,
/// CSV, LDBC `.properties` + `.v` + `.e`); the rest is the file (for LDBC, three files
/// separated by `0xFF`). An import either fails with a located error and leaves no store,
/// or commits a store that verifies clean and holds no more edges than there were lines.
pub fn import_parsers(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let dir = scratch("import");
    reset(&dir);
    let store = dir.join("store");
    let mut options = ImportOptions::default();
    let inputs = match selector % 4 {
        0 | 1 => {
            options.format = Some(Format::EdgeList);
            options.weighted = selector % 4 == 1;
            let path = dir.join("edges.txt");
            std::fs::write(&path, body).expect("write input");
            vec![path]
        }
        2 => {
            options.format = Some(Format::Csv);
            let path = dir.join("edges.csv");
            std::fs::write(&path, body).expect("write input");
            vec![path]
        }
        _ => {
            options.format = Some(Format::Ldbc);
            let p = parts(body, 3);
            let props = dir.join("g.properties");
            let mut text = b"graph.g.vertex-file = g.v\ngraph.g.edge-file = g.e\n".to_vec();
            text.extend_from_slice(p[0]);
            std::fs::write(&props, text).expect("write input");
            std::fs::write(dir.join("g.v"), p[1]).expect("write input");
            std::fs::write(dir.join("g.e"), p[2]).expect("write input");
            vec![props]
        }
    };
    options.create.shards = 2;
    match import(&store, &inputs, &options, &NoProgress) {
        Ok(report) => {
            let lines = body.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            assert!(
                report.edges <= lines,
                "{} edges from {lines} lines",
                report.edges
            );
            let v = verify(&store).expect("verify runs on a store import wrote");
            assert!(
                v.is_clean(),
                "import left a store with problems: {:?}",
                v.problems
            );
        }
        Err(e) => {
            check_message("import", &e.to_string());
            if !store.join("MANIFEST.json").exists() {
                return;
            }
            // A failed parse never creates (or changes) the store; only a later commit
            // failure could leave one, and then it must still open.
            Store::open_read_only(&store).expect("a store left by a failed import opens");
        }
    }
}

/// The graph every store-open input starts from, with the figures it must read back as.
struct Template {
    /// (path relative to the store, bytes) of every file, sorted by path.
    files: Vec<(PathBuf, Vec<u8>)>,
    vertices: u64,
    edges: u64,
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch("template");
        reset(&dir);
        let store_dir = dir.join("store");
        let mut options = StoreOptions::default();
        options.shards = 2;
        options.segment_bytes = 1024;
        let mut store = Store::create(&store_dir, &options).expect("create template");
        let mut batch = WriteBatch::new();
        for i in 0..40u64 {
            batch.add_edge(i, (i * 7 + 3) % 40, 1.0 + i as f64 / 8.0);
            batch.add_edge(i, (i * 13 + 1) % 40, 2.0);
        }
        batch.put_vertex(5, Some("person"), vec![("age".into(), Value::I64(42))]);
        store.commit(batch).expect("commit template");
        let mut batch = WriteBatch::new();
        batch.delete_edge(3, 24);
        batch.delete_vertex(11);
        batch.add_edge(100, 101, 0.5);
        store.commit(batch).expect("commit template");
        store.checkpoint().expect("checkpoint template");
        let stats = store.stats();
        drop(store);
        let mut files = Vec::new();
        collect(&store_dir, &store_dir, &mut files);
        files.sort();
        Template {
            files,
            vertices: stats.vertices,
            edges: stats.edges,
        }
    })
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).expect("read template").flatten() {
        let path = e.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if e.file_name() != "LOCK" {
            let rel = path.strip_prefix(root).expect("inside").to_owned();
            out.push((rel, std::fs::read(&path).expect("read template file")));
        }
    }
}

/// Opening a store from damaged files. The input is a list of patches applied to a valid
/// template store: `[file selector][offset u16 LE][length u8][bytes…]`; a selector with its
/// high bit set truncates the file at the offset instead (or, past the end, deletes it).
/// Open and verify must not panic, errors must be short, and a store that opens and
/// verifies clean must hold exactly the template's vertices and edges: a damaged store
/// never silently loses data.
pub fn store_open(data: &[u8]) {
    let t = template();
    let dir = scratch("open");
    reset(&dir);
    let store_dir = dir.join("store");
    let mut files: Vec<(PathBuf, Option<Vec<u8>>)> = t
        .files
        .iter()
        .map(|(p, b)| (p.clone(), Some(b.clone())))
        .collect();
    let mut rest = data;
    while rest.len() >= 4 {
        let (selector, offset, len) = (rest[0], u16::from_le_bytes([rest[1], rest[2]]), rest[3]);
        rest = &rest[4..];
        let (_, file) = &mut files[usize::from(selector & 0x7F) % t.files.len()];
        let Some(bytes) = file else { continue };
        let offset = usize::from(offset);
        if selector & 0x80 != 0 {
            if offset > bytes.len() {
                *file = None;
            } else {
                bytes.truncate(offset);
            }
            continue;
        }
        let patch = &rest[..usize::from(len).min(rest.len())];
        rest = &rest[patch.len()..];
        let offset = offset.min(bytes.len());
        let end = (offset + patch.len()).min(bytes.len());
        bytes.splice(offset..end, patch.iter().copied());
    }
    let changed = files
        .iter()
        .zip(&t.files)
        .any(|((_, now), (_, was))| now.as_ref() != Some(was));
    for (rel, bytes) in &files {
        let path = store_dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        if let Some(b) = bytes {
            std::fs::write(&path, b).expect("write store file");
        }
    }
    let opened = match Store::open_read_only(&store_dir) {
        Ok(store) => store,
        Err(e) => {
            check_message("open", &e.to_string());
            return;
        }
    };
    let stats = opened.stats();
    let mut scanned = 0u64;
    let mut scan_ok = true;
    for shard in 0..opened.shard_count() {
        match opened.scan_edges(shard, |_, _, _| scanned += 1) {
            Ok(_) => {}
            Err(e) => {
                check_message("scan", &e.to_string());
                scan_ok = false;
            }
        }
    }
    drop(opened);
    let report = match verify(&store_dir) {
        Ok(r) => r,
        Err(e) => {
            check_message("verify", &e.to_string());
            return;
        }
    };
    for p in &report.problems {
        check_message("verify problem", &p.to_string());
    }
    // The commit log cut back to an earlier record, with the edge log (the witness of
    // later commits) cut or gone too, is a crash before those commits as far as anything
    // on disk can tell: the store then rightly opens at the earlier commit.
    let shorter = |name: &str| {
        files
            .iter()
            .zip(&t.files)
            .find(|((p, _), _)| p == Path::new(name))
            .is_some_and(|((_, now), (_, was))| now.as_ref().is_none_or(|b| b.len() < was.len()))
    };
    let witnesses_gone = shorter("COMMITS") && shorter("EDGELOG");
    if report.is_clean() && scan_ok && !witnesses_gone {
        assert_eq!(
            (stats.vertices, stats.edges),
            (t.vertices, t.edges),
            "a damaged store (changed: {changed}) opened and verified clean with other contents"
        );
    }
}

/// A job spec's TOML text, validated against a data directory holding a small store and a
/// CSV: spec errors never panic and stay short.
pub fn job_spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let root = spec_root();
    let options = LoadOptions {
        base_dir: Some(root.to_owned()),
        data_root: Some(root.to_owned()),
        ..LoadOptions::default()
    };
    if let Err(e) = Spec::parse(text, "fuzz.toml", &options) {
        check_message("spec", &e.to_string());
    }
}

/// The data directory the spec and server targets resolve paths against.
fn spec_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = scratch("data");
        reset(&root);
        let mut store =
            Store::create(root.join("store"), &StoreOptions::default()).expect("create spec store");
        let mut batch = WriteBatch::new();
        batch.add_edge(1, 2, 1.0);
        batch.add_edge(2, 3, 1.0);
        store.commit(batch).expect("commit spec store");
        std::fs::write(
            root.join("names.csv"),
            "id,name,age\n1,ann,30\n2,bob,41\n3,cy,\n",
        )
        .expect("write csv");
        root
    })
}

/// The running job server's address (started once, on a free loopback port, with jobs run
/// by `/bin/false` so nothing a request submits does work).
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let root = spec_root().to_owned();
        let state = scratch("state");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let config = ServerConfig {
            listen: addr,
            state_dir: state,
            data_root: root,
            token: None,
            max_concurrent: 1,
            exe: PathBuf::from("/bin/false"),
        };
        std::thread::spawn(move || serve(config));
        for _ in 0..200 {
            if TcpStream::connect(addr).is_ok() {
                return addr;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("job server did not start on {addr}");
    })
}

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/jobs"),
    ("POST", "/api/v1/jobs?set="),
    ("GET", "/api/v1/jobs?state="),
    ("GET", "/api/v1/jobs/"),
    ("GET", "/api/v1/jobs/1/logs?tail="),
    ("POST", "/api/v1/jobs/1/cancel"),
    ("DELETE", "/api/v1/schedules/"),
    ("GET", "/api/v1/"),
];

/// One HTTP request to the job server. The first byte picks a route; for POSTs the rest
/// is the body, otherwise it is appended (percent-encoded) to the route. Every answer is a
/// response with a status below 500; an error is JSON `{"error": …}` and short.
pub fn server_request(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let addr = server();
    let (method, route) = ROUTES[usize::from(selector) % ROUTES.len()];
    let (target, body) = if method == "POST" && !route.ends_with('=') {
        (route.to_owned(), body)
    } else {
        let mut t = route.to_owned();
        for &b in body.iter().take(4096) {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                t.push(char::from(b));
            } else {
                t.push_str(&format!("%{b:02X}"));
            }
        }
        (t, &[][..])
    };
    let mut stream = TcpStream::connect(addr).expect("connect to the job server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send request");
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response to {method} {target:.80}: {text:.200}"));
    assert!(
        status < 500,
        "{method} {target:.80} answered {status}: {text:.400}"
    );
    let payload = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if status >= 400 {
        check_message("HTTP error", payload);
        let json: serde_json::Value = serde_json::from_str(payload.trim()).unwrap_or_else(|_| {
            panic!("{method} {target:.80}: {status} error is not JSON: {payload:.200}")
        });
        assert!(
            json.get("error").is_some_and(|e| e.is_string()),
            "{method} {target:.80}: {status} error without an `error` string: {payload:.200}"
        );
    }
}
