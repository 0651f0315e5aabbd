//! Random change sequences: after every batch of insertions and deletions the maintained
//! results equal the batch twins (`reference`) on the graph as it is then, and a saved and
//! reopened state keeps going the same way.

use super::*;
use crate::reference::{self, RefGraph};

/// SplitMix64 (the store's generator mix), for reproducible random graphs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let r = morpheus_storage::generate::splitmix(self.0);
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        r
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The model: live vertex ids and the arc multiset.
#[derive(Clone, Default)]
struct Model {
    directed: bool,
    weighted: bool,
    vertices: BTreeSet<u64>,
    /// Directed: arcs as given. Undirected: each edge once, `(min, max)`.
    edges: Vec<(u64, u64, f64)>,
}

impl Model {
    fn arcs(&self) -> Vec<(u64, u64, f64)> {
        if self.directed {
            return self.edges.clone();
        }
        self.edges
            .iter()
            .flat_map(|&(a, b, w)| {
                if a == b {
                    vec![(a, b, w)]
                } else {
                    vec![(a, b, w), (b, a, w)]
                }
            })
            .collect()
    }

    fn reference(&self) -> RefGraph {
        RefGraph::new(self.vertices.iter().copied(), &self.edges, self.directed)
    }

    fn weight(&self, rng: &mut Rng) -> f64 {
        if self.weighted {
            (rng.below(8) + 1) as f64 * 0.5
        } else {
            1.0
        }
    }

    /// Applies a random batch to the model and returns it as a delta (arcs as a store
    /// would list them).
    fn random_batch(&mut self, rng: &mut Rng, size: usize, id_space: u64) -> Delta {
        let before = self.arcs();
        let before_v = self.vertices.clone();
        for _ in 0..size {
            match rng.below(10) {
                0..=4 => {
                    let (a, b) = (rng.below(id_space), rng.below(id_space));
                    let w = self.weight(rng);
                    let e = if self.directed {
                        (a, b, w)
                    } else {
                        (a.min(b), a.max(b), w)
                    };
                    self.edges.push(e);
                    self.vertices.insert(a);
                    self.vertices.insert(b);
                }
                5..=7 if !self.edges.is_empty() => {
                    let i = rng.below(self.edges.len() as u64) as usize;
                    self.edges.swap_remove(i);
                }
                8 => {
                    let v = rng.below(id_space);
                    self.vertices.insert(v);
                }
                _ => {
                    let v = rng.below(id_space);
                    if self.vertices.remove(&v) {
                        self.edges.retain(|&(a, b, _)| a != v && b != v);
                    }
                }
            }
        }
        let mut old = before;
        let mut new = self.arcs();
        let key = |a: &(u64, u64, f64)| (a.0, a.1, a.2.to_bits());
        old.sort_unstable_by_key(key);
        new.sort_unstable_by_key(key);
        let mut delta = Delta::default();
        let by_src = |v: &[(u64, u64, f64)], s: u64| -> Vec<(u64, f64)> {
            v.iter().filter(|a| a.0 == s).map(|a| (a.1, a.2)).collect()
        };
        let sources: BTreeSet<u64> = old.iter().chain(&new).map(|a| a.0).collect();
        for s in sources {
            diff_arcs(
                s,
                &by_src(&old, s),
                &by_src(&new, s),
                &mut delta.removed,
                &mut delta.added,
            );
        }
        delta.dead = before_v.difference(&self.vertices).copied().collect();
        delta.born = self.vertices.difference(&before_v).copied().collect();
        delta
    }
}

fn wants(source: u64, weighted: bool) -> Vec<Want> {
    wants_with(source, weighted, true)
}

/// Without triangle counts, updates rewrite each adjacency list once per delta (the
/// batched path); with them, arc by arc.
fn wants_with(source: u64, weighted: bool, triangles: bool) -> Vec<Want> {
    let mut w = vec![
        Want {
            key: "wcc".into(),
            algorithm: Algorithm::Wcc,
            params: Params::default(),
        },
        Want {
            key: "bfs".into(),
            algorithm: Algorithm::Bfs,
            params: Params {
                source: Some(source),
                ..Params::default()
            },
        },
        Want {
            key: "out".into(),
            algorithm: Algorithm::Degree,
            params: Params::default(),
        },
        Want {
            key: "in".into(),
            algorithm: Algorithm::Degree,
            params: Params {
                in_degree: true,
                ..Params::default()
            },
        },
        Want {
            key: "tri".into(),
            algorithm: Algorithm::Triangles,
            params: Params::default(),
        },
        Want {
            key: "pr".into(),
            algorithm: Algorithm::PageRank,
            params: Params {
                tolerance: Some(1e-12),
                iterations: Some(500),
                ..Params::default()
            },
        },
    ];
    if !triangles {
        w.retain(|x| x.algorithm != Algorithm::Triangles);
    }
    if weighted {
        w.push(Want {
            key: "sssp".into(),
            algorithm: Algorithm::Sssp,
            params: Params {
                source: Some(source),
                ..Params::default()
            },
        });
    }
    w
}

fn check(inc: &Incremental, m: &Model, source: u64, step: usize) {
    let g = m.reference();
    let ids = g.ids().to_vec();
    let get = |key: &str| {
        let (got_ids, values, summary) = inc.values(key).expect("values");
        assert_eq!(got_ids, ids, "step {step}: {key} vertex set");
        (values, summary)
    };
    assert_eq!(
        get("wcc").0,
        Values::UInt(reference::wcc(&g)),
        "step {step}: wcc"
    );
    let (inn, out) = reference::degrees(&g);
    assert_eq!(get("out").0, Values::UInt(out), "step {step}: out-degree");
    assert_eq!(get("in").0, Values::UInt(inn), "step {step}: in-degree");
    if inc.values("tri").is_ok() {
        let (total, per) = reference::triangle_count(&g);
        let (tri, summary) = get("tri");
        assert_eq!(tri, Values::UInt(per), "step {step}: triangles");
        assert_eq!(summary, Some(format!("triangles {total}")));
    }
    if g.index_of(source).is_some() {
        let bfs = reference::bfs(&g, source).expect("bfs");
        assert_eq!(get("bfs").0, Values::Int(bfs), "step {step}: bfs");
        if m.weighted {
            let sssp = reference::sssp(&g, source).expect("sssp");
            assert_eq!(get("sssp").0, Values::Float(sssp), "step {step}: sssp");
        }
    } else {
        assert!(inc.values("bfs").is_err(), "step {step}: missing source");
    }
    let opts = crate::algo::PageRankOptions {
        tolerance: Some(1e-12),
        iterations: 500,
        ..crate::algo::PageRankOptions::graphalytics(0.85, 500)
    };
    let pr = reference::pagerank_with(&g, &opts).expect("pagerank");
    let Values::Float(got) = get("pr").0 else {
        panic!("pagerank values")
    };
    for (i, (a, b)) in got.iter().zip(&pr).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1e-12),
            "step {step}: pagerank of {} {a} vs {b}",
            ids[i]
        );
    }
}

fn run_sequence(directed: bool, weighted: bool, seed: u64) {
    run_sequence_with(directed, weighted, seed, true);
    run_sequence_with(directed, weighted, seed, false);
}

fn run_sequence_with(directed: bool, weighted: bool, seed: u64, triangles: bool) {
    let mut rng = Rng(seed);
    // Small id spaces give dense graphs (long cycles, many triangles), large ones sparse
    // graphs that split into many components.
    let id_space = [30, 60, 200][seed as usize % 3];
    let source = 3;
    let mut m = Model {
        directed,
        weighted,
        ..Model::default()
    };
    let mut first = m.random_batch(&mut rng, 120, id_space);
    if m.vertices.insert(source) {
        first.born.push(source);
    }
    // Build from the first graph through a delta on an empty graph, then keep changing.
    let empty = DynGraph::from_arcs(Vec::new(), Vec::new(), directed, weighted, &[]);
    let w = wants_with(source, weighted, triangles);
    let mut inc = Incremental::from_graph(empty, 0, 0, &w).expect("build");
    inc.apply(&first).expect("apply");
    check(&inc, &m, source, 0);
    for step in 1..40 {
        let size = 1 + rng.below(12) as usize;
        let delta = m.random_batch(&mut rng, size, id_space);
        inc.apply(&delta).expect("apply");
        check(&inc, &m, source, step);
    }
    // A from-scratch build of the final graph agrees too.
    let mut ids: Vec<u64> = m.vertices.iter().copied().collect();
    ids.sort_unstable();
    let arcs: Vec<(u32, u32, f64)> = m
        .arcs()
        .iter()
        .map(|&(a, b, w)| {
            (
                ids.binary_search(&a).expect("a") as u32,
                ids.binary_search(&b).expect("b") as u32,
                w,
            )
        })
        .collect();
    let alive = vec![true; ids.len()];
    let g = DynGraph::from_arcs(ids, alive, directed, weighted, &arcs);
    let fresh = Incremental::from_graph(g, 0, 0, &w).expect("fresh");
    check(&fresh, &m, source, 999);
}

#[test]
fn random_changes_directed() {
    for seed in 0..12 {
        run_sequence(true, false, seed);
    }
}

#[test]
fn random_changes_undirected() {
    for seed in 100..112 {
        run_sequence(false, false, seed);
    }
}

#[test]
fn random_changes_weighted() {
    for seed in 200..212 {
        run_sequence(true, true, seed);
        run_sequence(false, true, seed + 50);
    }
}

#[test]
fn diff_is_a_multiset_difference() {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let old = [(1, 1.0), (2, 1.0), (2, 1.0), (4, 2.0)];
    let new = [(2, 1.0), (3, 1.0), (4, 3.0)];
    diff_arcs(9, &old, &new, &mut removed, &mut added);
    assert_eq!(removed, vec![(9, 1, 1.0), (9, 2, 1.0), (9, 4, 2.0)]);
    assert_eq!(added, vec![(9, 3, 1.0), (9, 4, 3.0)]);
}

#[test]
fn splitting_a_component_relabels_the_rest() {
    // 1 - 5 - 2 - 3: cutting 5-2 leaves {1, 5} (label 1) and {2, 3} (label 2); cutting 1-5
    // then leaves 5 alone.
    let ids = vec![1, 2, 3, 5];
    let arcs = [(0u32, 3u32, 1.0), (3, 1, 1.0), (1, 2, 1.0)];
    let g = DynGraph::from_arcs(ids, vec![true; 4], true, false, &arcs);
    let want = Want {
        key: "wcc".into(),
        algorithm: Algorithm::Wcc,
        params: Params::default(),
    };
    let mut inc = Incremental::from_graph(g, 0, 0, std::slice::from_ref(&want)).expect("build");
    let cut = |inc: &mut Incremental, a, b| {
        let d = Delta {
            removed: vec![(a, b, 1.0)],
            ..Delta::default()
        };
        inc.apply(&d).expect("apply");
        inc.values("wcc").expect("values").1
    };
    assert_eq!(cut(&mut inc, 5, 2), Values::UInt(vec![1, 2, 2, 1]));
    assert_eq!(cut(&mut inc, 1, 5), Values::UInt(vec![1, 2, 2, 5]));
}

#[test]
fn saved_state_reopens_and_mismatches_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g");
    let mut store =
        Store::create(&path, &morpheus_storage::StoreOptions::default()).expect("store");
    let mut b = morpheus_storage::WriteBatch::new();
    for (s, d) in [(1, 2), (2, 3), (4, 5), (5, 6)] {
        b.add_edge(s, d, 1.0);
    }
    store.commit(b).expect("commit");
    let state = dir.path().join("state");
    let w = wants(1, false);
    let (inc, report) = refresh(&state, &store, &w).expect("first");
    assert_eq!(report.mode, "full");
    assert!(report
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("no incremental state"));
    inc.save(&state, &store).expect("save");

    let mut b = morpheus_storage::WriteBatch::new();
    b.add_edge(3, 4, 1.0);
    b.delete_edge(5, 6);
    store.commit(b).expect("commit");
    let (inc, report) = refresh(&state, &store, &w).expect("second");
    assert_eq!(report.mode, "incremental", "{report:?}");
    assert_eq!(report.input_changes, 2);
    assert_eq!(
        inc.values("wcc").expect("wcc").1,
        Values::UInt(vec![1, 1, 1, 1, 1, 6])
    );
    assert_eq!(
        inc.values("bfs").expect("bfs").1,
        Values::Int(vec![0, 1, 2, 3, 4, UNREACHABLE])
    );
    inc.save(&state, &store).expect("save");

    // Other parameters: rebuilt, and said so.
    let (_, report) = refresh(&state, &store, &wants(2, false)).expect("other");
    assert_eq!(report.mode, "full");
    assert!(report
        .reason
        .expect("reason")
        .contains("parameters changed"));
    // Another store at another path: rebuilt.
    let other = Store::create(
        dir.path().join("h"),
        &morpheus_storage::StoreOptions::default(),
    )
    .expect("store");
    let (_, report) = refresh(&state, &other, &w).expect("other store");
    assert!(report.reason.expect("reason").contains("another store"));
    // A damaged state file: rebuilt.
    let bin = state.join("results.bin");
    let mut bytes = std::fs::read(&bin).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&bin, bytes).expect("write");
    let (_, report) = refresh(&state, &store, &w).expect("damaged");
    assert!(report.reason.expect("reason").contains("checksum"));
}

/// Random transactions committed to a real store (several per update, so additions and
/// deletions of the same edge and vertex net out), read back through the edge log, or
/// through the changed cells when the log is gone; the refreshed results equal a fresh
/// build from the store.
fn store_sequence(directed: bool, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g");
    let mut options = morpheus_storage::StoreOptions::default();
    options.directed = directed;
    let mut store = Store::create(&path, &options).expect("store");
    let mut rng = Rng(seed);
    let ids = 40;
    let mut present: Vec<(u64, u64)> = Vec::new();
    let mut commit_random = |store: &mut Store, rng: &mut Rng, n: usize| {
        let mut b = morpheus_storage::WriteBatch::new();
        for _ in 0..n {
            match rng.below(10) {
                0..=5 => {
                    let (s, d) = (rng.below(ids), rng.below(ids));
                    b.add_edge(s, d, 1.0);
                    present.push((s, d));
                }
                6..=7 if !present.is_empty() => {
                    let (s, d) = present[rng.below(present.len() as u64) as usize];
                    b.delete_edge(s, d);
                }
                8 => b.put_vertex(rng.below(ids) + 100, None, Vec::new()),
                _ => b.delete_vertex(rng.below(ids)),
            }
        }
        store.commit(b).expect("commit");
    };
    commit_random(&mut store, &mut rng, 60);
    let state = dir.path().join("state");
    let w = wants_with(1, false, seed.is_multiple_of(2));
    let (inc, _) = refresh(&state, &store, &w).expect("first");
    inc.save(&state, &store).expect("save");
    for round in 0..12 {
        for _ in 0..1 + rng.below(3) {
            let n = 1 + rng.below(10) as usize;
            commit_random(&mut store, &mut rng, n);
        }
        // Rounds 2, 6, 10 lose the edge log: a state whose saved graph needs the log to
        // catch up is rebuilt (and says why); rounds 3, 7, 11 lose it again, right after a
        // state was saved with a fresh graph, so the change is read from the cells.
        let lost_log = round % 4 == 2 || round % 4 == 3;
        if lost_log {
            let _ = std::fs::remove_file(path.join(morpheus_storage::edgelog::EDGELOG_FILE));
        }
        let (inc, report) = refresh(&state, &store, &w).expect("refresh");
        let via_cells = match (round % 4, report.mode.as_str()) {
            (2, "full") => {
                let why = report.reason.clone().unwrap_or_default();
                assert!(why.contains("edge log"), "round {round}: {why}");
                false
            }
            (2 | 3, "incremental") => {
                assert_eq!(report.read_from.as_deref(), Some("changed cells"));
                true
            }
            (_, "incremental") => {
                assert_eq!(
                    report.read_from.as_deref(),
                    Some("edge log"),
                    "round {round}"
                );
                false
            }
            (_, mode) => panic!("round {round}: {mode}: {report:?}"),
        };
        let fresh = Incremental::build(&store, &w).expect("fresh");
        for key in ["wcc", "out", "in", "tri"] {
            if fresh.values(key).is_err() {
                continue;
            }
            assert_eq!(
                inc.values(key).expect("values"),
                fresh.values(key).expect("values"),
                "seed {seed} round {round} ({}): {key}",
                if via_cells { "cells" } else { "log" }
            );
        }
        match (inc.values("bfs"), fresh.values("bfs")) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "seed {seed} round {round}: bfs"),
            (a, b) => assert_eq!(a.is_err(), b.is_err(), "round {round}: bfs source"),
        }
        inc.save(&state, &store).expect("save");
    }
}

#[test]
fn store_changes_through_the_edge_log_and_the_cells() {
    for seed in 0..4 {
        store_sequence(true, 300 + seed);
        store_sequence(false, 400 + seed);
    }
}
