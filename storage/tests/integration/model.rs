//! Random workloads of puts, updates and deletes, checked against a plain `BTreeMap` model
//! after every batch, through reopen and compaction.

use std::collections::BTreeMap;

use morpheus_storage::{Store, Value, WriteBatch};
use proptest::prelude::*;

use super::common::{compact_all, content, copy_dir, small, Content};

#[derive(Clone, Debug)]
enum Op {
    AddEdge(u64, u64, u8),
    DeleteEdge(u64, u64),
    PutVertex(u64, Option<u8>, Option<i64>),
    DeleteVertex(u64),
}

#[derive(Clone, Debug)]
enum Step {
    Batch(Vec<Op>),
    Reopen,
    Compact,
    Checkpoint,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u64..24;
    prop_oneof![
        6 => (id.clone(), id.clone(), 0u8..4).prop_map(|(s, d, w)| Op::AddEdge(s, d, w)),
        2 => (id.clone(), id.clone()).prop_map(|(s, d)| Op::DeleteEdge(s, d)),
        2 => (id.clone(), proptest::option::of(0u8..3), proptest::option::of(-5i64..5))
            .prop_map(|(v, l, p)| Op::PutVertex(v, l, p)),
        1 => id.prop_map(Op::DeleteVertex),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => proptest::collection::vec(op(), 1..12).prop_map(Step::Batch),
        1 => Just(Step::Reopen),
        1 => Just(Step::Compact),
        1 => Just(Step::Checkpoint),
    ]
}

fn weight(w: u8) -> f64 {
    if w == 0 {
        1.0
    } else {
        f64::from(w) * 0.25
    }
}

/// The model: what the store must contain, following `WriteBatch`'s documented semantics
/// (deletes first, then puts and adds; adding an edge creates its endpoints).
#[derive(Default)]
struct Model {
    vertices: BTreeMap<u64, (String, BTreeMap<String, Value>)>,
    edges: BTreeMap<u64, Vec<(u64, u64)>>,
}

impl Model {
    fn apply(&mut self, ops: &[Op], directed: bool) {
        let mut vdel = Vec::new();
        for op in ops {
            match *op {
                Op::DeleteEdge(s, d) => {
                    let mut del = |a: u64, b: u64| {
                        if let Some(l) = self.edges.get_mut(&a) {
                            l.retain(|e| e.0 != b);
                        }
                    };
                    del(s, d);
                    if !directed {
                        del(d, s);
                    }
                }
                Op::DeleteVertex(v) => vdel.push(v),
                _ => {}
            }
        }
        for v in vdel {
            self.vertices.remove(&v);
            self.edges.remove(&v);
            for l in self.edges.values_mut() {
                l.retain(|e| e.0 != v);
            }
        }
        for op in ops {
            match *op {
                Op::PutVertex(v, label, prop) => {
                    let e = self.vertices.entry(v).or_default();
                    if let Some(l) = label {
                        e.0 = format!("L{l}");
                    }
                    if let Some(p) = prop {
                        e.1.insert("p".into(), Value::I64(p));
                    }
                }
                Op::AddEdge(s, d, w) => {
                    self.edges
                        .entry(s)
                        .or_default()
                        .push((d, weight(w).to_bits()));
                    if !directed && s != d {
                        self.edges
                            .entry(d)
                            .or_default()
                            .push((s, weight(w).to_bits()));
                    }
                    self.vertices.entry(s).or_default();
                    self.vertices.entry(d).or_default();
                }
                _ => {}
            }
        }
        self.edges.retain(|_, l| !l.is_empty());
        for l in self.edges.values_mut() {
            l.sort_unstable();
        }
    }

    fn content(&self) -> Content {
        (self.vertices.clone(), self.edges.clone())
    }
}

fn run(steps: Vec<Step>, shards: u32, directed: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(shards, directed)).unwrap();
    let mut model = Model::default();
    for step in steps {
        match step {
            Step::Batch(ops) => {
                let mut b = WriteBatch::new();
                for op in &ops {
                    match *op {
                        Op::AddEdge(s, d, w) => b.add_edge(s, d, weight(w)),
                        Op::DeleteEdge(s, d) => b.delete_edge(s, d),
                        Op::PutVertex(v, l, p) => b.put_vertex(
                            v,
                            l.map(|l| format!("L{l}")).as_deref(),
                            p.map(|p| vec![("p".to_string(), Value::I64(p))])
                                .unwrap_or_default(),
                        ),
                        Op::DeleteVertex(v) => b.delete_vertex(v),
                    }
                }
                store.commit(b).unwrap();
                model.apply(&ops, directed);
            }
            Step::Reopen => {
                drop(store);
                store = Store::open(&path).unwrap();
                // An index restored from checkpoints must be the one a full scan builds.
                let scanned = dir.path().join(format!("scanned-{}", model.vertices.len()));
                let _ = std::fs::remove_dir_all(&scanned);
                copy_dir(&path, &scanned);
                for s in 0..shards {
                    let _ = std::fs::remove_file(scanned.join(format!("shard-{s:04}/index.ckpt")));
                }
                let rebuilt = Store::open_read_only(&scanned).unwrap();
                prop_assert_eq!(
                    format!("{:?}", rebuilt.stats()),
                    format!("{:?}", store.stats())
                );
                prop_assert_eq!(rebuilt.changes_since(0), store.changes_since(0));
            }
            Step::Checkpoint => store.checkpoint().unwrap(),
            Step::Compact => {
                compact_all(&mut store);
            }
        }
        prop_assert_eq!(content(&store), model.content());
        // The bulk scan delivers the same edges, a block at a time.
        for s in 0..store.shard_count() {
            let (mut one, mut bulk, mut sorted) = (Vec::new(), Vec::new(), true);
            let n = store
                .scan_edges(s, |a, b, w| one.push((a, b, w.to_bits())))
                .unwrap();
            let m = store
                .scan_edge_lists(s, |a, dsts, ws| {
                    sorted &= dsts.is_sorted();
                    for (i, &d) in dsts.iter().enumerate() {
                        bulk.push((a, d, ws.map_or(1.0, |w| w[i]).to_bits()));
                    }
                })
                .unwrap();
            prop_assert!(sorted, "a block's destinations are ascending");
            prop_assert_eq!(n, m);
            prop_assert_eq!(one, bulk);
            prop_assert_eq!(n, store.edge_entries(s).unwrap());
        }
        let stats = store.stats();
        prop_assert_eq!(stats.vertices, model.vertices.len() as u64);
        let entries: usize = model.edges.values().map(Vec::len).sum();
        prop_assert_eq!(stats.edge_entries, entries as u64);
        // Point reads agree with the scans.
        for (&v, (label, props)) in &model.vertices {
            let got = store.vertex(v).unwrap().expect("vertex exists");
            prop_assert_eq!(&got.label, label);
            prop_assert_eq!(&got.properties, props);
            let mut out: Vec<(u64, u64)> = store
                .out_edges(v)
                .unwrap()
                .iter()
                .map(|e| (e.dst, e.weight.to_bits()))
                .collect();
            out.sort_unstable();
            let want = model.edges.get(&v).cloned().unwrap_or_default();
            prop_assert_eq!(out, want);
        }
    }
    // Whatever happened, the store reopens to the same content and verifies clean.
    drop(store);
    let store = Store::open(&path).unwrap();
    prop_assert_eq!(content(&store), model.content());
    drop(store);
    let report = morpheus_storage::verify(&path).unwrap();
    prop_assert!(report.is_clean(), "verify: {:?}", report.problems);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn directed_workload_matches_model(steps in proptest::collection::vec(step(), 1..24), shards in 1u32..4) {
        run(steps, shards, true)?;
    }

    #[test]
    fn undirected_workload_matches_model(steps in proptest::collection::vec(step(), 1..16)) {
        run(steps, 3, false)?;
    }
}

#[test]
fn long_edge_lists_span_several_blocks_and_survive_updates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let mut store = Store::create(&path, &small(2, true)).unwrap();
    // 200k weighted edges of one source: over 1 MiB, so at least three chained blocks.
    let mut b = WriteBatch::new();
    for d in 0..200_000u64 {
        b.add_edge(7, d, 0.5);
    }
    store.commit(b).unwrap();
    let changes = store.changes_since(0);
    let blocks = changes
        .iter()
        .filter(|c| c.vertex == 7 && c.kind == morpheus_storage::record::CellKind::EdgeBlock)
        .count();
    assert!(blocks >= 3, "expected a chain of blocks, got {blocks}");
    let lsn = store.last_lsn();
    let mut b = WriteBatch::new();
    b.delete_edge(7, 5);
    b.add_edge(7, 300_000, 2.0);
    store.commit(b).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    let out = store.out_edges(7).unwrap();
    assert_eq!(out.len(), 200_000);
    // The bulk scan hands the chain over block by block, in chain order.
    let mut lists = Vec::new();
    store
        .scan_edge_lists(morpheus_storage::shard_of(7, 2), |src, dsts, ws| {
            if src == 7 {
                assert_eq!(ws.map(<[f64]>::len), Some(dsts.len()));
                lists.push(dsts.to_vec());
            }
        })
        .unwrap();
    assert!(lists.len() >= 3);
    let flat: Vec<u64> = lists.concat();
    assert_eq!(flat, out.iter().map(|e| e.dst).collect::<Vec<_>>());
    assert!(!out.iter().any(|e| e.dst == 5));
    assert_eq!(out.last().map(|e| (e.dst, e.weight)), Some((300_000, 2.0)));
    // The change log lists exactly the rewritten cells: vertex 300000 and 7's blocks.
    let since: Vec<_> = store.changes_since(lsn);
    assert!(since.iter().all(|c| c.lsn > lsn));
    assert!(since.iter().any(|c| c.vertex == 300_000));
    assert!(
        since.iter().all(|c| c.vertex == 7 || c.vertex == 300_000),
        "{since:?}"
    );
    drop(store);
    assert!(morpheus_storage::verify(&path).unwrap().is_clean());
}
