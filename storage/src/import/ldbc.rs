//! LDBC Graphalytics graphs, given by their `.properties` file: it names the vertex and edge
//! files (relative to itself), whether the graph is directed, and the edge properties (a
//! `weight` property becomes the edge weight).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::edgelist::{read_edges, read_vertices, EdgeFields};
use super::Sink;
use crate::error::{Error, IoContext, Result};

/// The parts of a Graphalytics `.properties` file the importer uses.
#[derive(Clone, Debug, PartialEq)]
pub struct LdbcGraph {
    /// Graph name (the `graph.<name>.` key prefix).
    pub name: String,
    /// Vertex file.
    pub vertex_file: PathBuf,
    /// Edge file.
    pub edge_file: PathBuf,
    /// Whether edges are directed.
    pub directed: bool,
    /// 0-based field of the edge file holding the weight, if the graph is weighted.
    pub weight_column: Option<usize>,
    /// Every `key = value` pair of the file, with the `graph.<name>.` prefix removed.
    pub properties: HashMap<String, String>,
}

/// The comma-separated names under `key` (e.g. `edge-properties.names`: the fields of an
/// edge line after `src dst`).
fn names_of<'a>(properties: &'a HashMap<String, String>, key: &str) -> Vec<&'a str> {
    properties
        .get(key)
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl LdbcGraph {
    /// The edge properties, in the order of their fields after `src dst`.
    pub fn edge_property_names(&self) -> Vec<&str> {
        names_of(&self.properties, "edge-properties.names")
    }
}

/// Parses a Graphalytics `.properties` file.
pub fn parse_properties(path: &Path) -> Result<LdbcGraph> {
    let text = std::fs::read_to_string(path).at(path)?;
    let mut all = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) else {
            return Err(Error::input(
                path,
                Some(i as u64 + 1),
                "expected `key = value`",
            ));
        };
        all.push((i as u64 + 1, k.trim().to_owned(), v.trim().to_owned()));
    }
    let name = all
        .iter()
        .find_map(|(_, k, _)| {
            k.strip_prefix("graph.")?
                .strip_suffix(".vertex-file")
                .map(str::to_owned)
        })
        .ok_or_else(|| Error::input(path, None, "no `graph.<name>.vertex-file` key"))?;
    let prefix = format!("graph.{name}.");
    let properties: HashMap<String, String> = all
        .iter()
        .filter_map(|(_, k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.clone())))
        .collect();
    let line_of = |key: &str| {
        all.iter()
            .find(|(_, k, _)| k == &format!("{prefix}{key}"))
            .map(|(l, _, _)| *l)
    };
    let get = |key: &str| {
        properties
            .get(key)
            .ok_or_else(|| Error::input(path, None, format!("missing key `{prefix}{key}`")))
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let directed = match get("directed")?.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(Error::input(
                path,
                line_of("directed"),
                format!(
                    "`directed` must be true or false, not `{}`",
                    super::quote(other.as_bytes())
                ),
            ))
        }
    };
    let names = names_of(&properties, "edge-properties.names");
    let weight_column = names.iter().position(|n| *n == "weight").map(|i| i + 2);
    Ok(LdbcGraph {
        vertex_file: base.join(get("vertex-file")?),
        edge_file: base.join(get("edge-file")?),
        directed,
        weight_column,
        properties,
        name,
    })
}

pub(crate) fn read(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
    let g = parse_properties(path)?;
    sink.require_directed(g.directed, path)?;
    if g.weight_column.is_some() && !sink.delete {
        sink.weighted = true;
    }
    for (key, file) in [("vertex-file", &g.vertex_file), ("edge-file", &g.edge_file)] {
        let problem = match std::fs::metadata(file) {
            Ok(m) if m.is_file() => continue,
            Ok(_) => "is not a file".to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_owned(),
            Err(e) => format!("cannot be read: {e}"),
        };
        return Err(Error::input(
            path,
            None,
            format!(
                "graph.{}.{key} = {}: {} {problem}",
                g.name,
                g.properties.get(key).map_or("", String::as_str),
                file.display()
            ),
        ));
    }
    let vertex_props = names_of(&g.properties, "vertex-properties.names").len();
    read_vertices(&g.vertex_file, sink, vertex_props)?;
    let names = g.edge_property_names();
    let shape = format!(
        "`src dst{}`",
        names.iter().map(|n| format!(" {n}")).collect::<String>()
    );
    let fields = EdgeFields {
        count: 2 + names.len(),
        weight: g.weight_column,
        shape: &shape,
    };
    read_edges(&g.edge_file, sink, fields)
}
