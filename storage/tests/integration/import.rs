//! The importers on tiny graphs the tests write themselves.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use morpheus_storage::import::{import, Format, ImportOptions, NoProgress};
use morpheus_storage::{Error, Store, Value};

use super::common::snapshot;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

fn edges_of(store: &Store, v: u64) -> Vec<(u64, f64)> {
    store
        .out_edges(v)
        .unwrap()
        .iter()
        .map(|e| (e.dst, e.weight))
        .collect()
}

#[test]
fn edgelist_with_comments_crlf_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# comment\r\n% another\r\n1 2\r\n\r\n2\t3\r\n3 1\r\n";
    let plain = write(dir.path(), "g.txt", text);
    let gz = dir.path().join("g2.txt.gz");
    let mut enc = flate2::write::GzEncoder::new(
        fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(b"4 5\n5 1\n").unwrap();
    enc.finish().unwrap();
    let store_dir = dir.path().join("s");
    let report = import(
        &store_dir,
        &[plain, gz],
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(report.edges, 5);
    assert!(report.created);
    let store = Store::open_read_only(&store_dir).unwrap();
    let s = store.stats();
    assert_eq!((s.vertices, s.edges, s.weighted), (5, 5, false));
    assert_eq!(edges_of(&store, 2), vec![(3, 1.0)]);
    assert_eq!(edges_of(&store, 5), vec![(1, 1.0)]);
}

#[test]
fn weighted_undirected_edgelist_counts_each_pair_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "g.txt", "1 2 0.5\n2 3 1.5\n3 3 2\n");
    let mut o = ImportOptions::default();
    o.weighted = true;
    o.undirected = true;
    let store_dir = dir.path().join("s");
    import(&store_dir, &[p], &o, &NoProgress).unwrap();
    let store = Store::open_read_only(&store_dir).unwrap();
    let s = store.stats();
    assert!(!s.directed && s.weighted);
    assert_eq!(
        (s.vertices, s.edges, s.edge_entries, s.self_loops),
        (3, 3, 5, 1)
    );
    assert_eq!(edges_of(&store, 2), vec![(1, 0.5), (3, 1.5)]);
    assert_eq!(edges_of(&store, 3), vec![(2, 1.5), (3, 2.0)]);
}

#[test]
fn bad_line_fails_with_file_and_line_and_leaves_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.txt", "1 2\n2 3\n");
    let store_dir = dir.path().join("s");
    import(&store_dir, &[good], &ImportOptions::default(), &NoProgress).unwrap();
    let before = snapshot(&store_dir);
    // Line 3000 of a multi-chunk file is bad; the lines before it are fine.
    let mut text = String::new();
    for i in 0..400_000u64 {
        if i == 299_999 {
            text.push_str("7 eight\n");
        } else {
            text.push_str(&format!("{} {}\n", i, i + 1));
        }
    }
    let bad = write(dir.path(), "bad.txt", &text);
    let err = import(
        &store_dir,
        std::slice::from_ref(&bad),
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    match &err {
        Error::InvalidInput { path, line, .. } => {
            assert_eq!(path, &bad);
            assert_eq!(*line, Some(300_000));
        }
        other => panic!("expected invalid input, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{}:300000: vertex id `eight`", bad.display())),
        "{err}"
    );
    assert_eq!(snapshot(&store_dir), before);
    // No store is created when the first import fails.
    let fresh = dir.path().join("fresh");
    assert!(import(&fresh, &[bad], &ImportOptions::default(), &NoProgress).is_err());
    assert!(!fresh.exists());
}

#[test]
fn csv_edges_and_vertices_with_properties_and_updates() {
    let dir = tempfile::tempdir().unwrap();
    let edges = write(
        dir.path(),
        "e.csv",
        "src,dst,weight,label,since\n1,2,0.5,knows,2001\n2,3,1.5,,\n\"3\",1,2,likes,2003\n",
    );
    let vertices = write(dir.path(), "v.csv", "id,label,name,age,score,vip\n1,person,\"Ann, A.\",31,1.5,true\n2,person,Bob,,2,false\n4,,Dee,40,3.25,true\n");
    let store_dir = dir.path().join("s");
    import(
        &store_dir,
        &[edges, vertices],
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let store = Store::open_read_only(&store_dir).unwrap();
    let s = store.stats();
    assert_eq!((s.vertices, s.edges), (4, 3));
    let v1 = store.vertex(1).unwrap().unwrap();
    assert_eq!(v1.label, "person");
    assert_eq!(v1.properties["name"], Value::String("Ann, A.".into()));
    assert_eq!(v1.properties["age"], Value::I64(31));
    assert_eq!(v1.properties["score"], Value::F64(1.5));
    assert_eq!(v1.properties["vip"], Value::Bool(true));
    let v2 = store.vertex(2).unwrap().unwrap();
    assert!(
        !v2.properties.contains_key("age"),
        "empty field leaves the property unset"
    );
    assert_eq!(v2.properties["score"], Value::F64(2.0));
    let e = store.out_edges(1).unwrap();
    assert_eq!(
        (e[0].dst, e[0].weight, e[0].label.as_str()),
        (2, 0.5, "knows")
    );
    assert_eq!(e[0].properties["since"], Value::I64(2001));
    let e = store.out_edges(2).unwrap();
    assert!(e[0].label.is_empty() && e[0].properties.is_empty());
    drop(store);

    // Re-importing a vertex updates it: new values replace, others stay.
    let update = write(dir.path(), "v2.csv", "id,age\n1,32\n");
    import(
        &store_dir,
        &[update],
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let store = Store::open_read_only(&store_dir).unwrap();
    let v1 = store.vertex(1).unwrap().unwrap();
    assert_eq!(v1.properties["age"], Value::I64(32));
    assert_eq!(v1.properties["name"], Value::String("Ann, A.".into()));
    assert_eq!(v1.label, "person");
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("s");
    let cases = [
        ("a.csv", "src,dst\n1,2\n3,-4\n", ":3: column `dst`"),
        (
            "b.csv",
            "src,dst\n1,2\n3\n",
            ":3: expected 2 fields, found 1",
        ),
        ("c.csv", "from,to\n1,2\n", ":1: header names neither"),
        ("d.csv", "src,dst,weight\n1,2,heavy\n", ":2: weight `heavy`"),
    ];
    for (name, text, want) in cases {
        let p = write(dir.path(), name, text);
        let err = import(
            &store_dir,
            std::slice::from_ref(&p),
            &ImportOptions::default(),
            &NoProgress,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&p.display().to_string()) && msg.contains(want),
            "{name}: {msg}"
        );
    }
}

#[test]
fn ldbc_properties_import_reads_vertices_edges_weights_and_direction() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tiny.v", "1\n2\n3\n9\n");
    write(dir.path(), "tiny.e", "1 2 0.25\n2 3 4\n3 1 1\n");
    let props = write(
        dir.path(),
        "tiny.properties",
        "# a comment\ngraph.tiny.vertex-file = tiny.v\ngraph.tiny.edge-file = tiny.e\ngraph.tiny.directed = false\n\
         graph.tiny.edge-properties.names = weight\ngraph.tiny.edge-properties.types = real\ngraph.tiny.bfs.source-vertex = 1\n",
    );
    assert_eq!(Format::detect(&props), Format::Ldbc);
    let store_dir = dir.path().join("s");
    import(
        &store_dir,
        std::slice::from_ref(&props),
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let store = Store::open_read_only(&store_dir).unwrap();
    let s = store.stats();
    assert_eq!(
        (s.vertices, s.edges, s.directed, s.weighted),
        (4, 3, false, true)
    );
    assert_eq!(edges_of(&store, 1), vec![(2, 0.25), (3, 1.0)]);
    assert!(
        store.vertex(9).unwrap().is_some(),
        "isolated vertex from the .v file"
    );
    drop(store);
    // A directed store refuses an undirected LDBC graph.
    let other = dir.path().join("d");
    import(
        &other,
        &[write(dir.path(), "x.txt", "1 2\n")],
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let err = import(&other, &[props], &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("undirected"), "{err}");
}

#[test]
fn parquet_edges_import_and_bad_columns_are_reported() {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, UInt64Array};
    let dir = tempfile::tempdir().unwrap();
    let write_parquet = |name: &str, cols: Vec<(&str, ArrayRef)>| {
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let p = dir.path().join(name);
        let mut w = parquet::arrow::ArrowWriter::try_new(
            fs::File::create(&p).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        p
    };
    let good = write_parquet(
        "e.parquet",
        vec![
            (
                "src",
                Arc::new(UInt64Array::from(vec![1, 2, 3])) as ArrayRef,
            ),
            (
                "dst",
                Arc::new(UInt64Array::from(vec![2, 3, 1])) as ArrayRef,
            ),
            (
                "weight",
                Arc::new(Float64Array::from(vec![0.5, 1.0, 2.0])) as ArrayRef,
            ),
        ],
    );
    let store_dir = dir.path().join("s");
    import(&store_dir, &[good], &ImportOptions::default(), &NoProgress).unwrap();
    let store = Store::open_read_only(&store_dir).unwrap();
    assert_eq!(
        (
            store.stats().vertices,
            store.stats().edges,
            store.stats().weighted
        ),
        (3, 3, true)
    );
    assert_eq!(edges_of(&store, 1), vec![(2, 0.5)]);
    drop(store);
    let negative = write_parquet(
        "n.parquet",
        vec![
            ("src", Arc::new(Int64Array::from(vec![1, -2])) as ArrayRef),
            ("dst", Arc::new(Int64Array::from(vec![2, 3])) as ArrayRef),
        ],
    );
    let err = import(
        &store_dir,
        &[negative],
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("row 2: column `src` holds negative id -2"),
        "{err}"
    );
    let missing = write_parquet(
        "m.parquet",
        vec![("a", Arc::new(UInt64Array::from(vec![1])) as ArrayRef)],
    );
    let err = import(
        &store_dir,
        &[missing],
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing column `src`"), "{err}");
    let not_parquet = write(dir.path(), "z.parquet", "hello");
    assert!(import(
        &store_dir,
        &[not_parquet],
        &ImportOptions::default(),
        &NoProgress
    )
    .is_err());
}

#[test]
fn delete_removes_listed_edges_and_vertices() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("s");
    let g = write(dir.path(), "g.txt", "1 2\n1 3\n2 3\n3 4\n4 1\n");
    import(&store_dir, &[g], &ImportOptions::default(), &NoProgress).unwrap();
    let lsn = Store::open_read_only(&store_dir).unwrap().last_lsn();
    let mut del = ImportOptions::default();
    del.delete = true;
    import(
        &store_dir,
        &[write(dir.path(), "d.txt", "1 3\n")],
        &del,
        &NoProgress,
    )
    .unwrap();
    import(
        &store_dir,
        &[write(dir.path(), "dv.csv", "id\n4\n")],
        &del,
        &NoProgress,
    )
    .unwrap();
    let store = Store::open_read_only(&store_dir).unwrap();
    let s = store.stats();
    assert_eq!(
        (s.vertices, s.edges),
        (3, 2),
        "vertex 4 and its in- and out-edges are gone"
    );
    assert_eq!(edges_of(&store, 1), vec![(2, 1.0)]);
    assert!(edges_of(&store, 3).is_empty());
    assert!(store.vertex(4).unwrap().is_none());
    let changes = store.changes_since(lsn);
    assert!(changes.iter().any(|c| c.vertex == 4 && c.deleted));
    drop(store);
    assert!(morpheus_storage::verify(&store_dir).unwrap().is_clean());
}
