//! Tabular sources and sinks: CSV, Parquet and Arrow IPC round trips (rows and serde
//! records) with 1, 2 and 4 workers, CSV splitting, inference and error messages, arrow
//! type conversions, and outputs that are never left half-written.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use morpheus_engine::{execute, Config, Context, Result};
use morpheus_rdd::dataset::{from_row, to_row};
use morpheus_rdd::{CsvOptions, DataType, Field, ParquetCompression, Rdd, Row, Schema, Value};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

mod common;
use common::{check, run};

/// The error `f` fails with (on some worker).
fn job_error(
    workers: usize,
    f: impl for<'a> Fn(&Context<'a>) -> Result<()> + Send + Sync + 'static,
) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(execute(Config::threads(workers), f).map(|_| ()));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("job hung")
        .unwrap_err()
        .to_string()
}

fn people_schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("flag", DataType::Bool, true),
    ])
}

fn people() -> impl Strategy<Value = Vec<Row>> {
    let score = prop_oneof![
        prop::num::f64::NORMAL,
        Just(-0.0),
        Just(f64::INFINITY),
        Just(1e300),
        (-1000i32..1000).prop_map(|x| f64::from(x) / 8.0),
    ];
    proptest::collection::vec(
        (
            any::<i64>(),
            proptest::option::of("[a-zé ,;\"']{1,8}"),
            proptest::option::of(score),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(id, name, score, flag)| {
                vec![
                    Value::Int(id),
                    Value::from(name),
                    Value::from(score),
                    Value::from(flag),
                ]
            }),
        0..120,
    )
}

/// Directory `name` under `base`, distinct per worker count (every worker agrees on it).
fn out(base: &Path, name: &str, ctx: &Context<'_>) -> PathBuf {
    base.join(format!("{name}-{}", ctx.peers()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn csv_parquet_and_ipc_round_trip(rows in people()) {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().to_owned();
        let schema = people_schema();
        let want = (rows.clone(), rows.clone(), rows.clone(), schema.clone(), rows.clone(), schema.clone());
        let data = rows.clone();
        check(want, move |ctx| {
            let r = Rdd::parallelize(ctx, data.clone(), 3);
            let s = people_schema();
            let csv = out(&dir, "csv", ctx);
            r.save_as_csv(ctx, &csv, &s)?;
            let (_, back_csv) = Rdd::read_csv(ctx, &csv, &CsvOptions::default().with_schema(s.clone()), 0)?;
            // Tab-separated without a header, read back by position.
            let tsv = out(&dir, "tsv", ctx);
            let tab = CsvOptions::default().with_header(false).with_delimiter(b'\t').with_schema(s.clone());
            r.save_as_csv_with(ctx, &tsv, &s, &tab)?;
            let (_, back_tsv) = Rdd::read_csv(ctx, &tsv, &tab, 2)?;
            let pq = out(&dir, "parquet", ctx);
            r.save_as_parquet_with(ctx, &pq, &s, ParquetCompression::Zstd(3))?;
            let (pq_schema, back_pq) = Rdd::read_parquet(ctx, &pq, 0)?;
            let ipc = out(&dir, "ipc", ctx);
            r.save_as_ipc(ctx, &ipc, &s)?;
            let (ipc_schema, back_ipc) = Rdd::read_ipc(ctx, &ipc)?;
            Ok((
                back_csv.collect(ctx)?,
                back_tsv.collect(ctx)?,
                back_pq.collect(ctx)?,
                pq_schema,
                back_ipc.collect(ctx)?,
                ipc_schema,
            ))
        });
    }
}

#[test]
fn written_directories_hold_one_part_per_partition() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().to_owned();
    let rows: Vec<Row> = (0..100)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::from(format!("n{i}")),
                Value::Float(i as f64 / 2.0),
                Value::Bool(i % 2 == 0),
            ]
        })
        .collect();
    let (got, _) = run(Config::threads(2), move |ctx| {
        let r = Rdd::parallelize(ctx, rows.clone(), 3);
        let s = people_schema();
        r.save_as_parquet(ctx, dir.join("pq"), &s)?;
        r.save_as_ipc(ctx, dir.join("ipc"), &s)?;
        r.save_as_csv(ctx, dir.join("csv"), &s)?;
        let (_, pq) = Rdd::read_parquet(ctx, dir.join("pq"), 0)?;
        let (_, pq2) = Rdd::read_parquet(ctx, dir.join("pq"), 2)?;
        let (_, ipc) = Rdd::read_ipc(ctx, dir.join("ipc"))?;
        // One part file read on its own.
        let (_, one) = Rdd::read_parquet(ctx, dir.join("pq/part-00001.parquet"), 0)?;
        Ok((
            pq.partitions(),
            pq2.partitions(),
            ipc.partitions(),
            one.count(ctx)?,
        ))
    });
    assert_eq!(got[0], (3, 2, 3, 33));
    for (sub, ext) in [("pq", "parquet"), ("ipc", "arrow"), ("csv", "csv")] {
        let mut names: Vec<String> = std::fs::read_dir(base.path().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            (0..3)
                .map(|p| format!("part-0000{p}.{ext}"))
                .collect::<Vec<_>>()
        );
    }
    let csv = std::fs::read_to_string(base.path().join("csv/part-00000.csv")).unwrap();
    assert!(
        csv.starts_with("id,name,score,flag\n0,n0,0.0,true\n"),
        "{csv}"
    );
    // Nothing but the three outputs: no temporary directories left.
    assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 3);
}

#[test]
fn csv_schema_is_inferred_from_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(
        &path,
        "\u{feff}id,price,ok,name,blank\r\n\r\n1,2.5,true,a,\r\n2,3,FALSE,\"b,\"\"c\"\"\",\r\n,1e3,True, d ,\r\n",
    )
    .unwrap();
    let (got, _) = run(Config::threads(2), move |ctx| {
        let (schema, rows) = Rdd::read_csv(ctx, &path, &CsvOptions::default(), 3)?;
        let (_, no_header) =
            Rdd::read_csv(ctx, &path, &CsvOptions::default().with_header(false), 1)?;
        let first = no_header.first(ctx)?;
        let names: Vec<String> =
            Rdd::read_csv(ctx, &path, &CsvOptions::default().with_header(false), 1)?
                .0
                .names()
                .map(str::to_owned)
                .collect();
        Ok((schema, rows.collect(ctx)?, first, names))
    });
    let (schema, rows, first, names) = got.into_iter().next().unwrap();
    let types: Vec<(String, DataType, bool)> = schema
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.data_type, f.nullable))
        .collect();
    assert_eq!(
        types,
        vec![
            ("id".into(), DataType::Int64, true),
            ("price".into(), DataType::Float64, true),
            ("ok".into(), DataType::Bool, true),
            ("name".into(), DataType::Utf8, true),
            ("blank".into(), DataType::Utf8, true),
        ]
    );
    assert_eq!(schema.index_of("ok"), Some(2));
    assert_eq!(
        rows,
        vec![
            vec![1.into(), 2.5.into(), true.into(), "a".into(), Value::Null],
            vec![
                2.into(),
                3.0.into(),
                false.into(),
                "b,\"c\"".into(),
                Value::Null
            ],
            vec![
                Value::Null,
                1000.0.into(),
                true.into(),
                " d ".into(),
                Value::Null
            ],
        ]
    );
    // Without a header the header line is data (so every column is text) and columns are
    // numbered.
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);
    assert_eq!(
        first,
        Some(vec![
            "id".into(),
            "price".into(),
            "ok".into(),
            "name".into(),
            "blank".into()
        ])
    );
}

#[test]
fn csv_byte_ranges_read_like_one_partition() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut text = String::from("k,v,s\n");
    for i in 0..5000 {
        text.push_str(&format!("{i},{},\"x{}\"\r\n", i * 3, "y".repeat(i % 29)));
        if i % 500 == 0 {
            text.push_str("\n\r\n");
        }
    }
    std::fs::write(&path, text).unwrap();
    let (got, _) = run(Config::threads(2), move |ctx| {
        let (_, one) = Rdd::read_csv(ctx, &path, &CsvOptions::default(), 1)?;
        let (_, many) = Rdd::read_csv(ctx, &path, &CsvOptions::default(), 13)?;
        Ok((one.collect(ctx)?, many.collect(ctx)?, many.partitions()))
    });
    let (one, many, n) = got.into_iter().next().unwrap();
    assert_eq!(one.len(), 5000);
    assert_eq!(one[4999][1], Value::Int(4999 * 3));
    assert_eq!(one, many);
    assert_eq!(n, 13);
}

#[test]
fn bad_csv_cells_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let mut text = String::from("a,b\n");
    for i in 2..=3000 {
        // CRLF line ends: line numbers still count lines.
        if i == 2500 {
            text.push_str("7,oops\r\n");
        } else {
            text.push_str(&format!("{i},{}\r\n", i * 2));
        }
    }
    std::fs::write(&path, text).unwrap();
    let schema = Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
    ]);
    let p = path.clone();
    let err = job_error(2, move |ctx| {
        let opts = CsvOptions::default().with_schema(schema.clone());
        Rdd::read_csv(ctx, &p, &opts, 4)?.1.count(ctx).map(|_| ())
    });
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("line 2500: column `b`: cannot parse \"oops\" as Int64"),
        "{err}"
    );

    std::fs::write(&path, "a,b\n\n1,2\n3,4,5\n").unwrap();
    let p = path.clone();
    let err = job_error(1, move |ctx| {
        Rdd::read_csv(ctx, &p, &CsvOptions::default(), 1)?
            .1
            .count(ctx)
            .map(|_| ())
    });
    assert!(err.contains("line 4: expected 2 fields, found 3"), "{err}");

    std::fs::write(&path, "a,b\n1,2\n,4\n").unwrap();
    let p = path.clone();
    let err = job_error(1, move |ctx| {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, true),
        ]);
        Rdd::read_csv(ctx, &p, &CsvOptions::default().with_schema(schema), 1)?
            .1
            .count(ctx)
            .map(|_| ())
    });
    assert!(
        err.contains("line 3: column `a`: empty value in a non-nullable column"),
        "{err}"
    );
}

#[test]
fn quoted_line_breaks_need_one_partition() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quoted.csv");
    let long = (0..400)
        .map(|i| format!("line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut text = String::from("id,text\n");
    for i in 0..100 {
        text.push_str(&format!("{i},short {i}\n"));
    }
    text.push_str(&format!("100,\"{long}\"\n"));
    for i in 101..200 {
        text.push_str(&format!("{i},short {i}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let p = path.clone();
    let err = job_error(2, move |ctx| {
        Rdd::read_csv(ctx, &p, &CsvOptions::default(), 4)?
            .1
            .count(ctx)
            .map(|_| ())
    });
    // Either the partition holding the long record sees it overrun its range, or the next
    // one, starting inside the quoted field, fails to parse and gives the same advice.
    assert!(
        (err.contains("quoted.csv: line 102: this record crosses into the next partition")
            || err.contains("may start inside a quoted field"))
            && err.contains("read the file with partitions = 1"),
        "{err}"
    );
    let (got, _) = run(Config::threads(2), move |ctx| {
        Rdd::read_csv(ctx, &path, &CsvOptions::default(), 1)?
            .1
            .collect(ctx)
    });
    let rows = &got[0];
    assert_eq!(rows.len(), 200);
    assert_eq!(rows[100], vec![Value::Int(100), Value::Str(long)]);
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Kind {
    Admin,
    User,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Person {
    id: u32,
    name: String,
    score: Option<f64>,
    kind: Kind,
}

fn person_schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("score", DataType::Float64, true),
    ])
}

#[test]
fn typed_records_round_trip() {
    let people: Vec<Person> = (0..50)
        .map(|i| Person {
            id: i,
            name: format!("p\"{i}\", x"),
            score: (i % 3 != 0).then(|| f64::from(i) * 1.5),
            kind: if i % 7 == 0 { Kind::Admin } else { Kind::User },
        })
        .collect();
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().to_owned();
    let want = (people.clone(), people.clone(), people.clone());
    check(want, move |ctx| {
        let r = Rdd::parallelize(ctx, people.clone(), 4);
        let schema = person_schema();
        let rows = r.to_rows(&schema);
        let pq = out(&dir, "pq", ctx);
        rows.save_as_parquet(ctx, &pq, &schema)?;
        let (read_schema, back) = Rdd::read_parquet(ctx, &pq, 0)?;
        let from_parquet = back.rows_as::<Person>(&read_schema).collect(ctx)?;
        let csv = out(&dir, "csv", ctx);
        rows.save_as_csv(ctx, &csv, &schema)?;
        let from_csv = Rdd::<Person>::read_csv_as(ctx, &csv, &CsvOptions::default(), 0)?;
        let ipc = out(&dir, "ipc", ctx);
        rows.save_as_ipc(ctx, &ipc, &schema)?;
        let (s, back) = Rdd::read_ipc(ctx, &ipc)?;
        Ok((
            from_parquet,
            from_csv.collect(ctx)?,
            back.rows_as::<Person>(&s).collect(ctx)?,
        ))
    });
}

#[test]
fn record_conversion_errors_name_the_column() {
    let schema = person_schema();
    let row = vec![Value::Int(-1), "User".into(), "a".into(), Value::Float(1.0)];
    let err = from_row::<Person>(&schema, row).unwrap_err().to_string();
    assert!(
        err.contains("column `id`") && err.contains("-1") && err.contains("u32"),
        "{err}"
    );
    let row = vec![Value::Int(1), "Boss".into(), "a".into(), Value::Null];
    let err = from_row::<Person>(&schema, row).unwrap_err().to_string();
    assert!(
        err.contains("column `kind`") && err.contains("Boss"),
        "{err}"
    );
    let row = vec![Value::Int(1), "User".into(), Value::Null, Value::Null];
    let err = from_row::<Person>(&schema, row).unwrap_err().to_string();
    assert!(
        err.contains("column `name`") && err.contains("null"),
        "{err}"
    );
    // Tuples go by position; missing optional columns are None.
    let t: (i64, String) = from_row(
        &Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, false),
        ]),
        vec![Value::Int(3), "x".into()],
    )
    .unwrap();
    assert_eq!(t, (3, "x".to_owned()));
    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct Partial {
        id: i64,
        extra: Option<String>,
    }
    let p: Partial = from_row(
        &schema,
        vec![Value::Int(5), "User".into(), "a".into(), Value::Null],
    )
    .unwrap();
    assert_eq!(p, Partial { id: 5, extra: None });
    let err = to_row(&schema, &p).unwrap_err().to_string();
    assert!(err.contains("field `extra` is not a column"), "{err}");
    let err = to_row(
        &Schema::new(vec![Field::new("id", DataType::Int64, false)]),
        &(u64::MAX,),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("column `id`") && err.contains("does not fit"),
        "{err}"
    );

    // In a job: the row and the column; for CSV, the file and line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, "id,kind,name,score\n1,User,a,\n-5,User,b,2.5\n").unwrap();
    let p = path.clone();
    let err = job_error(2, move |ctx| {
        Rdd::<Person>::read_csv_as(ctx, &p, &CsvOptions::default(), 0)?
            .count(ctx)
            .map(|_| ())
    });
    assert!(
        err.contains("people.csv: line 3: column `id`: invalid value: integer `-5`"),
        "{err}"
    );
    let err = job_error(2, move |ctx| {
        let (schema, rows) = Rdd::read_csv(ctx, &path, &CsvOptions::default(), 1)?;
        rows.rows_as::<(i64, String, String, u8)>(&schema)
            .count(ctx)
            .map(|_| ())
    });
    assert!(
        err.contains("partition 0, row 0: column `score`: invalid type: null"),
        "{err}"
    );
}

#[test]
fn parquet_columns_convert_to_rows() {
    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, Float32Array, Int16Array, Int8Array, LargeStringArray,
        NullArray, RecordBatch, UInt32Array, UInt64Array, UInt8Array,
    };
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, columns: Vec<(&str, ArrayRef)>, group_rows: usize| -> PathBuf {
        let batch = RecordBatch::try_from_iter_with_nullable(
            columns.into_iter().map(|(n, a)| (n, a, true)),
        )
        .unwrap();
        let path = dir.path().join(name);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    };
    let n = 35usize;
    let good = write(
        "types.parquet",
        vec![
            (
                "i8",
                Arc::new(Int8Array::from_iter((0..n).map(|i| Some(i as i8 - 20)))) as ArrayRef,
            ),
            (
                "i16",
                Arc::new(Int16Array::from_iter(
                    (0..n).map(|i| (i % 2 == 0).then_some(i as i16)),
                )) as ArrayRef,
            ),
            (
                "u8",
                Arc::new(UInt8Array::from_iter_values((0..n).map(|i| i as u8))) as ArrayRef,
            ),
            (
                "u32",
                Arc::new(UInt32Array::from_iter_values(
                    (0..n).map(|i| u32::MAX - i as u32),
                )) as ArrayRef,
            ),
            (
                "u64",
                Arc::new(UInt64Array::from_iter_values(
                    (0..n).map(|i| i as u64 * 1000),
                )) as ArrayRef,
            ),
            (
                "f32",
                Arc::new(Float32Array::from_iter_values(
                    (0..n).map(|i| i as f32 / 4.0),
                )) as ArrayRef,
            ),
            (
                "b",
                Arc::new(BooleanArray::from_iter(
                    (0..n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)),
                )) as ArrayRef,
            ),
            (
                "s",
                Arc::new(LargeStringArray::from_iter_values(
                    (0..n).map(|i| format!("s{i}")),
                )) as ArrayRef,
            ),
            ("nothing", Arc::new(NullArray::new(n)) as ArrayRef),
        ],
        10,
    );
    let too_big = write(
        "u64.parquet",
        vec![(
            "big",
            Arc::new(UInt64Array::from_iter_values([1, 2, u64::MAX])) as ArrayRef,
        )],
        2,
    );
    let dates = write(
        "dates.parquet",
        vec![("day", Arc::new(Date32Array::from(vec![1, 2])) as ArrayRef)],
        10,
    );
    let g = good.clone();
    let (got, _) = run(Config::threads(2), move |ctx| {
        let (schema, rows) = Rdd::read_parquet(ctx, &g, 0)?;
        Ok((schema, rows.partitions(), rows.collect(ctx)?))
    });
    let (schema, partitions, rows) = got.into_iter().next().unwrap();
    assert_eq!(partitions, 4, "row groups of 10 rows are the partitions");
    let types: Vec<DataType> = schema.fields.iter().map(|f| f.data_type).collect();
    use DataType::*;
    assert_eq!(
        types,
        [Int64, Int64, Int64, Int64, Int64, Float64, Bool, Utf8, Utf8]
    );
    assert!(schema.fields[8].nullable);
    assert_eq!(rows.len(), n);
    assert_eq!(
        rows[3],
        vec![
            Value::Int(-17),
            Value::Null,
            Value::Int(3),
            Value::Int(i64::from(u32::MAX) - 3),
            Value::Int(3000),
            Value::Float(0.75),
            Value::Null,
            "s3".into(),
            Value::Null,
        ]
    );
    assert_eq!(rows[4][6], Value::Bool(true));

    let err = job_error(2, move |ctx| {
        Rdd::read_parquet(ctx, &too_big, 0)?
            .1
            .count(ctx)
            .map(|_| ())
    });
    assert!(
        err.contains(
            "u64.parquet: row 3, column `big`: 18446744073709551615 does not fit in Int64"
        ),
        "{err}"
    );
    let err = job_error(1, move |ctx| Rdd::read_parquet(ctx, &dates, 0).map(|_| ()));
    assert!(
        err.contains("dates.parquet") && err.contains("column `day` has unsupported type Date32"),
        "{err}"
    );
}

#[test]
fn failed_writes_leave_no_output() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().to_owned();
    // Partition 1 (worker 1's) holds a row that does not fit the schema; worker 0's
    // partitions are fine.
    let (got, _) = run(Config::threads(2), move |ctx| {
        let mut rows: Vec<Row> = (0..40)
            .map(|i| vec![Value::Int(i), Value::Null, Value::Null, Value::Null])
            .collect();
        rows[12][0] = "x".into();
        let r = Rdd::parallelize(ctx, rows, 4);
        let s = people_schema();
        let errors = [
            r.save_as_csv(ctx, dir.join("csv"), &s),
            r.save_as_parquet(ctx, dir.join("pq"), &s),
            r.save_as_ipc(ctx, dir.join("ipc"), &s),
            r.rows_as::<(i64, Option<String>, Option<f64>, Option<bool>)>(&s)
                .map(|t| t.0)
                .save_as_text_file(ctx, dir.join("text")),
        ];
        // The job goes on after the failures: every worker saw them.
        let n = r.count(ctx)?;
        Ok((errors.map(|e| e.map_err(|e| e.to_string())), n))
    });
    for (worker, (errors, n)) in got.into_iter().enumerate() {
        assert_eq!(n, 40);
        for e in &errors[..3] {
            let e = e.as_ref().unwrap_err();
            if worker == 1 {
                assert!(
                    e.contains("partition 1, row 2: column `id`: expected Int64, found Str(\"x\")"),
                    "{e}"
                );
            } else {
                assert!(e.contains("failed on another worker"), "{e}");
            }
        }
        let e = errors[3].as_ref().unwrap_err();
        if worker == 1 {
            assert!(
                e.contains("partition 1, row 2: column `id`: invalid type: string \"x\""),
                "{e}"
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(base.path()).unwrap().count(),
        0,
        "no output and no temporary directory"
    );
}

#[test]
fn record_batches_spill_and_read_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::threads(2)
        .with_memory_budget(128 * 1024)
        .with_spill_dir(dir.path());
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("score", DataType::Float64, true),
        Field::new("tag", DataType::Utf8, true),
        Field::new("flag", DataType::Bool, false),
    ]);
    let rows: Vec<Row> = (0..60_000i64)
        .map(|i| {
            vec![
                Value::Int(i),
                if i % 7 == 0 {
                    Value::Null
                } else {
                    Value::Float(i as f64 / 3.0)
                },
                if i % 5 == 0 {
                    Value::Null
                } else {
                    Value::from(format!("t{}", i % 11))
                },
                Value::Bool(i % 2 == 0),
            ]
        })
        .collect();
    let (input, s) = (rows.clone(), schema.clone());
    let (got, metrics) = run(config, move |ctx| {
        let batches = Rdd::parallelize(ctx, input.clone(), 8)
            .to_batches(&s)
            .persist(morpheus_engine::StorageLevel::DiskOnly);
        let first = batches.rows().collect(ctx)?;
        let second = batches.rows().collect(ctx)?;
        Ok((first, second))
    });
    for (first, second) in got {
        assert_eq!(first, rows);
        assert_eq!(second, rows);
    }
    assert!(metrics.spilled_bytes > 0, "nothing spilled");
}
