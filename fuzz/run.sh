#!/usr/bin/env bash
# Runs one fuzz target (or all) for a given time with cargo fuzz on the stable toolchain
# (RUSTC_BOOTSTRAP=1 lets cargo fuzz use the sanitizer flags), growing fuzz/corpus/TARGET.
# Crashes land in fuzz/artifacts/TARGET/; copy each into fuzz/regressions/TARGET/ once fixed,
# so `cargo test --test fuzz_corpus` replays it forever.
#
#   fuzz/run.sh store_open 600        # ten minutes
#   fuzz/run.sh all 600               # every target, one after another
set -euo pipefail
cd "$(dirname "$0")"
targets=(import_parsers store_open job_spec server_request)
target=${1:?usage: fuzz/run.sh TARGET|all SECONDS}
seconds=${2:-60}
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
run() {
  local t=$1
  mkdir -p "corpus/$t" "artifacts/$t"
  local log
  log=$(mktemp)
  # -s none: Rust is memory-safe outside storage's mmap; coverage guidance is what matters,
  # and without ASan the targets run several times faster.
  set +e
  cargo fuzz run -s none --release "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -timeout=30 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>&1 | tee "$log" | grep -E '^#[0-9]+.*(DONE|pulse)|SUMMARY|panicked' || true
  local rc=${PIPESTATUS[0]}
  set -e
  local execs
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  local crashes
  crashes=$(find "artifacts/$t" -type f | wc -l)
  echo "fuzz $t: ${seconds}s, $execs executions, $crashes crash file(s) in fuzz/artifacts/$t, exit $rc"
  rm -f "$log"
}
if [ "$target" = all ]; then
  for t in "${targets[@]}"; do run "$t"; done
else
  run "$target"
fi
