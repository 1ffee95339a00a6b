#!/usr/bin/env bash
# Prints wall time and peak RSS of `list`, `show` and `validate` (one-shot mode) on generated
# trees of 100, 1,000 and 10,000 artifacts. Figures only; nothing is asserted.
# usage: bench/run.sh [--quick] [bin-dir]   (default bin-dir: build/release/bin, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && { quick=1; shift; }
bin=${1:-build/release/bin}
if [ ! -x "$bin/kodebase" ] || [ ! -x "$bin/kb_gen_tree" ]; then
  cmake --preset release >/dev/null && cmake --build --preset release >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes="100 1000 10000" runs=15
[ $quick -eq 1 ] && sizes="100" runs=3
echo "kodebase one-shot benchmarks ($(nproc) cores, $bin)"
for n in $sizes; do
  "$bin/kb_gen_tree" "$work/p$n" "$n" >/dev/null
  r=$runs
  [ "$n" -ge 10000 ] && r=5
  "$bin/kb_bench_cmd" "list    $n" $r -- "$bin/kodebase" -C "$work/p$n" list --json
  "$bin/kb_bench_cmd" "show    $n" $r -- "$bin/kodebase" -C "$work/p$n" show A.1.1
  "$bin/kb_bench_cmd" "validate $n" $r -- "$bin/kodebase" -C "$work/p$n" validate -q
done
# Writes (one-shot): planning `start` with its cascades, and `add`, on the 1,000 tree.
export KODEBASE_ACTOR="Bench Runner (bench@example.com)"
n=1000
[ $quick -eq 1 ] && n=100
[ -d "$work/p$n" ] || "$bin/kb_gen_tree" "$work/p$n" "$n" >/dev/null
"$bin/kb_bench_cmd" "start --dry-run $n" $runs -- "$bin/kodebase" -C "$work/p$n" start A.1.1 --dry-run
"$bin/kb_bench_cmd" "add $n" $runs -- "$bin/kodebase" -C "$work/p$n" add A.1 --title "Bench issue" --criterion x -q
"$bin/kb_bench_cmd" "start (real) $n" 1 -- "$bin/kodebase" -C "$work/p$n" start A.1.1
