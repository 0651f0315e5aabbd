//! CSV inputs with a header row. A file whose header has `src` and `dst` columns is an edge
//! file (`weight` and `label` columns are recognised, others become edge properties); one
//! with an `id` column is a vertex file (`label` recognised, others become vertex
//! properties). Property types are inferred per column (i64, f64, bool, else string);
//! empty fields leave a property unset.

use std::io::Read;
use std::path::Path;

use super::edgelist::{parse_id, parse_weight};
use super::{open_stream, Sink};
use crate::cell::Value;
use crate::error::{Error, Result};

fn reader<'a>(path: &Path, sink: &Sink<'a>) -> Result<csv::Reader<Box<dyn Read + 'a>>> {
    let inner = open_stream(path, sink.progress)?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(inner))
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        _ => e.to_string(),
    };
    Error::input(path, line, message)
}

/// Column roles after reading the header.
struct Columns {
    key: Vec<usize>,
    weight: Option<usize>,
    label: Option<usize>,
    props: Vec<(usize, String)>,
}

pub(crate) fn read(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
    let mut rdr = reader(path, sink)?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let find = |name: &str| header.iter().position(|h| h == name);
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(Error::input(
                path,
                Some(1),
                format!("column {} has an empty name", i + 1),
            ));
        }
        if header[..i].contains(h) {
            return Err(Error::input(
                path,
                Some(1),
                format!("column `{}` appears twice", super::quote(h.as_bytes())),
            ));
        }
    }
    let edges = find("src").is_some() && find("dst").is_some();
    let cols = if edges {
        let key = vec![find("src").expect("checked"), find("dst").expect("checked")];
        let weight = find("weight");
        let label = find("label");
        let props = prop_columns(&header, &key, &[weight, label]);
        Columns {
            key,
            weight,
            label,
            props,
        }
    } else if let Some(id) = find("id") {
        let label = find("label");
        let props = prop_columns(&header, &[id], &[label]);
        Columns {
            key: vec![id],
            weight: None,
            label,
            props,
        }
    } else {
        return Err(Error::input(
            path,
            Some(1),
            "header names neither `src` and `dst` (an edge file) nor `id` (a vertex file)",
        ));
    };
    if cols.weight.is_some() && !sink.delete {
        sink.weighted = true;
    }

    // Rows are kept until every property column's type is known.
    struct Row {
        line: u64,
        key: (u64, u64),
        weight: f64,
        label: Option<String>,
        props: Vec<String>,
    }
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
        let at = |m: String| Error::input(path, Some(line), m);
        let field = |i: usize| rec.get(i).unwrap_or("");
        let id = |i: usize| {
            parse_id(field(i).as_bytes()).map_err(|m| {
                at(format!(
                    "column `{}`: {m}",
                    super::quote(header[i].as_bytes())
                ))
            })
        };
        let key = if edges {
            (id(cols.key[0])?, id(cols.key[1])?)
        } else {
            (id(cols.key[0])?, 0)
        };
        let weight = match cols.weight {
            Some(i) if !field(i).is_empty() => parse_weight(field(i).as_bytes()).map_err(at)?,
            _ => 1.0,
        };
        let label = cols
            .label
            .map(|i| field(i).to_owned())
            .filter(|l| !l.is_empty());
        let props = cols
            .props
            .iter()
            .map(|(i, _)| field(*i).to_owned())
            .collect();
        rows.push(Row {
            line,
            key,
            weight,
            label,
            props,
        });
    }
    let types: Vec<_> = (0..cols.props.len())
        .map(|c| {
            Value::infer_type(
                rows.iter()
                    .map(|r| r.props[c].as_str())
                    .filter(|t| !t.is_empty()),
            )
        })
        .collect();
    for row in rows {
        let mut props = Vec::new();
        for (c, text) in row.props.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            let value = Value::parse(text, types[c]).ok_or_else(|| {
                Error::input(
                    path,
                    Some(row.line),
                    format!(
                        "column `{}`: `{}` is not {}",
                        super::quote(cols.props[c].1.as_bytes()),
                        super::quote(text.as_bytes()),
                        types[c]
                    ),
                )
            })?;
            props.push((cols.props[c].1.clone(), value));
        }
        if edges {
            let (src, dst) = row.key;
            if sink.delete || (row.label.as_deref().unwrap_or("").is_empty() && props.is_empty()) {
                sink.edge(src, dst, row.weight)?;
            } else {
                sink.batch.add_edge_with(
                    src,
                    dst,
                    row.weight,
                    row.label.as_deref().unwrap_or(""),
                    props,
                );
                sink.edges += 1;
            }
        } else {
            sink.vertex(row.key.0, row.label.as_deref(), props)?;
        }
    }
    Ok(())
}

fn prop_columns(
    header: &[String],
    key: &[usize],
    special: &[Option<usize>],
) -> Vec<(usize, String)> {
    header
        .iter()
        .enumerate()
        .filter(|(i, _)| !key.contains(i) && !special.contains(&Some(*i)))
        .map(|(i, h)| (i, h.clone()))
        .collect()
}
