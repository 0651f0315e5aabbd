//! JSON-lines datasets: one JSON object per line, read as rows.
//!
//! The schema is the union of the keys of the first [`SAMPLE_LINES`] objects (in order of
//! first appearance; a line's new keys in name order); a column is `Int64` if every
//! non-null value is an integer, `Float64` if every one is a number, `Bool` or `Utf8`
//! likewise; mixed columns (and nested values) are read as `Utf8` holding the JSON text.
//! Every column is nullable: a missing key reads as null.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::rc::Rc;

use morpheus_engine::{Error, Result};
use morpheus_rdd::{input_files, DataType, Field, Rdd, Row, Schema, Value};
use serde_json::Value as Json;

/// Lines looked at to infer the schema.
pub const SAMPLE_LINES: usize = 1000;

fn json_err(path: &Path, line: usize, e: impl std::fmt::Display) -> Error {
    Error::Job(format!("{}: line {line}: {e}", path.display()))
}

/// Infers the schema of a JSON-lines file or directory.
///
/// # Errors
/// I/O errors; a sampled line that is not a JSON object (naming file and line).
pub fn schema(path: &Path) -> Result<Schema> {
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<Option<DataType>> = Vec::new();
    let mut mixed: Vec<bool> = Vec::new();
    let mut seen = 0;
    for p in input_files(path)? {
        let f = File::open(&p).map_err(|e| Error::Io {
            path: p.clone(),
            source: e,
        })?;
        for (i, line) in BufReader::new(f).lines().enumerate() {
            if seen >= SAMPLE_LINES {
                break;
            }
            let line = line.map_err(|e| Error::Io {
                path: p.clone(),
                source: e,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            seen += 1;
            let obj: serde_json::Map<String, Json> =
                serde_json::from_str(&line).map_err(|e| json_err(&p, i + 1, e))?;
            for (k, v) in obj {
                let j = match names.iter().position(|n| *n == k) {
                    Some(j) => j,
                    None => {
                        names.push(k);
                        types.push(None);
                        mixed.push(false);
                        names.len() - 1
                    }
                };
                let t = match v {
                    Json::Null => continue,
                    Json::Bool(_) => DataType::Bool,
                    Json::Number(n) if n.is_i64() => DataType::Int64,
                    Json::Number(_) => DataType::Float64,
                    Json::String(_) => DataType::Utf8,
                    _ => {
                        mixed[j] = true;
                        continue;
                    }
                };
                types[j] = match (types[j], t) {
                    (None, t) => Some(t),
                    (Some(a), b) if a == b => Some(a),
                    (Some(DataType::Int64), DataType::Float64)
                    | (Some(DataType::Float64), DataType::Int64) => Some(DataType::Float64),
                    (Some(a), _) => {
                        mixed[j] = true;
                        Some(a)
                    }
                };
            }
        }
    }
    let fields = names
        .into_iter()
        .zip(types)
        .zip(mixed)
        .map(|((n, t), m)| {
            let t = if m {
                DataType::Utf8
            } else {
                t.unwrap_or(DataType::Utf8)
            };
            Field::new(n, t, true)
        })
        .collect();
    Ok(Schema::new(fields))
}

fn convert(v: Json, t: DataType) -> std::result::Result<Value, String> {
    Ok(match (v, t) {
        (Json::Null, _) => Value::Null,
        (Json::Bool(b), DataType::Bool) => Value::Bool(b),
        (Json::Number(n), DataType::Int64) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => return Err(format!("{n} is not a 64-bit integer")),
        },
        (Json::Number(n), DataType::Float64) => match n.as_f64() {
            Some(f) => Value::Float(f),
            None => return Err(format!("{n} is not a number")),
        },
        (Json::String(s), DataType::Utf8) => Value::Str(s),
        (other, DataType::Utf8) => Value::Str(other.to_string()),
        (other, t) => return Err(format!("{other} is not {t}")),
    })
}

/// Reads a JSON-lines file or directory as rows of `schema` (one partition per file).
///
/// # Errors
/// (When computed.) A line that is not an object, or a value that does not fit its column
/// (naming file, line and column).
pub fn read(path: &Path, schema: &Schema) -> Result<Rdd<Row>> {
    let files = Rc::new(input_files(path)?);
    let schema = schema.clone();
    Ok(Rdd::from_fn(files.len().max(1), move |part| {
        let Some(p) = files.get(part) else {
            return Ok(Vec::new());
        };
        let f = File::open(p).map_err(|e| Error::Io {
            path: p.clone(),
            source: e,
        })?;
        let mut rows = Vec::new();
        for (i, line) in BufReader::with_capacity(1 << 20, f).lines().enumerate() {
            let line = line.map_err(|e| Error::Io {
                path: p.clone(),
                source: e,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let mut obj: serde_json::Map<String, Json> =
                serde_json::from_str(&line).map_err(|e| json_err(p, i + 1, e))?;
            let mut row = Vec::with_capacity(schema.len());
            for f in &schema.fields {
                let v = obj.remove(&f.name).unwrap_or(Json::Null);
                row.push(
                    convert(v, f.data_type)
                        .map_err(|e| json_err(p, i + 1, format!("column `{}`: {e}", f.name)))?,
                );
            }
            rows.push(row);
        }
        Ok(rows)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_inferred_and_rows_convert() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.jsonl");
        std::fs::write(
            &p,
            "{\"id\": 1, \"x\": 2, \"s\": \"a\"}\n\n{\"id\": 2, \"x\": 2.5, \"t\": true}\n",
        )
        .expect("write");
        let s = schema(&p).expect("schema");
        let names: Vec<&str> = s.names().collect();
        assert_eq!(names, ["id", "s", "x", "t"]);
        assert_eq!(s.fields[0].data_type, DataType::Int64);
        assert_eq!(s.fields[1].data_type, DataType::Utf8);
        assert_eq!(s.fields[2].data_type, DataType::Float64);
        assert_eq!(s.fields[3].data_type, DataType::Bool);
        let bad = dir.path().join("b.jsonl");
        std::fs::write(&bad, "{\"id\": 1}\n[1, 2]\n").expect("write");
        let e = schema(&bad).expect_err("not an object").to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
