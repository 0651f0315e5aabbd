//! Helpers shared by the integration tests that drive the `morpheus` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `morpheus ARGS` (with `CI=true`: no progress bars) and returns its output.
pub fn morpheus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args(args)
        .env("CI", "true")
        .output()
        .expect("binary runs")
}

/// Runs `morpheus ARGS`, fails the test unless it succeeds, returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = morpheus(args);
    assert!(
        out.status.success(),
        "morpheus {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
