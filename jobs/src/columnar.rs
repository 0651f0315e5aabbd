//! The columnar broadcast join: the right side, gathered on every worker, becomes one
//! record batch and a key index; each left batch is probed a column at a time into two
//! index vectors, and the output columns are the left's (reused whole when every left row
//! yields exactly one output row, as in a left join on a unique right key) and `take`s of
//! the right's.
//!
//! Semantics are those of the row join in `runner::join`: null keys match nothing, a left
//! row yields one output row per matching right row (in the right side's order), or one
//! with nulls for the right's columns in a left join.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{new_null_array, Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use morpheus_engine::{Error, Result};
use morpheus_graph::incremental::IntMap;
use morpheus_rdd::{Batch, Schema, Value};

use crate::spec::JoinKind;

/// End of a chain of right rows.
const NONE: u32 = u32::MAX;

/// First right row by key.
enum KeyIndex {
    /// Int64 keys in `min..min + heads.len()` (a direct table: at most 4 slots per row).
    Dense { min: i64, heads: Vec<u32> },
    /// Other Int64 keys.
    Ints(IntMap<i64, u32>),
    /// Keys of other types, as values (the row join's equality).
    Values(HashMap<Value, u32>),
}

/// The right side of a broadcast join, indexed by its key column.
pub(crate) struct RightSide {
    batch: RecordBatch,
    key: usize,
    index: KeyIndex,
    /// The next right row with the same key ([`NONE`] at the end), in row order.
    next: Vec<u32>,
}

impl RightSide {
    /// Indexes `batches` (of `schema`) on column `key`.
    ///
    /// # Errors
    /// More rows than a `u32` index holds; batches that do not concatenate.
    pub(crate) fn build(batches: &[Batch], schema: &Schema, key: usize) -> Result<RightSide> {
        let arrow: SchemaRef = Arc::new(schema.to_arrow());
        let batch = arrow_select::concat::concat_batches(&arrow, batches.iter().map(|b| &b.0))
            .map_err(|e| Error::Job(format!("join: {e}")))?;
        let n = batch.num_rows();
        if n >= NONE as usize {
            return Err(Error::Job(format!(
                "join: the right side has {n} rows, more than a broadcast join holds"
            )));
        }
        let col = batch.column(key);
        let mut next = vec![NONE; n];
        // Rows are linked last to first, so each chain runs in row order.
        let index = if let Some(keys) = col.as_primitive_opt::<Int64Type>() {
            let live = || (0..n).rev().filter(|&i| keys.is_valid(i));
            let (lo, hi) = live().fold((i64::MAX, i64::MIN), |(lo, hi), i| {
                (lo.min(keys.value(i)), hi.max(keys.value(i)))
            });
            let span = (hi as i128 - lo as i128 + 1).max(0) as u128;
            if lo <= hi && span <= 4 * n as u128 + 1024 {
                let mut heads = vec![NONE; span as usize];
                for i in live() {
                    let slot = &mut heads[(keys.value(i) as i128 - lo as i128) as usize];
                    next[i] = *slot;
                    *slot = i as u32;
                }
                KeyIndex::Dense { min: lo, heads }
            } else {
                let mut map = IntMap::default();
                map.reserve(n);
                for i in live() {
                    let slot = map.entry(keys.value(i)).or_insert(NONE);
                    next[i] = *slot;
                    *slot = i as u32;
                }
                KeyIndex::Ints(map)
            }
        } else {
            let keys = Batch(batch.clone()).column_values(key)?;
            let mut map = HashMap::with_capacity(n);
            for (i, k) in keys.into_iter().enumerate().rev() {
                if k.is_null() {
                    continue;
                }
                let slot = map.entry(k).or_insert(NONE);
                next[i] = *slot;
                *slot = i as u32;
            }
            KeyIndex::Values(map)
        };
        Ok(RightSide {
            batch,
            key,
            index,
            next,
        })
    }

    /// Number of right rows.
    pub(crate) fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// For each row of `left`, its first matching right row (or [`NONE`]).
    fn heads(&self, left: &RecordBatch, key: usize) -> Result<Vec<u32>> {
        let keys = left.column(key);
        let n = keys.len();
        Ok(match (&self.index, keys.as_primitive_opt::<Int64Type>()) {
            (KeyIndex::Dense { min, heads }, Some(k)) => (0..n)
                .map(|i| {
                    if k.is_null(i) {
                        return NONE;
                    }
                    let slot = k.value(i).wrapping_sub(*min) as u64;
                    heads.get(slot as usize).copied().unwrap_or(NONE)
                })
                .collect(),
            (KeyIndex::Ints(map), Some(k)) => (0..n)
                .map(|i| {
                    if k.is_null(i) {
                        NONE
                    } else {
                        map.get(&k.value(i)).copied().unwrap_or(NONE)
                    }
                })
                .collect(),
            (KeyIndex::Values(map), _) => Batch(left.clone())
                .column_values(key)?
                .iter()
                .map(|v| match v {
                    Value::Null => NONE,
                    v => map.get(v).copied().unwrap_or(NONE),
                })
                .collect(),
            // Key types agree (validation checks it), so this is an empty right side.
            _ => vec![NONE; n],
        })
    }

    /// Joins one left batch (key in column `left_key`) with this side; `out` is the
    /// output's Arrow schema (key, left's other columns, right's other columns).
    ///
    /// # Errors
    /// A column that does not fit `out` (not expected: the schemas come from validation).
    pub(crate) fn probe(
        &self,
        left: &RecordBatch,
        left_key: usize,
        how: JoinKind,
        out: &SchemaRef,
    ) -> Result<RecordBatch> {
        let heads = self.heads(left, left_key)?;
        let n = heads.len();
        // One output row per left row, in order: the left's columns are reused whole.
        let one_to_one = heads.iter().all(|&h| {
            (h == NONE && how == JoinKind::Left) || (h != NONE && self.next[h as usize] == NONE)
        });
        let (left_rows, right_rows): (Option<UInt32Array>, UInt32Array) = if one_to_one {
            // The index vector becomes the take indices without a copy; misses (left join)
            // are nulls over index 0.
            let valid = heads
                .contains(&NONE)
                .then(|| arrow_buffer::NullBuffer::from_iter(heads.iter().map(|&h| h != NONE)));
            let mut heads = heads;
            if valid.is_some() {
                heads
                    .iter_mut()
                    .filter(|h| **h == NONE)
                    .for_each(|h| *h = 0);
            }
            (None, UInt32Array::new(heads.into(), valid))
        } else {
            let mut l = Vec::with_capacity(n);
            let mut r: Vec<Option<u32>> = Vec::with_capacity(n);
            for (i, &h) in heads.iter().enumerate() {
                if h == NONE {
                    if how == JoinKind::Left {
                        l.push(i as u32);
                        r.push(None);
                    }
                    continue;
                }
                let mut at = h;
                while at != NONE {
                    l.push(i as u32);
                    r.push(Some(at));
                    at = self.next[at as usize];
                }
            }
            (Some(UInt32Array::from(l)), UInt32Array::from(r))
        };
        let take = |col: &ArrayRef, idx: &UInt32Array| -> Result<ArrayRef> {
            arrow_select::take::take(col.as_ref(), idx, None)
                .map_err(|e| Error::Job(format!("join: {e}")))
        };
        let left_col = |j: usize| -> Result<ArrayRef> {
            match &left_rows {
                None => Ok(Arc::clone(left.column(j))),
                Some(idx) => take(left.column(j), idx),
            }
        };
        let mut columns = Vec::with_capacity(out.fields().len());
        columns.push(left_col(left_key)?);
        for j in (0..left.num_columns()).filter(|&j| j != left_key) {
            columns.push(left_col(j)?);
        }
        for j in (0..self.batch.num_columns()).filter(|&j| j != self.key) {
            columns.push(if self.len() == 0 {
                new_null_array(self.batch.column(j).data_type(), right_rows.len())
            } else {
                take(self.batch.column(j), &right_rows)?
            });
        }
        RecordBatch::try_new(Arc::clone(out), columns).map_err(|e| Error::Job(format!("join: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use morpheus_rdd::{DataType, Field, Row};

    fn rows_of(batch: &RecordBatch) -> Vec<Row> {
        Batch(batch.clone())
            .rows(0, batch.num_rows())
            .expect("normalised batch")
    }

    fn batch(schema: &Schema, rows: &[Row]) -> Batch {
        Batch::from_rows(schema, rows).expect("rows fit the schema")
    }

    /// The row join's answer: for each left row, its matches in right order.
    fn expected(left: &[Row], lk: usize, right: &[Row], rk: usize, how: JoinKind) -> Vec<Row> {
        let rlen = right.first().map_or(2, Vec::len);
        let mut out = Vec::new();
        for l in left {
            let mut head = vec![l[lk].clone()];
            head.extend(
                l.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != lk)
                    .map(|(_, v)| v.clone()),
            );
            let matches: Vec<&Row> = right
                .iter()
                .filter(|r| !l[lk].is_null() && r[rk] == l[lk])
                .collect();
            for r in &matches {
                let mut row = head.clone();
                row.extend(
                    r.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != rk)
                        .map(|(_, v)| v.clone()),
                );
                out.push(row);
            }
            if matches.is_empty() && how == JoinKind::Left {
                let mut row = head.clone();
                row.extend(std::iter::repeat_n(Value::Null, rlen - 1));
                out.push(row);
            }
        }
        out
    }

    fn check(left: Vec<Row>, right: Vec<Row>, key: DataType) {
        let ls = Schema::new(vec![
            Field::new("amount", DataType::Float64, true),
            Field::new("id", key, true),
        ]);
        let rs = Schema::new(vec![
            Field::new("id", key, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        for how in [JoinKind::Inner, JoinKind::Left] {
            let out = crate::spec::join_schema(&ls, 1, &rs, 0, "r", how);
            let arrow = Arc::new(out.to_arrow());
            // The right side in two batches, as gathered from two workers.
            let (r1, r2) = right.split_at(right.len() / 2);
            let side = RightSide::build(&[batch(&rs, r1), batch(&rs, r2)], &rs, 0).expect("build");
            let got = side
                .probe(&batch(&ls, &left).0, 1, how, &arrow)
                .expect("probe");
            assert_eq!(rows_of(&got), expected(&left, 1, &right, 0, how), "{how:?}");
        }
    }

    fn int(v: Option<i64>) -> Value {
        v.map_or(Value::Null, Value::Int)
    }

    #[test]
    fn unique_keys_reuse_the_left_columns() {
        let right: Vec<Row> = (0..50)
            .map(|k| vec![Value::Int(k), Value::from(format!("n{k}"))])
            .collect();
        let left: Vec<Row> = [3, 60, 0, 49, -1]
            .iter()
            .map(|&k| vec![Value::Float(k as f64), Value::Int(k)])
            .chain([vec![Value::Float(0.5), Value::Null]])
            .collect();
        check(left, right, DataType::Int64);
    }

    #[test]
    fn duplicate_and_sparse_keys_match_every_right_row_in_order() {
        // Sparse keys take the hash index; duplicates chain.
        let keys = [Some(7), Some(1 << 40), None, Some(7), Some(-5), Some(7)];
        let right: Vec<Row> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| vec![int(k), Value::from(format!("r{i}"))])
            .collect();
        let left: Vec<Row> = [Some(7), None, Some(1 << 40), Some(8), Some(-5)]
            .iter()
            .map(|&k| vec![Value::Float(1.0), int(k)])
            .collect();
        check(left, right, DataType::Int64);
    }

    #[test]
    fn string_keys_join_by_value() {
        let s = |v: &str| Value::from(v);
        let right = vec![
            vec![s("nz"), s("New Zealand")],
            vec![s("fr"), s("France")],
            vec![Value::Null, s("nobody")],
            vec![s("nz"), s("Aotearoa")],
        ];
        let left = vec![
            vec![Value::Float(1.0), s("fr")],
            vec![Value::Float(2.0), s("nz")],
            vec![Value::Float(3.0), Value::Null],
            vec![Value::Float(4.0), s("de")],
        ];
        check(left, right, DataType::Utf8);
    }

    #[test]
    fn an_empty_right_side_matches_nothing() {
        let left = vec![vec![Value::Float(1.0), Value::Int(1)]];
        check(left, Vec::new(), DataType::Int64);
    }
}
