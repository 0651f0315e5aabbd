//! Replays every input the fuzzers kept (`fuzz/corpus/TARGET/`) and every crash they found
//! (`fuzz/regressions/TARGET/`) through the same checks the fuzz targets run. CI replays;
//! it does not fuzz (`fuzz/run.sh` does).

#[path = "../fuzz/src/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for e in dir.flatten() {
            inputs.push(e.path());
        }
    }
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "no saved inputs for fuzz target {target} under {}",
        root.display()
    );
    for path in &inputs {
        let data = std::fs::read(path).expect("read a saved fuzz input");
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "fuzz input {} fails", path.display());
    }
    println!("{target}: {} saved inputs replayed", inputs.len());
}

/// One test, the targets in turn: the server target's job server forks children, and a
/// fork while another test thread holds a store's lock would hold it past that test's drop.
#[test]
fn fuzz_corpus_replays_clean() {
    replay("import_parsers", harness::import_parsers);
    replay("store_open", harness::store_open);
    replay("job_spec", harness::job_spec);
    replay("server_request", harness::server_request);
}
