//! Every parallel algorithm against its sequential twin in `reference`, on random graphs,
//! with 1 to 4 workers, from the store and from collections, and under a memory budget
//! small enough to spill the edge partitions.

#![allow(clippy::unwrap_used)]

use morpheus_engine::{execute, Config, JobMetrics};
use morpheus_graph::algo::{self, PageRankOptions};
use morpheus_graph::reference::{self, RefGraph};
use morpheus_graph::Graph;
use morpheus_storage::{Store, StoreOptions, WriteBatch};

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A random graph: `n` vertices with ids spread out (dense or sparse), `m` edges with
/// duplicates, self-loops and isolated vertices possible, weights in [0, 10).
#[derive(Clone, Debug)]
struct TestGraph {
    vertices: Vec<u64>,
    edges: Vec<(u64, u64, f64)>,
    directed: bool,
}

fn random_graph(seed: u64, n: u64, m: u64, directed: bool, sparse_ids: bool) -> TestGraph {
    let id = |i: u64| {
        if sparse_ids {
            splitmix(i ^ seed) >> 8
        } else {
            i * 3 + 1
        }
    };
    let vertices: Vec<u64> = (0..n).map(id).collect();
    let mut edges = Vec::new();
    for k in 0..m {
        let r = splitmix(seed.wrapping_mul(1_000_003) + k);
        // Skewed sources and targets, so some vertices have many edges.
        let s = (r % n).min((r >> 20) % n);
        let d = (r >> 40) % n;
        let w = ((r >> 8) % 1000) as f64 / 100.0;
        edges.push((id(s), id(d), w));
    }
    TestGraph {
        vertices,
        edges,
        directed,
    }
}

impl TestGraph {
    /// One edge per (src, dst) — per unordered pair when undirected — the first one given:
    /// what a store holds (it keeps one cell per edge).
    fn dedup(&self) -> TestGraph {
        let mut seen = std::collections::HashSet::new();
        let mut t = self.clone();
        t.edges.retain(|&(s, d, _)| {
            let key = if self.directed || s <= d {
                (s, d)
            } else {
                (d, s)
            };
            seen.insert(key)
        });
        t
    }

    fn reference(&self) -> RefGraph {
        RefGraph::new(self.vertices.iter().copied(), &self.edges, self.directed)
    }

    /// Edges as the engine stores them: both directions for undirected graphs.
    fn stored_edges(&self) -> Vec<(u64, u64, f64)> {
        let mut out = self.edges.clone();
        if !self.directed {
            out.extend(
                self.edges
                    .iter()
                    .filter(|e| e.0 != e.1)
                    .map(|&(s, d, w)| (d, s, w)),
            );
        }
        out
    }

    fn store(&self, dir: &std::path::Path, shards: u32) -> Store {
        let mut options = StoreOptions::default();
        options.shards = shards;
        options.directed = self.directed;
        let mut store = Store::create(dir, &options).unwrap();
        let mut batch = WriteBatch::new();
        batch.set_weighted();
        for &v in &self.vertices {
            batch.put_vertex(v, None, Vec::new());
        }
        for &(s, d, w) in &self.edges {
            batch.add_edge(s, d, w);
        }
        store.commit(batch).unwrap();
        store
    }
}

/// Everything the algorithms produce, sorted by vertex id.
#[derive(Debug, PartialEq)]
struct Results {
    ids: Vec<u64>,
    bfs: Vec<i64>,
    sssp: Vec<f64>,
    pagerank: Vec<f64>,
    wcc: Vec<u64>,
    cdlp: Vec<u64>,
    lcc: Vec<f64>,
    triangles: (u64, Vec<u64>),
    scc: Vec<u64>,
    kcore: Vec<u64>,
    degrees: (Vec<u64>, Vec<u64>),
    path: Option<u64>,
}

fn run_all(
    g: &Graph<(), f64>,
    ctx: &morpheus_engine::Context<'_>,
    source: u64,
    target: u64,
) -> morpheus_engine::Result<Option<Results>> {
    let gather_i = |v: &[i64]| g.gather_values(ctx, v);
    let bfs = gather_i(&algo::bfs(ctx, g, source)?)?;
    let sssp = g.gather_values(ctx, &algo::sssp(ctx, g, source)?)?;
    let pr = g.gather_values(
        ctx,
        &algo::pagerank(ctx, g, &PageRankOptions::graphalytics(0.85, 15))?,
    )?;
    let wcc = g.gather_values(ctx, &algo::wcc(ctx, g)?)?;
    let cdlp = g.gather_values(ctx, &algo::cdlp(ctx, g, 5)?)?;
    let lcc = g.gather_values(ctx, &algo::lcc(ctx, g)?)?;
    let tc = algo::triangle_count(ctx, g)?;
    let tri = g.gather_values(ctx, &tc.per_vertex)?;
    let scc = g.gather_values(ctx, &algo::scc(ctx, g)?)?;
    let kcore = g.gather_values(ctx, &algo::kcore(ctx, g)?)?;
    let (din, dout) = algo::degrees(ctx, g)?;
    let din = g.gather_values(ctx, &din)?;
    let dout = g.gather_values(ctx, &dout)?;
    let path = algo::path_exists(ctx, g, source, target, None)?;
    if ctx.index() != 0 {
        return Ok(None);
    }
    let ids: Vec<u64> = bfs.iter().map(|p| p.0).collect();
    let vals = |v: Vec<(u64, u64)>| v.into_iter().map(|p| p.1).collect::<Vec<_>>();
    let fvals = |v: Vec<(u64, f64)>| v.into_iter().map(|p| p.1).collect::<Vec<_>>();
    Ok(Some(Results {
        ids,
        bfs: bfs.into_iter().map(|p| p.1).collect(),
        sssp: fvals(sssp),
        pagerank: fvals(pr),
        wcc: vals(wcc),
        cdlp: vals(cdlp),
        lcc: fvals(lcc),
        triangles: (tc.total, vals(tri)),
        scc: vals(scc),
        kcore: vals(kcore),
        degrees: (vals(din), vals(dout)),
        path,
    }))
}

fn expected(t: &TestGraph, source: u64, target: u64) -> Results {
    let g = t.reference();
    let (total, per_vertex) = reference::triangle_count(&g);
    Results {
        ids: g.ids().to_vec(),
        bfs: reference::bfs(&g, source).unwrap(),
        sssp: reference::sssp(&g, source).unwrap(),
        pagerank: reference::pagerank(&g, 0.85, 15),
        wcc: reference::wcc(&g),
        cdlp: reference::cdlp(&g, 5),
        lcc: reference::lcc(&g),
        triangles: (total, per_vertex),
        scc: reference::scc(&g),
        kcore: reference::kcore(&g),
        degrees: reference::degrees(&g),
        path: reference::path_exists(&g, source, target, None).unwrap(),
    }
}

/// Equal within 1e-9 relative; an infinity only matches itself.
fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x == y
                || (x.is_finite()
                    && y.is_finite()
                    && (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12))
        })
}

fn assert_same(got: &Results, want: &Results, what: &str) {
    assert_eq!(got.ids, want.ids, "{what}: vertex sets");
    assert_eq!(got.bfs, want.bfs, "{what}: bfs");
    assert!(
        close(&got.sssp, &want.sssp),
        "{what}: sssp\n{:?}\n{:?}",
        got.sssp,
        want.sssp
    );
    assert!(close(&got.pagerank, &want.pagerank), "{what}: pagerank");
    assert_eq!(got.wcc, want.wcc, "{what}: wcc");
    assert_eq!(got.cdlp, want.cdlp, "{what}: cdlp");
    assert!(
        close(&got.lcc, &want.lcc),
        "{what}: lcc\n{:?}\n{:?}",
        got.lcc,
        want.lcc
    );
    assert_eq!(got.triangles, want.triangles, "{what}: triangles");
    assert_eq!(got.scc, want.scc, "{what}: scc");
    assert_eq!(got.kcore, want.kcore, "{what}: kcore");
    assert_eq!(got.degrees, want.degrees, "{what}: degrees");
    assert_eq!(
        got.path.is_some(),
        want.path.is_some(),
        "{what}: path exists"
    );
}

fn from_parts(t: &TestGraph, config: Config, source: u64, target: u64) -> (Results, JobMetrics) {
    let t2 = t.clone();
    let (results, metrics) = execute(config, move |ctx| {
        // Worker 0 provides everything; the graph places it.
        let (v, e) = if ctx.index() == 0 {
            (
                t2.vertices.iter().map(|&v| (v, ())).collect(),
                t2.stored_edges(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let g = Graph::from_parts(ctx, v, e, (), t2.directed)?;
        run_all(&g, ctx, source, target)
    })
    .unwrap();
    (results.into_iter().flatten().next().unwrap(), metrics)
}

/// Runs `job` on `workers` workers over `t` as given (worker 0 provides every vertex and
/// edge, duplicates included, and `Graph::from_parts` places them); worker 0's answer.
fn on_graph<T: Send + 'static>(
    t: &TestGraph,
    workers: usize,
    job: impl Fn(&morpheus_engine::Context<'_>, &Graph<(), f64>) -> morpheus_engine::Result<T>
        + Send
        + Sync
        + 'static,
) -> morpheus_engine::Result<T> {
    let t = t.clone();
    let (results, _) = execute(Config::threads(workers), move |ctx| {
        let (v, e) = if ctx.index() == 0 {
            (
                t.vertices.iter().map(|&v| (v, ())).collect(),
                t.edges.clone(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let g = Graph::from_parts(ctx, v, e, (), t.directed)?;
        let answer = job(ctx, &g)?;
        Ok((ctx.index() == 0).then_some(answer))
    })?;
    Ok(results
        .into_iter()
        .flatten()
        .next()
        .expect("worker 0 answers"))
}

#[test]
fn algorithms_match_the_sequential_twins() {
    for (seed, directed, sparse) in [
        (1, true, false),
        (2, false, false),
        (3, true, true),
        (4, false, true),
    ] {
        let t = random_graph(seed, 300, 900, directed, sparse);
        let (source, target) = (t.vertices[0], t.vertices[17]);
        let want = expected(&t, source, target);
        for workers in [1, 2, 3, 4] {
            let (got, _) = from_parts(&t, Config::threads(workers), source, target);
            assert_same(
                &got,
                &want,
                &format!("seed {seed}, directed {directed}, {workers} workers"),
            );
        }
    }
}

#[test]
fn algorithms_on_a_loaded_store_match_the_twins() {
    for (seed, directed, shards) in [(5, true, 4), (6, false, 3), (7, true, 1)] {
        let t = random_graph(seed, 200, 700, directed, seed % 2 == 0).dedup();
        let (source, target) = (t.vertices[3], t.vertices[40]);
        let want = expected(&t, source, target);
        let dir = tempfile::tempdir().unwrap();
        t.store(&dir.path().join("s"), shards);
        for workers in [1, 2, 4] {
            let path = dir.path().join("s");
            let (results, _) = execute(Config::threads(workers), move |ctx| {
                let store = Store::open_read_only(&path).unwrap();
                let g = Graph::load(ctx, &store)?;
                run_all(&g, ctx, source, target)
            })
            .unwrap();
            let got = results.into_iter().flatten().next().unwrap();
            assert_same(
                &got,
                &want,
                &format!("store seed {seed}, {shards} shards, {workers} workers"),
            );
        }
    }
}

#[test]
fn a_small_budget_spills_edge_partitions_and_gives_the_same_answers() {
    let t = random_graph(8, 2000, 12_000, true, false);
    let (source, target) = (t.vertices[0], t.vertices[5]);
    let want = expected(&t, source, target);
    let spill = tempfile::tempdir().unwrap();
    for workers in [1, 2] {
        // 320 KiB per worker: enough for the largest vertex state (triangle counting's
        // replicated simple graph, ~290 KiB here), too little to keep every edge chunk too.
        let config = Config::threads(workers)
            .with_memory_budget((320 << 10) * workers as u64)
            .with_spill_dir(spill.path());
        let (got, metrics) = from_parts(&t, config, source, target);
        assert_same(&got, &want, &format!("small budget, {workers} workers"));
        assert!(metrics.spilled_bytes > 0, "nothing spilled");
        assert!(metrics.read_back_bytes > 0, "nothing read back");
        assert_eq!(
            std::fs::read_dir(spill.path()).unwrap().count(),
            0,
            "spill files left behind"
        );
    }
}

#[test]
fn pregel_and_graph_operations() {
    let t = random_graph(9, 100, 300, true, false);
    let want = t.reference();
    let source = t.vertices[0];
    let want_bfs = reference::bfs(&want, source).unwrap();
    for workers in [1, 2, 4] {
        let t2 = t.clone();
        let (results, _) = execute(Config::threads(workers), move |ctx| {
            let (v, e) = if ctx.index() == 0 {
                (
                    t2.vertices.iter().map(|&v| (v, ())).collect(),
                    t2.stored_edges(),
                )
            } else {
                (Vec::new(), Vec::new())
            };
            let g = Graph::from_parts(ctx, v, e, (), true)?;
            // BFS as a Pregel program: values are depths, messages depth + 1, min-combined.
            let init = g.map_vertices(|id, _| if id == source { 0i64 } else { i64::MAX });
            let bfs = init.pregel(
                ctx,
                i64::MAX,
                usize::MAX,
                |_, &d, m| d.min(m),
                |e| (*e.src_value != i64::MAX).then(|| e.src_value + 1),
                |a, b| a.min(b),
            )?;
            let depths = bfs.gather_values(ctx, bfs.local_values())?;
            // In-degree by aggregate_messages equals degrees().
            let indeg = g.aggregate_messages(ctx, |_| Some(1u64), |a, b| a + b)?;
            let indeg: Vec<u64> = indeg.into_iter().map(|x| x.unwrap_or(0)).collect();
            let (din, _) = algo::degrees(ctx, &g)?;
            assert_eq!(indeg, din);
            // Reverse twice is the identity; subgraph keeps only what the predicates allow.
            let rr = g.reverse(ctx)?.reverse(ctx)?;
            let mut e1 = g.edges(ctx)?.collect(ctx)?;
            let mut e2 = rr.edges(ctx)?.collect(ctx)?;
            e1.sort_by(|a, b| a.partial_cmp(b).unwrap());
            e2.sort_by(|a, b| a.partial_cmp(b).unwrap());
            assert_eq!(e1, e2);
            let sub = g.subgraph(ctx, |id, _| id % 2 == 1, |s, d, _| s != d)?;
            let se = sub.edges(ctx)?.collect(ctx)?;
            assert!(se
                .iter()
                .all(|&(s, d, _)| s % 2 == 1 && d % 2 == 1 && s != d));
            let expect_sub = e1
                .iter()
                .filter(|&&(s, d, _)| s % 2 == 1 && d % 2 == 1 && s != d)
                .count();
            assert_eq!(se.len(), expect_sub);
            // Joining an external dataset by vertex id.
            let names = morpheus_rdd::Rdd::parallelize(
                ctx,
                t2.vertices
                    .iter()
                    .take(10)
                    .map(|&v| (v, format!("v{v}")))
                    .collect(),
                3,
            );
            let joined = g.outer_join_vertices(ctx, &names, |id, _, n| {
                n.unwrap_or_else(|| format!("none{id}"))
            })?;
            let all = joined.vertices().collect(ctx)?;
            assert_eq!(all.len(), t2.vertices.len());
            for (id, name) in &all {
                let named = t2.vertices.iter().take(10).any(|v| v == id);
                assert_eq!(
                    name,
                    &if named {
                        format!("v{id}")
                    } else {
                        format!("none{id}")
                    }
                );
            }
            // Triplets carry both endpoint values.
            let trip = joined.triplets(ctx)?.collect(ctx)?;
            assert_eq!(trip.len(), e1.len());
            assert!(trip
                .iter()
                .all(|t| t.src_value.ends_with(&t.src.to_string())
                    && t.dst_value.ends_with(&t.dst.to_string())));
            Ok((ctx.index() == 0).then_some(depths))
        })
        .unwrap();
        let depths = results.into_iter().flatten().next().unwrap();
        let got: Vec<i64> = depths.into_iter().map(|p| p.1).collect();
        assert_eq!(got, want_bfs, "{workers} workers");
    }
}

#[test]
fn the_store_reads_as_collections_each_worker_its_shards() {
    let t = random_graph(11, 150, 500, true, true).dedup();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    t.store(&path, 3);
    let mut want_edges: Vec<(u64, u64)> = t.edges.iter().map(|e| (e.0, e.1)).collect();
    want_edges.sort_unstable();
    let mut want_vertices = t.vertices.clone();
    want_vertices.extend(t.edges.iter().flat_map(|e| [e.0, e.1]));
    want_vertices.sort_unstable();
    want_vertices.dedup();
    for workers in [1, 2, 4] {
        let path = path.clone();
        let (results, _) = execute(Config::threads(workers), move |ctx| {
            let store = std::rc::Rc::new(Store::open_read_only(&path).unwrap());
            let mut e: Vec<(u64, u64)> = morpheus_graph::source::store_edges(&store)
                .map(|(s, d, _)| (s, d))
                .collect(ctx)?;
            let mut v = morpheus_graph::source::store_vertices(&store).collect(ctx)?;
            let records = morpheus_graph::source::store_vertex_records(&store).count(ctx)?;
            e.sort_unstable();
            v.sort_unstable();
            Ok((e, v, records))
        })
        .unwrap();
        for (e, v, records) in results {
            assert_eq!(e, want_edges);
            assert_eq!(v, want_vertices);
            assert_eq!(records, want_vertices.len() as u64);
        }
    }
}

/// Δ-stepping's buckets against Dijkstra on weight shapes that stress them: all zero (one
/// bucket), ties on bucket boundaries, one huge weight (Δ far above most weights, so nearly
/// every edge is light), and a wide spread (most edges heavy, many buckets).
#[test]
fn sssp_matches_dijkstra_on_awkward_weights() {
    let shapes: [(&str, fn(u64, f64) -> f64); 5] = [
        ("zero", |_, _| 0.0),
        ("ties", |k, _| (k % 4) as f64 * 0.25),
        ("one huge", |k, w| if k == 7 { 1e12 } else { w }),
        ("spread", |k, w| w * 10f64.powi((k % 5) as i32 - 2)),
        // Δ is estimated from a sample at the front of each worker's edges: here that
        // sample says nothing about the rest.
        (
            "front light",
            |k, w| if k < 300 { w * 1e-6 } else { w * 1e3 },
        ),
    ];
    for (name, shape) in shapes {
        let mut t = random_graph(21, 400, 2400, true, false);
        for (k, e) in t.edges.iter_mut().enumerate() {
            e.2 = shape(k as u64, e.2);
        }
        let source = t.vertices[0];
        let want = reference::sssp(&t.reference(), source).unwrap();
        for workers in [1, 2, 3] {
            let got: Vec<f64> = on_graph(&t, workers, move |ctx, g| {
                g.gather_values(ctx, &algo::sssp(ctx, g, source)?)
            })
            .unwrap()
            .into_iter()
            .map(|(_, d)| d)
            .collect();
            assert!(
                close(&got, &want),
                "{name}, {workers} workers\n{got:?}\n{want:?}"
            );
        }
    }
}

/// WCC where no component dominates: `k` components of similar size (ids interleaved, so
/// each spans every worker's range), plus isolated vertices. Each worker's largest tree
/// is then a different component, or the same one seen from different edges, which takes
/// the merge's paths for disjoint and for overlapping giants.
#[test]
fn wcc_with_many_similar_components_matches_the_twin() {
    for (seed, k, isolated) in [(7u64, 2u64, 0u64), (8, 3, 40), (9, 8, 5), (10, 1, 100)] {
        let per = 60;
        let n = k * per + isolated;
        let vertices: Vec<u64> = (0..n).map(|i| i * 7 + 2).collect();
        let mut edges = Vec::new();
        for c in 0..k {
            // Component `c` holds vertices c, c + k, c + 2k, ...: a path, so it is
            // connected, plus random chords.
            let member = |j: u64| vertices[(c + j * k) as usize];
            for j in 1..per {
                let r = splitmix(seed * 1_000 + c * 100 + j);
                edges.push((member(j - 1), member(j), 1.0));
                edges.push((member(r % per), member((r >> 32) % per), 1.0));
            }
        }
        let t = TestGraph {
            vertices,
            edges,
            directed: seed % 2 == 0,
        };
        let want = reference::wcc(&t.reference());
        assert_eq!(
            want.iter().collect::<std::collections::BTreeSet<_>>().len() as u64,
            k + isolated,
            "seed {seed}: the graph has the components it was built with"
        );
        for workers in [1, 2, 3, 4] {
            let got: Vec<u64> = on_graph(&t, workers, |ctx, g| {
                g.gather_values(ctx, &algo::wcc(ctx, g)?)
            })
            .unwrap()
            .into_iter()
            .map(|p| p.1)
            .collect();
            assert_eq!(got, want, "seed {seed}, {k} components, {workers} workers");
        }
    }
}

#[test]
fn sssp_rejects_negative_and_nan_weights() {
    for bad in [-0.5, -1e9, f64::NAN] {
        let mut t = random_graph(22, 200, 900, true, false);
        let (a, b) = (t.vertices[3], t.vertices[4]);
        // First, so that it is the edge kept for its pair.
        t.edges.insert(0, (a, b, bad));
        let source = t.vertices[0];
        for workers in [1, 2, 3] {
            let err = on_graph(&t, workers, move |ctx, g| algo::sssp(ctx, g, source))
                .expect_err("a bad weight is an error")
                .to_string();
            assert!(
                err.contains("SSSP needs non-negative weights"),
                "weight {bad}, {workers} workers: {err}"
            );
            if workers == 1 {
                assert!(err.contains(&format!("edge {a} -> {b}")), "{err}");
            }
        }
    }
}

/// Graphs with fewer vertices than workers leave some workers without any vertex (and an
/// empty store leaves all of them without): every algorithm still runs and matches its
/// twin, from the store and from collections, on 1 to 4 workers.
#[test]
fn graphs_smaller_than_the_worker_count_match_the_twins() {
    let graphs = [
        (
            "one vertex with a self-loop",
            vec![5u64],
            vec![(5u64, 5u64, 1.0)],
            true,
        ),
        ("one isolated vertex", vec![9], Vec::new(), false),
        (
            "a directed path of three",
            vec![1, 2, 3],
            vec![(1, 2, 1.0), (2, 3, 2.0)],
            true,
        ),
        (
            "an undirected triangle",
            vec![10, 20, 30],
            vec![(10, 20, 1.0), (20, 30, 1.0), (30, 10, 1.0)],
            false,
        ),
    ];
    for (name, vertices, edges, directed) in graphs {
        let t = TestGraph {
            vertices,
            edges,
            directed,
        };
        let (source, target) = (t.vertices[0], *t.vertices.last().unwrap());
        let want = expected(&t, source, target);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        t.store(&path, 4);
        for workers in [1, 2, 3, 4] {
            let (got, _) = from_parts(&t, Config::threads(workers), source, target);
            assert_same(&got, &want, &format!("{name}, {workers} workers, parts"));
            let path = path.clone();
            let (results, _) = execute(Config::threads(workers), move |ctx| {
                let store = Store::open_read_only(&path).unwrap();
                let g = Graph::load(ctx, &store)?;
                run_all(&g, ctx, source, target)
            })
            .unwrap();
            let got = results.into_iter().flatten().next().unwrap();
            assert_same(&got, &want, &format!("{name}, {workers} workers, store"));
        }
    }
}

/// An empty store: the algorithms without a source give no values (and no triangles);
/// those with one say the source is not in the graph.
#[test]
fn every_algorithm_runs_on_an_empty_store() {
    use morpheus_graph::run::{self, Algorithm, Params};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    for directed in [true, false] {
        let _ = std::fs::remove_dir_all(&path);
        let mut options = StoreOptions::default();
        options.directed = directed;
        Store::create(&path, &options).unwrap();
        for workers in [1, 2, 3, 4] {
            for algorithm in Algorithm::ALL {
                let path = path.clone();
                let params = Params {
                    source: Some(1),
                    target: Some(2),
                    ..Params::default()
                };
                let got = execute(Config::threads(workers), move |ctx| {
                    let store = Store::open_read_only(&path).unwrap();
                    run::run(ctx, &store, algorithm, &params)
                });
                let what = format!("{algorithm}, directed {directed}, {workers} workers");
                match algorithm {
                    Algorithm::Bfs | Algorithm::Sssp | Algorithm::Path => {
                        let err = got.expect_err(&what).to_string();
                        assert!(err.contains("is not in the graph"), "{what}: {err}");
                    }
                    _ => {
                        let (outcomes, _) = got.unwrap_or_else(|e| panic!("{what}: {e}"));
                        assert_eq!(outcomes.len(), workers, "{what}");
                        let o = &outcomes[0];
                        assert!(o.ids.is_empty() && o.values.is_empty(), "{what}: {o:?}");
                        let summary =
                            (algorithm == Algorithm::Triangles).then(|| "triangles 0".to_owned());
                        assert_eq!(o.summary, summary, "{what}");
                    }
                }
            }
        }
    }
}
