//! The LDBC Graphalytics output format and its validation rules.
//!
//! An output file has one `id value` line per vertex (space or tab separated). Reference
//! and actual outputs are compared as Graphalytics does:
//!
//! - BFS and CDLP: exact integer match;
//! - PR, LCC and SSSP: epsilon match — equal values (both infinite included) or
//!   `|expected - actual| < 1e-4 · |expected|`;
//! - WCC: equivalence — the partition into components must be the same, whatever the
//!   labels.
//!
//! The vertex sets must be equal. [`read_ldbc_graph`] reads a Graphalytics graph (`.v` and
//! `.e` files) into a [`RefGraph`] for the sequential twins.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use morpheus_storage::import::ldbc::LdbcGraph;

use crate::error::{Error, Result};
use crate::reference::RefGraph;

/// Relative tolerance of the Graphalytics epsilon rule.
pub const EPSILON: f64 = 1e-4;

/// How many missing or extra ids and mismatch examples a report keeps.
const EXAMPLES: usize = 10;

/// The Graphalytics algorithms that have reference outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Breadth-first search: hop counts.
    Bfs,
    /// PageRank.
    Pr,
    /// Weakly connected components.
    Wcc,
    /// Community detection by label propagation.
    Cdlp,
    /// Local clustering coefficient.
    Lcc,
    /// Single-source shortest paths.
    Sssp,
}

/// How an algorithm's outputs are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Integers, equal.
    Exact,
    /// Floats, within a relative epsilon.
    Epsilon,
    /// Component labels, the same partition.
    Equivalence,
}

impl Algorithm {
    /// Every algorithm, in Graphalytics order.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Bfs,
        Algorithm::Cdlp,
        Algorithm::Lcc,
        Algorithm::Pr,
        Algorithm::Sssp,
        Algorithm::Wcc,
    ];

    /// Lower-case name as in Graphalytics properties files (`bfs`, `pr`, …).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Bfs => "bfs",
            Algorithm::Pr => "pr",
            Algorithm::Wcc => "wcc",
            Algorithm::Cdlp => "cdlp",
            Algorithm::Lcc => "lcc",
            Algorithm::Sssp => "sssp",
        }
    }

    /// Upper-case suffix of reference output files (`<graph>-BFS`, …).
    pub fn suffix(self) -> &'static str {
        match self {
            Algorithm::Bfs => "BFS",
            Algorithm::Pr => "PR",
            Algorithm::Wcc => "WCC",
            Algorithm::Cdlp => "CDLP",
            Algorithm::Lcc => "LCC",
            Algorithm::Sssp => "SSSP",
        }
    }

    /// The validation rule Graphalytics applies to this algorithm.
    pub fn rule(self) -> Rule {
        match self {
            Algorithm::Bfs | Algorithm::Cdlp => Rule::Exact,
            Algorithm::Pr | Algorithm::Lcc | Algorithm::Sssp => Rule::Epsilon,
            Algorithm::Wcc => Rule::Equivalence,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "bfs" => Algorithm::Bfs,
            "pr" | "pagerank" => Algorithm::Pr,
            "wcc" => Algorithm::Wcc,
            "cdlp" => Algorithm::Cdlp,
            "lcc" => Algorithm::Lcc,
            "sssp" => Algorithm::Sssp,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown Graphalytics algorithm `{s}` \
                     (expected bfs, pr, wcc, cdlp, lcc or sssp)"
                )))
            }
        })
    }
}

/// A value that can be written in Graphalytics output format.
pub trait OutputValue {
    /// The value as Graphalytics writes it.
    fn format(&self) -> String;
}

impl OutputValue for i64 {
    fn format(&self) -> String {
        self.to_string()
    }
}

impl OutputValue for u64 {
    fn format(&self) -> String {
        self.to_string()
    }
}

impl OutputValue for f64 {
    fn format(&self) -> String {
        format_f64(*self)
    }
}

/// A float as Graphalytics writes it: scientific notation with enough digits to read back
/// the same value, `infinity` / `-infinity` for infinities, `nan` for NaN.
pub fn format_f64(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else if x.is_infinite() {
        let s = if x > 0.0 { "infinity" } else { "-infinity" };
        s.to_owned()
    } else {
        format!("{x:e}")
    }
}

/// Output rows `(id, value)` for per-vertex `values` aligned with `ids`.
pub fn to_rows<T: OutputValue>(ids: &[u64], values: &[T]) -> Vec<(u64, String)> {
    ids.iter()
        .zip(values)
        .map(|(&id, v)| (id, v.format()))
        .collect()
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn parse_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_owned(),
        line: line as u64 + 1,
        message: message.into(),
    }
}

/// The lines of `bytes` with their 0-based numbers, CR stripped, as UTF-8.
fn lines<'a>(
    path: &'a Path,
    bytes: &'a [u8],
) -> impl Iterator<Item = Result<(usize, &'a str)>> + 'a {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n').enumerate().map(move |(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        std::str::from_utf8(l)
            .map(|s| (i, s))
            .map_err(|_| parse_err(path, i, "not valid UTF-8"))
    })
}

fn is_sep(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn parse_id(path: &Path, line: usize, tok: &str) -> Result<u64> {
    tok.parse()
        .map_err(|_| parse_err(path, line, format!("`{tok}` is not a vertex id (u64)")))
}

/// Reads a Graphalytics output file: `id value` lines separated by a space or tab; blank
/// lines are ignored and the final newline is optional. Errors name the file and line.
pub fn read_output(path: &Path) -> Result<Vec<(u64, String)>> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let mut rows = Vec::new();
    for line in lines(path, &bytes) {
        let (i, line) = line?;
        let mut toks = line.split(is_sep).filter(|t| !t.is_empty());
        let Some(id) = toks.next() else { continue };
        let (Some(value), None) = (toks.next(), toks.next()) else {
            return Err(parse_err(path, i, "expected `id value`"));
        };
        rows.push((parse_id(path, i, id)?, value.to_owned()));
    }
    Ok(rows)
}

/// Writes `rows` as a Graphalytics output file, one `id value` line each. The file is
/// written under a temporary name in the same directory and renamed into place, so a
/// reader never sees half a file.
pub fn write_output(path: &Path, rows: impl IntoIterator<Item = (u64, String)>) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        for (id, value) in rows {
            writeln!(w, "{id} {value}")?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path)(e)
    })
}

/// Reads the Graphalytics graph a `.properties` file describes (parsed by
/// [`morpheus_storage::import::ldbc::parse_properties`]) into a [`RefGraph`]: see
/// [`read_graph_files`].
pub fn read_ldbc_graph(graph: &LdbcGraph) -> Result<RefGraph> {
    read_graph_files(
        &graph.vertex_file,
        &graph.edge_file,
        graph.directed,
        graph.weight_column,
    )
}

/// Reads a Graphalytics graph: `vertex_file` has one vertex id per line; `edge_file` has
/// `src dst [properties…]` per line, separated by spaces or tabs, with the weight in the
/// 0-based field `weight_column` when there is one (weights are 1.0 otherwise). Blank lines
/// and lines starting with `#` or `%` are skipped. An undirected graph lists each edge
/// once. Errors name the file and line.
pub fn read_graph_files(
    vertex_file: &Path,
    edge_file: &Path,
    directed: bool,
    weight_column: Option<usize>,
) -> Result<RefGraph> {
    let skip = |l: &str| l.is_empty() || l.starts_with('#') || l.starts_with('%');
    let bytes = std::fs::read(vertex_file).map_err(io_err(vertex_file))?;
    let mut vertices = Vec::new();
    for line in lines(vertex_file, &bytes) {
        let (i, line) = line?;
        let line = line.trim_matches(is_sep);
        if skip(line) {
            continue;
        }
        let mut toks = line.split(is_sep).filter(|t| !t.is_empty());
        let id = toks.next().unwrap_or_default();
        vertices.push(parse_id(vertex_file, i, id)?);
    }
    let bytes = std::fs::read(edge_file).map_err(io_err(edge_file))?;
    let mut edges = Vec::new();
    for line in lines(edge_file, &bytes) {
        let (i, line) = line?;
        let line = line.trim_matches(is_sep);
        if skip(line) {
            continue;
        }
        let toks: Vec<&str> = line.split(is_sep).filter(|t| !t.is_empty()).collect();
        if toks.len() < 2 {
            return Err(parse_err(edge_file, i, "expected `src dst`"));
        }
        let src = parse_id(edge_file, i, toks[0])?;
        let dst = parse_id(edge_file, i, toks[1])?;
        let weight = match weight_column {
            None => 1.0,
            Some(c) => {
                let tok = toks.get(c).ok_or_else(|| {
                    parse_err(edge_file, i, format!("no weight in field {}", c + 1))
                })?;
                tok.parse::<f64>()
                    .ok()
                    .filter(|w| !w.is_nan())
                    .ok_or_else(|| {
                        parse_err(edge_file, i, format!("`{tok}` is not a weight (a number)"))
                    })?
            }
        };
        edges.push((src, dst, weight));
    }
    RefGraph::try_new(vertices, &edges, directed)
}

/// The outcome of comparing an output with a reference output.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationReport {
    /// The algorithm (and so the rule) compared.
    pub algorithm: Algorithm,
    /// Vertices in the expected output.
    pub vertices: usize,
    /// Vertices present in both outputs whose values do not match (including vertices
    /// listed more than once).
    pub mismatches: usize,
    /// The first mismatches, human readable (`vertex 7: expected 3, got 4`).
    pub examples: Vec<String>,
    /// The first expected vertices missing from the actual output, by id.
    pub missing: Vec<u64>,
    /// How many expected vertices are missing in all.
    pub missing_count: usize,
    /// The first actual vertices not in the expected output, by id.
    pub extra: Vec<u64>,
    /// How many unexpected vertices there are in all.
    pub extra_count: usize,
}

impl ValidationReport {
    /// Whether the outputs match: same vertex set and every value matching.
    pub fn is_ok(&self) -> bool {
        self.mismatches == 0 && self.missing_count == 0 && self.extra_count == 0
    }

    fn mismatch(&mut self, message: impl FnOnce() -> String) {
        self.mismatches += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(message());
        }
    }
}

fn list(ids: &[u64], total: usize) -> String {
    let mut s = ids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if total > ids.len() {
        s.push_str(", …");
    }
    s
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self.algorithm.rule() {
            Rule::Exact => "exact match",
            Rule::Epsilon => "epsilon match",
            Rule::Equivalence => "equivalence match",
        };
        if self.is_ok() {
            return write!(
                f,
                "{}: {} vertices ok ({rule})",
                self.algorithm, self.vertices
            );
        }
        write!(
            f,
            "{}: FAILED ({rule}): {} of {} vertices differ",
            self.algorithm, self.mismatches, self.vertices
        )?;
        if self.missing_count > 0 {
            write!(
                f,
                "; {} missing ({})",
                self.missing_count,
                list(&self.missing, self.missing_count)
            )?;
        }
        if self.extra_count > 0 {
            write!(
                f,
                "; {} unexpected ({})",
                self.extra_count,
                list(&self.extra, self.extra_count)
            )?;
        }
        for e in &self.examples {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Parses an integer output value (the range of `i64` and `u64` both).
fn parse_int(s: &str) -> Option<i128> {
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// Parses a float output value; `inf`, `infinity` and `Infinity` are +∞.
fn parse_float(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// Whether `actual` passes the Graphalytics epsilon rule against `expected`.
pub fn epsilon_match(expected: f64, actual: f64) -> bool {
    expected == actual || (expected - actual).abs() < EPSILON * expected.abs()
}

/// Compares `actual` against `expected` by the Graphalytics rule of `algorithm`.
pub fn validate<'a>(
    algorithm: Algorithm,
    expected: &'a [(u64, String)],
    actual: &'a [(u64, String)],
) -> ValidationReport {
    let mut report = ValidationReport {
        algorithm,
        vertices: expected.len(),
        mismatches: 0,
        examples: Vec::new(),
        missing: Vec::new(),
        missing_count: 0,
        extra: Vec::new(),
        extra_count: 0,
    };
    let mut sorted = |rows: &'a [(u64, String)], side: &str| {
        let mut v: Vec<(u64, &'a str)> = rows.iter().map(|(id, s)| (*id, s.trim())).collect();
        v.sort_by_key(|&(id, _)| id);
        v.dedup_by(|next, prev| {
            let dup = next.0 == prev.0;
            if dup {
                report.mismatch(|| {
                    format!(
                        "vertex {}: listed more than once in the {side} output",
                        prev.0
                    )
                });
            }
            dup
        });
        v
    };
    let exp = sorted(expected, "expected");
    let act = sorted(actual, "actual");
    // Pairs (id, expected, actual) present in both, by a merge of the sorted lists.
    let mut pairs: Vec<(u64, &str, &str)> = Vec::with_capacity(exp.len().min(act.len()));
    let (mut i, mut j) = (0, 0);
    loop {
        let ord = match (exp.get(i), act.get(j)) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(e), Some(a)) => e.0.cmp(&a.0),
        };
        match ord {
            Ordering::Equal => {
                pairs.push((exp[i].0, exp[i].1, act[j].1));
                i += 1;
                j += 1;
            }
            Ordering::Less => {
                report.missing_count += 1;
                if report.missing.len() < EXAMPLES {
                    report.missing.push(exp[i].0);
                }
                i += 1;
            }
            Ordering::Greater => {
                report.extra_count += 1;
                if report.extra.len() < EXAMPLES {
                    report.extra.push(act[j].0);
                }
                j += 1;
            }
        }
    }
    match algorithm.rule() {
        Rule::Exact => {
            for (id, e, a) in pairs {
                let ok = match (parse_int(e), parse_int(a)) {
                    (Some(x), Some(y)) => x == y,
                    (None, _) => {
                        report.mismatch(|| {
                            format!("vertex {id}: expected value `{e}` is not an integer")
                        });
                        continue;
                    }
                    (_, None) => false,
                };
                if !ok {
                    report.mismatch(|| format!("vertex {id}: expected {e}, got {a}"));
                }
            }
        }
        Rule::Epsilon => {
            for (id, e, a) in pairs {
                let ok = match (parse_float(e), parse_float(a)) {
                    (Some(x), Some(y)) => epsilon_match(x, y),
                    (None, _) => {
                        report.mismatch(|| {
                            format!("vertex {id}: expected value `{e}` is not a number")
                        });
                        continue;
                    }
                    (_, None) => false,
                };
                if !ok {
                    report.mismatch(|| format!("vertex {id}: expected {e}, got {a}"));
                }
            }
        }
        Rule::Equivalence => {
            // The labels must be a bijection: each expected component maps to one actual
            // component and back. The first vertex seen of a component fixes its mapping.
            let mut forward: HashMap<&str, (&str, u64)> = HashMap::new();
            let mut backward: HashMap<&str, (&str, u64)> = HashMap::new();
            for (id, e, a) in pairs {
                let (fa, fid) = *forward.entry(e).or_insert((a, id));
                let (be, bid) = *backward.entry(a).or_insert((e, id));
                if fa != a {
                    report.mismatch(|| {
                        format!(
                            "vertex {id}: expected in the same component as vertex {fid} \
                             (label {fa}), got label {a}"
                        )
                    });
                } else if be != e {
                    report.mismatch(|| {
                        format!(
                            "vertex {id}: got the component of vertex {bid} (label {a}), \
                             but expected label {e} differs from {be}"
                        )
                    });
                }
            }
        }
    }
    report
}

/// Reads two output files and compares them: see [`validate`].
pub fn validate_files(
    algorithm: Algorithm,
    expected_path: &Path,
    actual_path: &Path,
) -> Result<ValidationReport> {
    let expected = read_output(expected_path)?;
    let actual = read_output(actual_path)?;
    Ok(validate(algorithm, &expected, &actual))
}

/// The reference output file of `algorithm` for the graph named `graph` in `dir`
/// (`<dir>/<graph>-<ALGO>`).
pub fn reference_output_path(dir: &Path, graph: &str, algorithm: Algorithm) -> PathBuf {
    dir.join(format!("{graph}-{}", algorithm.suffix()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rows(v: &[(u64, &str)]) -> Vec<(u64, String)> {
        v.iter().map(|&(id, s)| (id, s.to_owned())).collect()
    }

    #[test]
    fn algorithm_names() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
            assert_eq!(a.suffix().parse::<Algorithm>().unwrap(), a);
        }
        assert_eq!("PageRank".parse::<Algorithm>().unwrap(), Algorithm::Pr);
        assert_eq!(" Wcc ".parse::<Algorithm>().unwrap(), Algorithm::Wcc);
        assert!("scc".parse::<Algorithm>().is_err());
        assert_eq!(Algorithm::Sssp.to_string(), "SSSP");
    }

    #[test]
    fn exact_rule() {
        let e = rows(&[
            (1, "0"),
            (2, "9223372036854775807"),
            (3, "18446744073709551615"),
        ]);
        let ok = validate(Algorithm::Bfs, &e, &e);
        assert!(ok.is_ok(), "{ok}");
        assert_eq!(ok.vertices, 3);
        // Order does not matter, and the same integer written differently matches.
        let a = rows(&[
            (3, "18446744073709551615"),
            (1, "+0"),
            (2, "9223372036854775807"),
        ]);
        assert!(validate(Algorithm::Cdlp, &e, &a).is_ok());
        let a = rows(&[(1, "0"), (2, "9223372036854775806"), (3, "1.8e19")]);
        let r = validate(Algorithm::Bfs, &e, &a);
        assert!(!r.is_ok());
        assert_eq!(r.mismatches, 2);
        assert_eq!(
            r.examples[0],
            "vertex 2: expected 9223372036854775807, got 9223372036854775806"
        );
        assert!(r.to_string().contains("2 of 3 vertices differ"), "{r}");
    }

    #[test]
    fn missing_and_extra_vertices() {
        let e = rows(&[(1, "1"), (2, "2"), (3, "3")]);
        let a = rows(&[(1, "1"), (3, "3"), (4, "4"), (5, "5")]);
        let r = validate(Algorithm::Bfs, &e, &a);
        assert!(!r.is_ok());
        assert_eq!(
            (r.mismatches, r.missing.clone(), r.extra.clone()),
            (0, vec![2], vec![4, 5])
        );
        assert_eq!((r.missing_count, r.extra_count), (1, 2));
        let s = r.to_string();
        assert!(
            s.contains("1 missing (2)") && s.contains("2 unexpected (4, 5)"),
            "{s}"
        );
        // Only the first ten are listed, but all are counted.
        let many: Vec<(u64, String)> = (0..25).map(|i| (i, "0".to_owned())).collect();
        let r = validate(Algorithm::Bfs, &many, &[]);
        assert_eq!((r.missing.len(), r.missing_count), (10, 25));
        // A vertex listed twice is a mismatch.
        let r = validate(
            Algorithm::Bfs,
            &e,
            &rows(&[(1, "1"), (2, "2"), (2, "2"), (3, "3")]),
        );
        assert_eq!((r.mismatches, r.extra_count), (1, 0));
    }

    #[test]
    fn epsilon_rule() {
        let check =
            |e: &str, a: &str| validate(Algorithm::Pr, &rows(&[(1, e)]), &rows(&[(1, a)])).is_ok();
        assert!(check("1.0", "1.0"));
        assert!(check("1.0", "1.00009"));
        assert!(!check("1.0", "1.00011"));
        assert!(check("-2.0", "-2.0001"));
        assert!(!check("-2.0", "-2.0003"));
        assert!(check("1.477629166666667e-01", "1.477629166666667e-1"));
        // Zero must match exactly.
        assert!(check("0.0", "0"));
        assert!(!check("0.0", "1e-300"));
        // Infinity matches infinity, however it is written, and nothing else.
        assert!(check("infinity", "Infinity"));
        assert!(check("infinity", "inf"));
        assert!(check("Infinity", "infinity"));
        assert!(!check("infinity", "1e308"));
        assert!(!check("1e308", "infinity"));
        assert!(!check("infinity", "-infinity"));
        assert!(!check("1.0", "nan"));
        assert!(!check("1.0", "one"));
        assert!(!check("nan", "nan"));
        assert!(epsilon_match(100.0, 100.0099));
        assert!(!epsilon_match(100.0, 100.01));
    }

    #[test]
    fn equivalence_rule() {
        let e = rows(&[(1, "1"), (2, "1"), (3, "3"), (4, "3"), (5, "5")]);
        // Relabelled: same partition.
        let a = rows(&[(1, "30"), (2, "30"), (3, "7"), (4, "7"), (5, "1")]);
        assert!(validate(Algorithm::Wcc, &e, &a).is_ok());
        // Two components merged.
        let merged = rows(&[(1, "1"), (2, "1"), (3, "1"), (4, "1"), (5, "5")]);
        let r = validate(Algorithm::Wcc, &e, &merged);
        assert!(!r.is_ok());
        assert_eq!(r.mismatches, 2);
        // A component split.
        let split = rows(&[(1, "1"), (2, "2"), (3, "3"), (4, "3"), (5, "5")]);
        let r = validate(Algorithm::Wcc, &e, &split);
        assert_eq!(r.mismatches, 1);
        assert!(r.examples[0].starts_with("vertex 2:"), "{r}");
    }

    #[test]
    fn formats_values() {
        assert_eq!(format_f64(f64::INFINITY), "infinity");
        assert_eq!(format_f64(f64::NEG_INFINITY), "-infinity");
        assert_eq!(format_f64(0.0), "0e0");
        let x = 0.1477629166666667;
        assert_eq!(format_f64(x).parse::<f64>().unwrap(), x);
        assert_eq!(
            to_rows(&[4, 9], &[1i64, i64::MAX])[1],
            (9, i64::MAX.to_string())
        );
    }

    #[test]
    fn reads_and_writes_output_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out-PR");
        std::fs::write(&p, "1 0.5\n\n2\t2.5e-1\r\n  \n3   infinity").unwrap();
        let r = read_output(&p).unwrap();
        assert_eq!(r, rows(&[(1, "0.5"), (2, "2.5e-1"), (3, "infinity")]));
        std::fs::write(&p, "1 0.5\n2 0.5 7\n").unwrap();
        let err = read_output(&p).unwrap_err().to_string();
        assert!(err.ends_with("out-PR:2: expected `id value`"), "{err}");
        std::fs::write(&p, "1 0.5\n2\n").unwrap();
        assert!(read_output(&p).unwrap_err().to_string().contains(":2:"));
        std::fs::write(&p, "x 0.5\n").unwrap();
        let err = read_output(&p).unwrap_err().to_string();
        assert!(err.contains("out-PR:1: `x` is not a vertex id"), "{err}");
        assert!(matches!(
            read_output(&dir.path().join("nope")),
            Err(Error::Io { .. })
        ));

        let w = dir.path().join("mine-PR");
        write_output(&w, to_rows(&[1, 2, 3], &[0.5, 0.25, f64::INFINITY])).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file left behind");
        let report = validate_files(Algorithm::Sssp, &p, &w);
        assert!(report.is_err(), "the expected file is broken");
        std::fs::write(&p, "1 0.5\n2 0.25\n3 infinity\n").unwrap();
        let report = validate_files(Algorithm::Sssp, &p, &w).unwrap();
        assert!(report.is_ok(), "{report}");
    }

    #[test]
    fn reads_ldbc_graphs() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("g.v");
        let e = dir.path().join("g.e");
        std::fs::write(&v, "1\n2\n3\n\n4\n").unwrap();
        std::fs::write(&e, "1 2 0.5\n2\t3 1.5\n# comment\n3 1 2\n").unwrap();
        let g = read_graph_files(&v, &e, true, Some(2)).unwrap();
        assert_eq!(g.ids(), &[1, 2, 3, 4]);
        assert_eq!(g.out_weights(1), &[1.5]);
        let g = read_graph_files(&v, &e, false, None).unwrap();
        assert_eq!(g.out_weights(0), &[1.0, 1.0]);
        std::fs::write(&e, "1 2 0.5\n2 3\n").unwrap();
        let err = read_graph_files(&v, &e, true, Some(2))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("g.e:2: no weight in field 3"), "{err}");
        std::fs::write(&e, "1 2 0.5\n2 3 x\n").unwrap();
        let err = read_graph_files(&v, &e, true, Some(2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.e:2:"), "{err}");
        std::fs::write(&e, "1\n").unwrap();
        let err = read_graph_files(&v, &e, true, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.e:1: expected `src dst`"), "{err}");
        std::fs::write(&v, "1\n-2\n").unwrap();
        let err = read_graph_files(&v, &e, true, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.v:2: `-2` is not a vertex id"), "{err}");
    }
}
