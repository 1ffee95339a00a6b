#!/usr/bin/env bash
# Prints wall time and peak RSS of `list`, `show`, `next` and `validate` on generated trees of
# 100, 1,000 and 10,000 artifacts, one-shot (--no-daemon) and warm (through the resident daemon,
# process start of `kodebase` included), writes on the 1,000 tree both ways, the daemon's memory
# and the time from a file edit to the daemon seeing it. Figures only; nothing is asserted.
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
export KODEBASE_RUNTIME_DIR="$work/run" XDG_STATE_HOME="$work/state" KODEBASE_DAEMON_IDLE_TIMEOUT=600
trap '"$bin/kodebase" daemon stop -q >/dev/null 2>&1; rm -rf "$work"' EXIT
sizes="100 1000 10000" runs=15
[ $quick -eq 1 ] && sizes="100" runs=3
echo "kodebase one-shot benchmarks ($(nproc) cores, $bin)"
for n in $sizes; do
  "$bin/kb_gen_tree" "$work/p$n" "$n" >/dev/null
  r=$runs
  [ "$n" -ge 10000 ] && r=5
  "$bin/kb_bench_cmd" "one-shot list     $n" $r -- "$bin/kodebase" -C "$work/p$n" list --json --no-daemon
  "$bin/kb_bench_cmd" "one-shot show     $n" $r -- "$bin/kodebase" -C "$work/p$n" show A.1.1 --no-daemon
  "$bin/kb_bench_cmd" "one-shot validate $n" $r -- "$bin/kodebase" -C "$work/p$n" validate -q --no-daemon
  "$bin/kodebase" -C "$work/p$n" list --format ids >/dev/null # loads it into the daemon
  "$bin/kb_bench_cmd" "warm list         $n" $runs -- "$bin/kodebase" -C "$work/p$n" list --json
  "$bin/kb_bench_cmd" "warm show         $n" $runs -- "$bin/kodebase" -C "$work/p$n" show A.1.1
  "$bin/kb_bench_cmd" "warm next         $n" $runs -- "$bin/kodebase" -C "$work/p$n" next
  "$bin/kb_bench_cmd" "warm validate     $n" $r -- "$bin/kodebase" -C "$work/p$n" validate -q
done
# Writes (one-shot): planning `start` with its cascades, and `add`, on the 1,000 tree.
export KODEBASE_ACTOR="Bench Runner (bench@example.com)"
n=1000
[ $quick -eq 1 ] && n=100
[ -d "$work/p$n" ] || "$bin/kb_gen_tree" "$work/p$n" "$n" >/dev/null
"$bin/kb_bench_cmd" "one-shot start --dry-run $n" $runs -- "$bin/kodebase" -C "$work/p$n" start A.1.1 --dry-run --no-daemon
"$bin/kb_bench_cmd" "warm start --dry-run $n" $runs -- "$bin/kodebase" -C "$work/p$n" start A.1.1 --dry-run
"$bin/kb_bench_cmd" "one-shot add $n" $runs -- "$bin/kodebase" -C "$work/p$n" add A.1 --title "Bench issue" --criterion x -q --no-daemon
"$bin/kb_bench_cmd" "warm add $n" $runs -- "$bin/kodebase" -C "$work/p$n" add A.1 --title "Bench issue" --criterion x -q
"$bin/kb_bench_cmd" "warm start (real) $n" 1 -- "$bin/kodebase" -C "$work/p$n" start A.1.1
rss() { # RSS of the daemon in MB, from daemon status
  "$bin/kodebase" daemon status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); n=sum(p["artifacts"] for p in s["projects"]); r=s["rss_bytes"]/2**20; print(f"{r:.1f} MB, {n} artifacts loaded")'
}
echo "daemon RSS with the trees loaded: $(rss)"
"$bin/kodebase" daemon restart -q >/dev/null
echo "daemon RSS idle: $(rss)"
if [ $quick -eq 0 ]; then
  "$bin/kodebase" -C "$work/p10000" list --format ids >/dev/null
  echo "daemon RSS with only the 10,000 tree loaded: $(rss)"
fi
