//! Columnar partitions: [`Batch`], an Arrow record batch as a collection item.
//!
//! An `Rdd<Batch>` holds tables the way Arrow does, a column at a time, so that scans,
//! joins and writes move whole columns (and reuse them) instead of building a
//! [`Row`] per record. Columns always have the types of a
//! [`Schema`] (`Boolean`, `Int64`, `Float64`, `Utf8`): the readers
//! normalise what they read. Batches cross workers and spill as Arrow IPC stream bytes.

use std::fmt;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Int16Type, Int32Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType as ArrowType, SchemaRef};
use morpheus_engine::{Error, Result};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::dataset::{DataType, Row, Schema, Value};
use crate::rdd::Rdd;
use crate::tabular::{batch_to_rows, rows_to_batch};

/// An Arrow record batch whose columns have the types of a [`Schema`].
#[derive(Clone, Debug, PartialEq)]
pub struct Batch(pub RecordBatch);

impl Batch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.0.num_rows()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.0.num_rows() == 0
    }

    /// A batch of `rows`, checked against `schema`.
    ///
    /// # Errors
    /// A row that does not fit `schema`, naming its index and the column.
    pub fn from_rows(schema: &Schema, rows: &[Row]) -> Result<Batch> {
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        rows_to_batch(schema, &arrow, rows, 0)
            .map(Batch)
            .map_err(Error::Job)
    }

    /// The values of column `j`, one per row.
    ///
    /// # Errors
    /// `j` out of range; a column of a type a [`Schema`] does not have.
    pub fn column_values(&self, j: usize) -> Result<Vec<Value>> {
        let one = self
            .0
            .project(&[j])
            .map_err(|e| Error::Job(format!("column {j}: {e}")))?;
        Ok(Batch(one)
            .rows(0, self.len())?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Rows `offset..offset + len` as [`Row`]s.
    ///
    /// # Errors
    /// A column of a type a [`Schema`] does not have (batches from
    /// [`normalize`] have none).
    pub fn rows(&self, offset: usize, len: usize) -> Result<Vec<Row>> {
        batch_to_rows(&self.0.slice(offset, len), &|i| {
            format!("row {}", offset + i)
        })
    }
}

impl Serialize for Batch {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut bytes, &self.0.schema())
            .map_err(serde::ser::Error::custom)?;
        w.write(&self.0).map_err(serde::ser::Error::custom)?;
        w.finish().map_err(serde::ser::Error::custom)?;
        drop(w);
        s.serialize_bytes(&bytes)
    }
}

struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = Batch;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Arrow IPC stream holding one record batch")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Batch, E> {
        let mut r = arrow_ipc::reader::StreamReader::try_new(v, None).map_err(E::custom)?;
        match r.next() {
            Some(b) => b.map(Batch).map_err(E::custom),
            None => Err(E::custom("the stream holds no record batch")),
        }
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> std::result::Result<Batch, E> {
        self.visit_bytes(&v)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Batch, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(b) = seq.next_element::<u8>()? {
            v.push(b);
        }
        self.visit_bytes(&v)
    }
}

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Batch, D::Error> {
        d.deserialize_byte_buf(BatchVisitor)
    }
}

fn widen<T: ArrowPrimitiveType>(col: &ArrayRef) -> ArrayRef
where
    T::Native: Into<i64>,
{
    let a = col.as_primitive::<T>();
    Arc::new(a.iter().map(|v| v.map(Into::into)).collect::<Int64Array>())
}

/// `batch` with its columns converted to the types of `schema` (its Arrow form `arrow`):
/// narrower integers and `UInt64` to `Int64`, `Float32` to `Float64`, large and view
/// strings and the null type to `Utf8`. `at(i)` names row `i` in errors.
///
/// # Errors
/// A `UInt64` value above `i64::MAX`; a column whose type does not convert to the
/// schema's (naming the column).
pub fn normalize(
    batch: &RecordBatch,
    schema: &Schema,
    arrow: &SchemaRef,
    at: &dyn Fn(usize) -> String,
) -> Result<Batch> {
    if batch.num_columns() != schema.len() {
        return Err(Error::Job(format!(
            "{}: {} columns, the schema has {}",
            at(0),
            batch.num_columns(),
            schema.len()
        )));
    }
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (col, field) in batch.columns().iter().zip(&schema.fields) {
        let name = &field.name;
        let c: ArrayRef = match (col.data_type(), field.data_type) {
            (ArrowType::Int64, DataType::Int64)
            | (ArrowType::Float64, DataType::Float64)
            | (ArrowType::Boolean, DataType::Bool)
            | (ArrowType::Utf8, DataType::Utf8) => Arc::clone(col),
            (ArrowType::Int8, DataType::Int64) => widen::<Int8Type>(col),
            (ArrowType::Int16, DataType::Int64) => widen::<Int16Type>(col),
            (ArrowType::Int32, DataType::Int64) => widen::<Int32Type>(col),
            (ArrowType::UInt8, DataType::Int64) => widen::<UInt8Type>(col),
            (ArrowType::UInt16, DataType::Int64) => widen::<UInt16Type>(col),
            (ArrowType::UInt32, DataType::Int64) => widen::<UInt32Type>(col),
            (ArrowType::UInt64, DataType::Int64) => {
                let a = col.as_primitive::<UInt64Type>();
                let mut out = Vec::with_capacity(a.len());
                for (i, v) in a.iter().enumerate() {
                    out.push(match v {
                        Some(v) => Some(i64::try_from(v).map_err(|_| {
                            Error::Job(format!(
                                "{}, column `{name}`: {v} does not fit in Int64",
                                at(i)
                            ))
                        })?),
                        None => None,
                    });
                }
                Arc::new(Int64Array::from(out))
            }
            (ArrowType::Float32, DataType::Float64) => {
                let a = col.as_primitive::<Float32Type>();
                Arc::new(a.iter().map(|v| v.map(f64::from)).collect::<Float64Array>())
            }
            (ArrowType::LargeUtf8, DataType::Utf8) => {
                Arc::new(col.as_string::<i64>().iter().collect::<StringArray>())
            }
            (ArrowType::Utf8View, DataType::Utf8) => {
                Arc::new(col.as_string_view().iter().collect::<StringArray>())
            }
            (ArrowType::Null, DataType::Utf8) => Arc::new(StringArray::new_null(col.len())),
            (other, want) => {
                return Err(Error::Job(format!(
                    "{}: column `{name}` has type {other}, expected {want}",
                    at(0)
                )))
            }
        };
        columns.push(c);
    }
    RecordBatch::try_new(Arc::clone(arrow), columns)
        .map(Batch)
        .map_err(|e| Error::Job(format!("{}: {e}", at(0))))
}

impl Rdd<Batch> {
    /// The rows of these batches, in order.
    pub fn rows(&self) -> Rdd<Row> {
        self.try_map_partitions_with_index(|_, batches: Vec<Batch>| {
            let mut rows = Vec::with_capacity(batches.iter().map(Batch::len).sum());
            for b in &batches {
                rows.extend(b.rows(0, b.len())?);
            }
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Field;
    use arrow_array::{BooleanArray, UInt64Array};

    fn sample() -> (Schema, RecordBatch) {
        let arrow = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("a", ArrowType::Int32, true),
            arrow_schema::Field::new("b", ArrowType::Float32, false),
            arrow_schema::Field::new("c", ArrowType::LargeUtf8, true),
            arrow_schema::Field::new("d", ArrowType::Boolean, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&arrow),
            vec![
                Arc::new(arrow_array::Int32Array::from(vec![Some(1), None, Some(-3)])),
                Arc::new(arrow_array::Float32Array::from(vec![0.5, 1.5, 2.0])),
                Arc::new(arrow_array::LargeStringArray::from(vec![
                    Some("x"),
                    Some(""),
                    None,
                ])),
                Arc::new(BooleanArray::from(vec![true, false, true])),
            ],
        )
        .expect("batch");
        (Schema::from_arrow(&arrow).expect("schema"), batch)
    }

    #[test]
    fn normalising_converts_types_and_keeps_values() {
        let (schema, batch) = sample();
        let arrow = Arc::new(schema.to_arrow());
        let b = normalize(&batch, &schema, &arrow, &|i| format!("row {i}")).expect("normalise");
        assert_eq!(b.0.schema(), arrow);
        assert_eq!(
            b.rows(0, 3).expect("rows"),
            vec![
                vec![
                    Value::Int(1),
                    Value::Float(0.5),
                    Value::from("x"),
                    Value::Bool(true)
                ],
                vec![
                    Value::Null,
                    Value::Float(1.5),
                    Value::from(""),
                    Value::Bool(false)
                ],
                vec![
                    Value::Int(-3),
                    Value::Float(2.0),
                    Value::Null,
                    Value::Bool(true)
                ],
            ]
        );
    }

    #[test]
    fn an_unsigned_value_too_large_is_an_error_naming_the_row() {
        let arrow = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "id",
            ArrowType::UInt64,
            false,
        )]));
        let batch = RecordBatch::try_new(
            Arc::clone(&arrow),
            vec![Arc::new(UInt64Array::from(vec![1, u64::MAX]))],
        )
        .expect("batch");
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        let e = normalize(&batch, &schema, &Arc::new(schema.to_arrow()), &|i| {
            format!("f.parquet: row {}", i + 1)
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("f.parquet: row 2, column `id`"), "{e}");
    }

    #[test]
    fn batches_round_trip_through_bincode() {
        let (schema, batch) = sample();
        let b = normalize(&batch, &schema, &Arc::new(schema.to_arrow()), &|_| {
            String::new()
        })
        .expect("normalise");
        let bytes = bincode::serialize(&vec![b.clone(), b.clone()]).expect("encode");
        let back: Vec<Batch> = bincode::deserialize(&bytes).expect("decode");
        assert_eq!(back, vec![b.clone(), b]);
        assert!(bincode::deserialize::<Batch>(&bytes[..bytes.len() / 2]).is_err());
    }
}
