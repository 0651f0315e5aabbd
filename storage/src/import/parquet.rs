//! Parquet edge files: integer columns `src` and `dst`, and an optional numeric `weight`.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::Sink;
use crate::error::{Error, IoContext, Result};

fn ids(col: &ArrayRef, name: &str, first_row: u64) -> std::result::Result<Vec<u64>, String> {
    let null = |i: usize| format!("row {}: column `{name}` is null", first_row + i as u64 + 1);
    let neg = |i: usize, v: i64| {
        format!(
            "row {}: column `{name}` holds negative id {v}",
            first_row + i as u64 + 1
        )
    };
    if let Some(i) = (0..col.len()).find(|&i| col.is_null(i)) {
        return Err(null(i));
    }
    Ok(match col.data_type() {
        DataType::UInt64 => col.as_primitive::<UInt64Type>().values().to_vec(),
        DataType::UInt32 => col
            .as_primitive::<UInt32Type>()
            .values()
            .iter()
            .map(|&v| u64::from(v))
            .collect(),
        DataType::Int64 => {
            let v = col.as_primitive::<Int64Type>().values();
            if let Some(i) = v.iter().position(|&x| x < 0) {
                return Err(neg(i, v[i]));
            }
            v.iter().map(|&x| x as u64).collect()
        }
        DataType::Int32 => {
            let v = col.as_primitive::<Int32Type>().values();
            if let Some(i) = v.iter().position(|&x| x < 0) {
                return Err(neg(i, i64::from(v[i])));
            }
            v.iter().map(|&x| x as u64).collect()
        }
        other => {
            return Err(format!(
                "column `{name}` has type {other}, expected an integer type"
            ))
        }
    })
}

fn weights(col: &ArrayRef, first_row: u64) -> std::result::Result<Vec<f64>, String> {
    let v: Vec<f64> = match col.data_type() {
        DataType::Float64 => col.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => col
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|&x| f64::from(x))
            .collect(),
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|&x| x as f64)
            .collect(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&x| f64::from(x))
            .collect(),
        other => {
            return Err(format!(
                "column `weight` has type {other}, expected a number"
            ))
        }
    };
    for (i, w) in v.iter().enumerate() {
        if col.is_null(i) {
            return Err(format!(
                "row {}: column `weight` is null",
                first_row + i as u64 + 1
            ));
        }
        if !w.is_finite() {
            return Err(format!(
                "row {}: weight {w} is not finite",
                first_row + i as u64 + 1
            ));
        }
    }
    Ok(v)
}

pub(crate) fn read(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
    let file = File::open(path).at(path)?;
    let len = file.metadata().at(path)?.len();
    let bad = |m: String| Error::input(path, None, m);
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(format!("not a Parquet file: {e}")))?;
    let schema = std::sync::Arc::clone(builder.schema());
    let col = |name: &str| {
        schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    };
    let src = col("src").ok_or_else(|| bad("missing column `src`".into()))?;
    let dst = col("dst").ok_or_else(|| bad("missing column `dst`".into()))?;
    let weight = col("weight");
    if weight.is_some() && !sink.delete {
        sink.weighted = true;
    }
    let reader = builder
        .with_batch_size(1 << 16)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut row = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("after row {row}: {e}")))?;
        let s = ids(batch.column(src), "src", row).map_err(bad)?;
        let d = ids(batch.column(dst), "dst", row).map_err(bad)?;
        let w = match weight {
            Some(i) => weights(batch.column(i), row).map_err(bad)?,
            None => Vec::new(),
        };
        for i in 0..s.len() {
            sink.edge(s[i], d[i], w.get(i).copied().unwrap_or(1.0))?;
        }
        row += batch.num_rows() as u64;
    }
    sink.progress.advance(len);
    Ok(())
}
