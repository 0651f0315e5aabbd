//! The map-reduce jobs behind `morpheus wordcount` and `morpheus degrees`, written against
//! the RDD API (and usable from programs). Every worker returns the same final answer.

use std::path::Path;
use std::rc::Rc;

use morpheus_engine::{Context, Error, Result};
use morpheus_rdd::Rdd;
use morpheus_storage::Store;

/// Splits `line` into words: maximal runs of alphanumeric characters, lower-cased.
pub fn words(line: &str) -> impl Iterator<Item = String> + '_ {
    line.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Word counts of a text file, by count descending, then word ascending.
pub fn word_count(ctx: &Context<'_>, file: &Path) -> Result<Vec<(String, u64)>> {
    let lines = Rdd::text_file(ctx, file, 0)?;
    let counts = lines
        .flat_map(|l| words(&l).map(|w| (w, 1u64)).collect::<Vec<_>>())
        .reduce_by_key(|a, b| a + b);
    let mut out = counts.collect(ctx)?;
    out.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// `(degree, number of vertices with that degree)` of a store, by degree; out-degrees, or
/// in-degrees when `inbound`. Vertices without edges count with degree 0.
pub fn degree_distribution(
    ctx: &Context<'_>,
    store: &Path,
    inbound: bool,
) -> Result<Vec<(u64, u64)>> {
    let store = Rc::new(Store::open_read_only(store).map_err(|e| Error::Job(e.to_string()))?);
    let edges = morpheus_graph::source::store_edges(&store).map(move |(src, dst, _)| {
        if inbound {
            (dst, 1u64)
        } else {
            (src, 1u64)
        }
    });
    let vertices = morpheus_graph::source::store_vertices(&store).map(|v| (v, 0u64));
    let degrees = edges.union(&vertices).reduce_by_key(|a, b| a + b);
    let mut dist = degrees
        .map(|(_, d)| (d, 1u64))
        .reduce_by_key(|a, b| a + b)
        .collect(ctx)?;
    dist.sort_unstable();
    Ok(dist)
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn words_are_lowercased_alphanumeric_runs() {
        let got: Vec<String> = words("Hello, WORLD! it's 2026 — Ünïcode_ok").collect();
        assert_eq!(got, ["hello", "world", "it", "s", "2026", "ünïcode", "ok"]);
    }
}
