#!/usr/bin/env bash
# Scale benchmark (issue: beyond memory). For RMAT SCALE (edge factor 16, seed 3) it prints:
#   - the import rate and its peak RSS (`generate --out - | import -`, no text file);
#   - the load rate (edges per second of `load_seconds` in the metrics);
#   - each algorithm's time and peak RSS in memory, and under budgets of 1/4 and 1/10 of
#     its in-memory peak RSS, with the ratios to the in-memory time;
#   - GAPBS's times and peak RSS on the same edge list, when GAPBS_DIR points at a built
#     GAP Benchmark Suite (its code is fetched and built locally, never committed).
#
#   benches/scale.sh 22
#   GAPBS_DIR=/tmp/gapbs WORKERS=2 benches/scale.sh 24
#
# Everything goes under a temporary directory in /tmp (WORK=DIR to choose), removed at the
# end. Scale 24 needs about 8 GB of disk for the store (and 4.5 GB more for GAPBS's edge
# list); scale 27, about 60 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:?usage: benches/scale.sh SCALE}
WORKERS=${WORKERS:-2}
ALGOS=${ALGOS:-"pagerank wcc bfs sssp cdlp kcore"}
WORK=${WORK:-$(mktemp -d -p /tmp morpheus-scale.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
cargo build --release --quiet
M=$PWD/target/release/morpheus
EDGES=$((16 << SCALE))

# Runs a command; sets SECS (wall seconds) and RSS_MIB (peak resident set, MiB).
measure() {
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || {
        echo "failed: $*" >&2
        cat "$WORK/stderr" >&2
        return 1
    }
    read -r SECS KIB <"$WORK/time"
    RSS_MIB=$((KIB / 1024))
}
metric() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

echo "RMAT scale $SCALE: $EDGES edges, $WORKERS workers, work dir $WORK"
measure bash -c "'$M' -q generate rmat --scale $SCALE --seed 3 --out - | '$M' -q import --store '$WORK/store' -"
echo "import    $(awk "BEGIN { printf \"%.1f\", $EDGES / $SECS / 1e6 }")M edges/s ($SECS s), peak RSS $RSS_MIB MiB"
SOURCE=$("$M" generate rmat --scale "$SCALE" --seed 3 --out - 2>/dev/null | grep -v '^#' | head -1 | awk '{print $1}' || true)

run_algo() { # name budget(MiB or "") -> SECS, RSS_MIB, COMPUTE, LOAD
    local name=$1 budget=$2 extra=()
    case $name in bfs | sssp) extra=(--source "$SOURCE") ;; esac
    if [ -n "$budget" ]; then extra+=(--memory-budget "${budget}MiB"); fi
    measure "$M" -q algo "$name" --store "$WORK/store" --workers "$WORKERS" \
        --metrics "$WORK/m.json" --out "$WORK/out-$name-${budget:-mem}.parquet" "${extra[@]}"
    COMPUTE=$(metric "$WORK/m.json" compute_seconds)
    LOAD=$(metric "$WORK/m.json" load_seconds)
}

printf '%-9s %10s %9s | %10s %9s %6s | %10s %9s %6s\n' algorithm "in memory" "peak RSS" "1/4 budget" "peak RSS" "ratio" "1/10" "peak RSS" "ratio"
for a in $ALGOS; do
    if ! run_algo "$a" ""; then
        echo "$a: failed in memory"
        continue
    fi
    mem=$COMPUTE mem_rss=$RSS_MIB load=$LOAD
    line=$(printf '%-9s %9.3fs %6d MiB' "$a" "$mem" "$mem_rss")
    for div in 4 10; do
        budget=$((mem_rss / div))
        if run_algo "$a" "$budget"; then
            line+=$(printf ' | %9.3fs %6d MiB %6s' "$COMPUTE" "$RSS_MIB" "$(ratio "$COMPUTE" "$mem")")
        else
            line+=$(printf ' | %10s %9s %6s' "failed" "-" "-")
        fi
    done
    echo "$line"
done
echo "load      $(awk "BEGIN { printf \"%.1f\", $EDGES / $load / 1e6 }")M edges/s from the store (last in-memory run, $load s)"

if [ -n "${GAPBS_DIR:-}" ]; then
    "$M" -q generate rmat --scale "$SCALE" --seed 3 --out "$WORK/g.el"
    "$GAPBS_DIR/converter" -f "$WORK/g.el" -b "$WORK/g.sg" >/dev/null
    rm -f "$WORK/g.el"
    echo "GAPBS (OMP_NUM_THREADS=$WORKERS, same edge list, average of 3 trials):"
    for k in pr cc bfs; do
        args=(-f "$WORK/g.sg" -n 3)
        [ "$k" = bfs ] && args+=(-r "$SOURCE")
        OMP_NUM_THREADS=$WORKERS measure "$GAPBS_DIR/$k" "${args[@]}"
        t=$(awk '/Average Time/ {print $3}' "$WORK/stdout")
        echo "  $k: ${t}s, peak RSS $RSS_MIB MiB"
    done
fi
