//! Issue 15, jobs through the CLI: outputs never destroy inputs (stores, datasets, the spec,
//! files Morpheus did not write), re-runs replace their own outputs, stale staging entries
//! of killed runs are collected, and an unknown `--set` key is an error.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::{morpheus, ok, s};

/// A directory with a store, a names CSV and a spec writing `${out}` as CSV.
struct Fixture {
    dir: tempfile::TempDir,
}

const SPEC: &str = r#"
name = "safety"
[vars]
store = "store"
names = "names.csv"
out = "out/top.csv"
[inputs.g]
store = "${store}"
[inputs.names]
csv = "${names}"
key = "id"
[[steps]]
name = "deg"
algorithm = "degree"
[[steps]]
name = "named"
join = "deg"
with = "names"
[[steps]]
name = "top"
input = "named"
top = 3
by = "degree"
[[outputs]]
step = "top"
path = "${out}"
format = "csv"
"#;

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let edges = dir.path().join("g.txt");
        ok(&["generate", "rmat", "--scale", "6", "--out", s(&edges)]);
        let store = dir.path().join("store");
        ok(&["import", "--store", s(&store), s(&edges)]);
        let mut names = String::from("id,name\n");
        for i in 0..64 {
            names.push_str(&format!("{i},user{i}\n"));
        }
        fs::write(dir.path().join("names.csv"), names).unwrap();
        fs::write(dir.path().join("job.toml"), SPEC).unwrap();
        Fixture { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn spec(&self) -> PathBuf {
        self.path("job.toml")
    }

    /// `morpheus run job.toml --set out=OUT` run in the fixture's directory: (exit code,
    /// stderr).
    fn run_out(&self, out: &str) -> (i32, String) {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_morpheus"))
            .args(["run", s(&self.spec()), "--set", &format!("out={out}")])
            .current_dir(self.dir.path())
            .env("CI", "true")
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

/// Every file under `dir` with its bytes, sorted (to compare a store before and after).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_output_onto_the_store_is_refused_and_the_store_is_untouched() {
    let f = Fixture::new();
    let store = f.path("store");
    let before = snapshot(&store);
    // `path = "${store}"`: the repro turned the store into a 211-byte CSV and exited 0.
    for out in ["${store}", "./x/../store", "store/MANIFEST.json", "."] {
        let (code, err) = f.run_out(out);
        assert_eq!(code, 1, "{out}: {err}");
        assert!(
            err.contains("outputs[0].path") && err.contains(s(&store)),
            "{out}: {err}"
        );
    }
    // Through a symlink to the store too.
    std::os::unix::fs::symlink(&store, f.path("alias")).unwrap();
    let (code, err) = f.run_out("alias/top.csv");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("lies inside the store"), "{err}");
    // `validate` refuses it the same way, before any work.
    let o = morpheus(&[
        "validate",
        s(&f.spec()),
        "--set",
        &format!("store={}", s(&store)),
        "--set",
        &format!("names={}", s(&f.path("names.csv"))),
        "--set",
        "out=${store}",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the store of input `g`"), "{err}");
    assert_eq!(snapshot(&store), before);
    // Any directory holding a store, not only an input's.
    ok(&[
        "import",
        "--store",
        s(&f.path("other")),
        s(&f.path("g.txt")),
    ]);
    let (code, err) = f.run_out("other/x.csv");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the Morpheus store"), "{err}");
}

#[test]
fn an_output_onto_an_input_the_spec_or_a_user_file_is_refused() {
    let f = Fixture::new();
    let names = fs::read(f.path("names.csv")).unwrap();
    let (code, err) = f.run_out("names.csv");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("is input `names`") && err.contains(s(&f.path("names.csv"))),
        "{err}"
    );
    assert_eq!(fs::read(f.path("names.csv")).unwrap(), names);
    let (code, err) = f.run_out("job.toml");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is the spec file"), "{err}");
    assert_eq!(fs::read_to_string(f.spec()).unwrap(), SPEC);
    // A user's file that Morpheus did not write.
    fs::write(f.path("mine.csv"), "precious\n").unwrap();
    let (code, err) = f.run_out("mine.csv");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("was not written by Morpheus"), "{err}");
    assert_eq!(
        fs::read_to_string(f.path("mine.csv")).unwrap(),
        "precious\n"
    );
    // And a user's directory.
    fs::create_dir(f.path("photos")).unwrap();
    fs::write(f.path("photos/a.jpg"), "jpg").unwrap();
    let (code, err) = f.run_out("photos");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("was not written by Morpheus"), "{err}");
    assert!(f.path("photos/a.jpg").is_file());
}

#[test]
fn a_rerun_replaces_its_own_single_file_and_partitioned_outputs() {
    let f = Fixture::new();
    let (code, err) = f.run_out("out/top.csv");
    assert_eq!(code, 0, "{err}");
    fs::write(f.path("out/top.csv"), "stale\n").unwrap();
    let (code, err) = f.run_out("out/top.csv");
    assert_eq!(code, 0, "{err}");
    let text = fs::read_to_string(f.path("out/top.csv")).unwrap();
    assert!(text.starts_with("id,degree,name\n"), "{text}");
    // Partitioned: a directory with the marker, replaced on the next run.
    let part = f.dir.path().join("part.toml");
    fs::write(
        &part,
        SPEC.replace("format = \"csv\"", "format = \"csv\"\npartitioned = true"),
    )
    .unwrap();
    for _ in 0..2 {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_morpheus"))
            .args(["run", s(&part), "--set", "out=parts", "-w", "2"])
            .current_dir(f.dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(f.path("parts/_MORPHEUS_OUTPUT").is_file());
    }
}

#[test]
fn stale_staging_entries_of_killed_runs_are_collected_by_the_next_run() {
    let f = Fixture::new();
    let (code, err) = f.run_out("out/top.csv");
    assert_eq!(code, 0, "{err}");
    // A finished child's pid no longer runs; this test's own pid does.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let live = std::process::id();
    let stale_dir = f.path(&format!("out/.top.csv.tmp-{dead}"));
    fs::create_dir_all(&stale_dir).unwrap();
    fs::write(stale_dir.join("part-00000.csv"), vec![b'x'; 4096]).unwrap();
    let stale_file = f.path(&format!("out/.top.csv.file-{dead}"));
    fs::write(&stale_file, "x").unwrap();
    let live_entry = f.path(&format!("out/.top.csv.tmp-{live}"));
    fs::create_dir_all(&live_entry).unwrap();
    let unrelated = f.path(&format!("out/.other.csv.tmp-{dead}"));
    fs::write(&unrelated, "x").unwrap();
    let (code, err) = f.run_out("out/top.csv");
    assert_eq!(code, 0, "{err}");
    assert!(
        !stale_dir.exists(),
        "the dead run's staging directory stays"
    );
    assert!(!stale_file.exists(), "the dead run's staging file stays");
    assert!(live_entry.exists(), "a live process's entry was removed");
    assert!(unrelated.exists(), "another output's entry was removed");
}

#[test]
fn an_unknown_set_key_is_an_error_listing_the_variables() {
    let f = Fixture::new();
    for cmd in ["run", "validate"] {
        let o = morpheus(&[cmd, s(&f.spec()), "--set", "outt=elsewhere.csv"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("unknown key `outt`") && err.contains("names, out, store"),
            "{cmd}: {err}"
        );
        assert!(err.contains("workers"), "{err}");
    }
    assert!(
        !f.path("out").exists(),
        "the typo still wrote the default output"
    );
    // Top-level overrides stay valid keys.
    let out = ok(&[
        "validate",
        s(&f.spec()),
        "--set",
        "workers=2",
        "--set",
        &format!("store={}", s(&f.path("store"))),
        "--set",
        &format!("names={}", s(&f.path("names.csv"))),
    ]);
    assert!(out.contains("is valid"), "{out}");
}

#[test]
fn a_run_confined_to_a_data_root_refuses_an_input_swapped_to_point_outside() {
    // The server passes its data root to each `morpheus run` child, which checks again:
    // a symlink swapped after submission reads nothing outside, and previews nothing.
    let f = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.csv");
    fs::write(&secret, "id,name\n1,SECRETVALUE\n").unwrap();
    std::os::unix::fs::symlink(&secret, f.path("linked.csv")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_morpheus"))
        .args([
            "run",
            s(&f.spec()),
            "--set",
            "names=linked.csv",
            "--data-root",
            s(f.dir.path()),
        ])
        .current_dir(f.dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(err.contains("outside the server's data root"), "{err}");
    assert!(!out.contains("SECRETVALUE") && !err.contains("SECRETVALUE"));
    assert!(!f.path("out").exists());
}
