//! Cluster start-up and failure: connections made here (with a deadline, not timely's
//! endless retry), a fingerprint exchange before any work, and a lost peer turned into
//! [`Error::Disconnected`] instead of timely's panics.
//!
//! Process `i` connects to every process below it and accepts connections from every
//! process above it, as timely does; each connection starts with a magic and the
//! connecting process's index. Then every process sends every other its fingerprint
//! ([`Config::fingerprint`] plus the worker and process counts) and compares what it
//! receives field by field. Only then are the sockets handed to timely
//! (`initialize_networking_from_sockets`).
//!
//! timely's send and receive threads panic when a socket fails ("timely communication
//! error: …"), and the workers then panic on the poisoned queues. A panic hook installed
//! for cluster runs records which peer was lost (the thread is named after it), keeps
//! those panics off stderr, and the workers stop at their next collective step with the
//! disconnect as the job's error. A process that fails on its own shuts its sockets down,
//! so its peers learn at once (a clean timely shutdown would leave them waiting forever).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::{
    initialize_networking_from_sockets, CommsGuard,
};
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::Hooks;

use crate::config::Config;
use crate::error::{Error, Result};

/// Opens every connection.
const MAGIC: &[u8; 8] = b"MPHCLU01";
/// The largest fingerprint a peer may send.
const MAX_FINGERPRINT: u32 = 1 << 20;

/// The live connections of a cluster run.
#[derive(Debug)]
pub(crate) struct Link {
    addresses: Vec<String>,
    /// Clones of the sockets, to shut them down when this process fails.
    sockets: Vec<TcpStream>,
    /// The first peer whose connection failed.
    lost: Mutex<Option<usize>>,
    /// This process failed before any peer was lost.
    failed_here: AtomicBool,
}

impl Link {
    /// The disconnect error, if a peer was lost.
    pub(crate) fn lost(&self) -> Option<Error> {
        let lost = *self.lost.lock().unwrap_or_else(|p| p.into_inner());
        lost.map(|process| Error::Disconnected {
            process,
            address: self.addresses.get(process).cloned().unwrap_or_default(),
        })
    }

    /// Whether this process failed on its own (so its error, not a disconnect, is the
    /// root cause).
    pub(crate) fn failed_here(&self) -> bool {
        self.failed_here.load(Ordering::SeqCst)
    }

    /// This process failed: tells the peers by closing every connection.
    pub(crate) fn fail(&self) {
        if self.lost().is_none() {
            self.failed_here.store(true, Ordering::SeqCst);
        }
        for s in &self.sockets {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn record_lost(&self, process: usize) {
        self.lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(process);
    }

    /// Whether panics are consequences of a failure already known.
    fn failing(&self) -> bool {
        self.failed_here() || self.lost().is_some()
    }
}

/// The cluster run in progress in this process, for the panic hook.
static ACTIVE: Mutex<Option<Arc<Link>>> = Mutex::new(None);
static HOOK: Once = Once::new();

fn active() -> Option<Arc<Link>> {
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The peer a timely network thread serves (`timely:recv-N`, `timely:send-N`).
fn network_thread_peer() -> Option<usize> {
    let thread = std::thread::current();
    let name = thread.name()?;
    let rest = name
        .strip_prefix("timely:recv-")
        .or_else(|| name.strip_prefix("timely:send-"))?;
    rest.parse().ok()
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(link) = active() {
                let message = info
                    .payload()
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| info.payload().downcast_ref::<&str>().copied())
                    .unwrap_or("");
                if let Some(peer) = network_thread_peer() {
                    if message.starts_with("timely communication error") {
                        link.record_lost(peer);
                        tracing::debug!("connection to process {peer}: {message}");
                        return;
                    }
                }
                if link.failing() {
                    // Poisoned queues and joins after the failure: consequences only.
                    tracing::debug!("after a cluster failure: {message}");
                    return;
                }
            }
            previous(info);
        }));
    });
}

/// The connections of this process and timely's allocators over them.
pub(crate) struct Network {
    pub(crate) builders: Vec<AllocatorBuilder>,
    pub(crate) guard: CommsGuard,
    pub(crate) link: Arc<Link>,
}

impl Network {
    /// Ends the run: on success, joins timely's network threads (which flush and shut
    /// down cleanly); after a failure, leaves them (a join could wait on a dead peer).
    pub(crate) fn finish(self, failed: bool) {
        *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if failed {
            std::mem::forget(self.guard);
        } else {
            drop(self.guard);
        }
    }
}

/// Connects to every peer of `config` (waiting at most `config.connect_timeout` for all
/// of them), compares fingerprints, and builds timely's allocators over the sockets.
pub(crate) fn connect(config: &Config) -> Result<Network> {
    let addresses = config.addresses()?;
    let me = config.process_id;
    let deadline = Instant::now() + config.connect_timeout;
    let mut sockets = accept_and_dial(&addresses, me, deadline, config.connect_timeout)?;
    let ours = fingerprint(config);
    for (peer, s) in sockets.iter_mut().enumerate() {
        if let Some(s) = s {
            send_fingerprint(s, &ours).map_err(|_| lost(&addresses, peer))?;
        }
    }
    for (peer, s) in sockets.iter_mut().enumerate() {
        if let Some(s) = s {
            let theirs = receive_fingerprint(s, deadline).map_err(|_| lost(&addresses, peer))?;
            compare(&ours, &theirs, peer, &addresses[peer])?;
        }
    }
    let clones = sockets
        .iter()
        .flatten()
        .map(TcpStream::try_clone)
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::Startup(format!("cannot clone a socket: {e}")))?;
    let link = Arc::new(Link {
        addresses,
        sockets: clones,
        lost: Mutex::new(None),
        failed_here: AtomicBool::new(false),
    });
    install_hook();
    *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&link));
    let hooks = Hooks::default();
    let process =
        ProcessBuilder::new_typed_vector(config.workers, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(process, sockets, me, config.workers, hooks)
            .map_err(|e| Error::Startup(format!("cannot start the network threads: {e}")))?;
    Ok(Network {
        builders: builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        guard,
        link,
    })
}

fn lost(addresses: &[String], process: usize) -> Error {
    Error::Disconnected {
        process,
        address: addresses[process].clone(),
    }
}

/// Dials the processes below `me` and accepts those above it, until `deadline`.
fn accept_and_dial(
    addresses: &[String],
    me: usize,
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>> {
    let mut sockets: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    let listener = TcpListener::bind(&addresses[me]).map_err(|source| Error::Bind {
        address: addresses[me].clone(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Startup(format!("cannot configure the listener: {e}")))?;
    let mut last_report = Instant::now();
    loop {
        let mut progress = false;
        for peer in 0..me {
            if sockets[peer].is_none() {
                if let Some(s) = dial(&addresses[peer], me) {
                    tracing::info!(
                        "process {me}: connected to process {peer} ({})",
                        addresses[peer]
                    );
                    sockets[peer] = Some(s);
                    progress = true;
                }
            }
        }
        while let Ok((stream, from)) = listener.accept() {
            match greeted(stream, addresses.len(), me, deadline) {
                Some((peer, s)) if sockets[peer].is_none() => {
                    tracing::info!("process {me}: connection from process {peer} ({from})");
                    sockets[peer] = Some(s);
                    progress = true;
                }
                _ => tracing::warn!("process {me}: ignored a connection from {from}"),
            }
        }
        let missing: Vec<usize> = (0..addresses.len())
            .filter(|&p| p != me && sockets[p].is_none())
            .collect();
        if missing.is_empty() {
            return Ok(sockets);
        }
        if Instant::now() >= deadline {
            return Err(Error::ConnectTimeout {
                waited: timeout,
                missing: missing
                    .iter()
                    .map(|&p| format!("process {p} ({})", addresses[p]))
                    .collect(),
            });
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            tracing::info!(
                "process {me}: awaiting connections ({} of {})",
                addresses.len() - 1 - missing.len(),
                addresses.len() - 1
            );
            last_report = Instant::now();
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One attempt to connect to `address` and introduce this process.
fn dial(address: &str, me: usize) -> Option<TcpStream> {
    use std::net::ToSocketAddrs;
    let target = address.to_socket_addrs().ok()?.next()?;
    let mut s = TcpStream::connect_timeout(&target, Duration::from_millis(500)).ok()?;
    s.set_nodelay(true).ok()?;
    s.write_all(MAGIC).ok()?;
    s.write_all(&(me as u64).to_le_bytes()).ok()?;
    Some(s)
}

/// Reads a connecting process's introduction: `(its index, the stream)`, or `None` for
/// anything that is not a peer above `me`.
fn greeted(
    mut s: TcpStream,
    processes: usize,
    me: usize,
    deadline: Instant,
) -> Option<(usize, TcpStream)> {
    s.set_nonblocking(false).ok()?;
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    s.set_read_timeout(Some(wait.min(Duration::from_secs(5))))
        .ok()?;
    let mut hello = [0u8; 16];
    s.read_exact(&mut hello).ok()?;
    if &hello[..8] != MAGIC {
        return None;
    }
    let peer = u64::from_le_bytes(hello[8..].try_into().ok()?) as usize;
    if peer <= me || peer >= processes {
        return None;
    }
    s.set_read_timeout(None).ok()?;
    s.set_nodelay(true).ok()?;
    Some((peer, s))
}

/// What this process runs: the caller's fields plus the engine's own.
fn fingerprint(config: &Config) -> Vec<(String, String)> {
    let mut f = config.fingerprint.clone();
    f.push(("processes".into(), config.processes.to_string()));
    f.push(("workers per process".into(), config.workers.to_string()));
    f
}

fn send_fingerprint(s: &mut TcpStream, fields: &[(String, String)]) -> std::io::Result<()> {
    let mut buf = Vec::new();
    for (k, v) in fields {
        for part in [k, v] {
            buf.extend_from_slice(&(part.len() as u32).to_le_bytes());
            buf.extend_from_slice(part.as_bytes());
        }
    }
    s.write_all(&(buf.len() as u32).to_le_bytes())?;
    s.write_all(&buf)?;
    s.flush()
}

fn receive_fingerprint(
    s: &mut TcpStream,
    deadline: Instant,
) -> std::io::Result<Vec<(String, String)>> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1));
    s.set_read_timeout(Some(wait))?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_FINGERPRINT {
        return Err(bad("fingerprint too large"));
    }
    let mut buf = vec![0u8; len as usize];
    s.read_exact(&mut buf)?;
    s.set_read_timeout(None)?;
    let mut parts = Vec::new();
    let mut rest = &buf[..];
    while !rest.is_empty() {
        let (n, tail) = rest.split_at_checked(4).ok_or_else(|| bad("truncated"))?;
        let n = u32::from_le_bytes(n.try_into().map_err(|_| bad("truncated"))?) as usize;
        let (text, tail) = tail.split_at_checked(n).ok_or_else(|| bad("truncated"))?;
        parts.push(String::from_utf8_lossy(text).into_owned());
        rest = tail;
    }
    if parts.len() % 2 != 0 {
        return Err(bad("odd field count"));
    }
    let mut fields = Vec::new();
    let mut it = parts.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        fields.push((k, v));
    }
    Ok(fields)
}

/// The first field that differs between this process and `peer`.
fn compare(
    ours: &[(String, String)],
    theirs: &[(String, String)],
    peer: usize,
    address: &str,
) -> Result<()> {
    let get = |fields: &[(String, String)], k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map_or_else(|| "(none)".to_owned(), |(_, v)| v.clone())
    };
    let keys = ours.iter().chain(theirs).map(|(k, _)| k.as_str());
    for k in keys {
        let (a, b) = (get(ours, k), get(theirs, k));
        if a != b {
            return Err(Error::Mismatch {
                process: peer,
                address: address.to_owned(),
                field: k.to_owned(),
                here: clip(&a),
                there: clip(&b),
            });
        }
    }
    Ok(())
}

/// At most about 200 bytes of a value, for messages.
fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_owned();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fingerprints_compare_field_by_field() {
        let a = f(&[("command", "algo"), ("algorithm", "wcc")]);
        assert!(compare(&a, &a, 1, "h:1").is_ok());
        let b = f(&[("command", "algo"), ("algorithm", "bfs")]);
        let e = compare(&a, &b, 1, "h:1").unwrap_err().to_string();
        assert!(
            e.contains("algorithm") && e.contains("wcc") && e.contains("bfs"),
            "{e}"
        );
        let c = f(&[("command", "algo")]);
        let e = compare(&a, &c, 1, "h:1").unwrap_err().to_string();
        assert!(e.contains("algorithm") && e.contains("(none)"), "{e}");
    }
}
