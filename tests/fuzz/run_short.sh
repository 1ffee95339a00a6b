#!/usr/bin/env bash
# A short, bounded fuzzing run of one target over its seed corpus (part of the test command).
# Longer runs: build the `fuzz` preset and run the binary with -max_total_time=3600.
set -euo pipefail
bin=$1 corpus=$2 seconds=${3:-30} runs=${4:-150000}
[ -x "$bin" ] || { echo "fuzz target $bin is missing: build the fuzz preset first (scripts/test.sh does)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
# A fixed seed and run count make the test command reproducible: the same inputs every run
# (a slow machine stops at the time cap first). Longer runs drop both. A crashing input is kept
# outside the source tree, under its name in the temporary directory.
"$bin" -artifact_prefix="${TMPDIR:-/tmp}/kodebase-fuzz-" -seed=1 -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 "$work" 2>&1 | tail -n 15
