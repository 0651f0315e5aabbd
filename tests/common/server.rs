//! A real `morpheus serve` for the HTTP tests (`tests/server.rs`, `tests/safety_server.rs`),
//! included with `#[path = "common/server.rs"] mod server_util;` next to `mod common;`.

#![allow(dead_code)] // not every test binary uses every helper

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{ok, s};

/// A data root with a store (RMAT scale 8) and a names CSV, and a state directory.
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir_all(&data).unwrap();
        let edges = data.join("g.txt");
        ok(&["generate", "rmat", "--scale", "8", "--out", s(&edges)]);
        ok(&["import", "--store", s(&data.join("store")), s(&edges)]);
        let mut names = String::from("id,name,country\n");
        for i in 0..256 {
            names.push_str(&format!("{i},user{i},{}\n", ["NZ", "AU", "US"][i % 3]));
        }
        fs::write(data.join("names.csv"), names).unwrap();
        Setup { dir }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
}

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// `morpheus serve` on the setup's state directory and data root, plus `extra`.
    pub fn start(setup: &Setup, extra: &[&str]) -> Server {
        Server::start_at(setup, &setup.data(), extra)
    }

    /// `morpheus serve` on the setup's state directory with `data_root`, plus `extra`.
    pub fn start_at(setup: &Setup, data_root: &std::path::Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_morpheus"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--state",
                s(&setup.state()),
                "--data-root",
                s(data_root),
            ])
            .args(extra)
            .env("CI", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line `{line}`"))
            .to_owned();
        Server { child, url }
    }

    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    /// (status, body) of a request.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, String) {
        let url = format!("{}{path}", self.url);
        let agent = Self::agent();
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut r = match method {
            "POST" => {
                let mut req = agent.post(&url);
                if let Some(a) = &auth {
                    req = req.header("authorization", a);
                }
                req.send(body.unwrap_or("").to_owned()).unwrap()
            }
            "DELETE" => {
                let mut req = agent.delete(&url);
                if let Some(a) = &auth {
                    req = req.header("authorization", a);
                }
                req.call().unwrap()
            }
            _ => {
                let mut req = agent.get(&url);
                if let Some(a) = &auth {
                    req = req.header("authorization", a);
                }
                req.call().unwrap()
            }
        };
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    /// (status, body) of a POST announcing `length` body bytes but sending only `sent`:
    /// the answer to a body over the limit, read without a client that insists on sending
    /// the rest after the server has answered.
    pub fn post_announcing(&self, path: &str, length: usize, sent: usize) -> (u16, String) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            conn,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n\
             Connection: close\r\n\r\n"
        )
        .unwrap();
        let _ = conn.write_all(&vec![b'x'; sent]);
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in `{answer}`"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// (status, body) of a request with a raw body and extra headers.
    pub fn request_raw(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let url = format!("{}{path}", self.url);
        let agent = Self::agent();
        let mut r = match method {
            "POST" => {
                let mut req = agent.post(&url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send(body).unwrap()
            }
            "DELETE" => {
                let mut req = agent.delete(&url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call().unwrap()
            }
            _ => {
                let mut req = agent.get(&url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call().unwrap()
            }
        };
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path, None, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Polls a job until `done(state)` or the deadline.
    pub fn wait_for(&self, id: i64, done: impl Fn(&str) -> bool, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let job = self.get(&format!("/api/v1/jobs/{id}"));
            if done(job["state"].as_str().unwrap()) {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} stuck: {job}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
