#!/usr/bin/env bash
# Graph benchmark with NetworKit beside Morpheus (issue: graph engine, "Performance").
#
#   benches/graph.sh            # RMAT scale 20, edge factor 16
#   SCALE=16 benches/graph.sh   # smaller
#
# Sets up a virtualenv with NetworKit (target/networkit-venv), runs `cargo bench --bench
# graph` (times, ratios, answers checked against the sequential twins), then measures peak
# RSS of PageRank alone in both systems with /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${SCALE:-20}"
VENV=target/networkit-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import networkit' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet networkit
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MORPHEUS_BENCH_SCALE="$SCALE" MORPHEUS_BENCH_DIR="$WORK" \
    MORPHEUS_NETWORKIT_PYTHON="$PWD/$VENV/bin/python" cargo bench --bench graph

cargo build --release --quiet
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {print $6}'; }
M=$(rss target/release/morpheus -q algo pagerank --store "$WORK/rmat$SCALE.store" --workers 2 --out "$WORK/pr.csv")
N=$(rss "$VENV/bin/python" benches/networkit_bench.py "$WORK/rmat$SCALE.stored.txt" 0 pagerank)
echo
echo "peak RSS, PageRank alone: Morpheus (2 workers) $((M / 1024)) MiB, NetworKit (2 threads) $((N / 1024)) MiB, ratio $(awk "BEGIN {printf \"%.2f\", $M / $N}") (target <= 1.5)"
