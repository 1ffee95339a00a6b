#!/usr/bin/env bash
# Prints wall time and peak RSS of `list`, `show`, `next` and `validate` on generated trees of
# 100, 1,000 and 10,000 artifacts, one-shot (--no-daemon) and warm (through the resident daemon,
# process start of `kodebase` included), writes on the 1,000 tree both ways, the daemon's memory
# and the time from a file edit to the daemon seeing it, then the MCP adapter (bench/mcp.py) and
# the GitHub proxy (bench/github.py) and the team relay (kb_bench_relay, against a
# redis-server of its own, and bench/team.py: Redis → daemon → watch, and `add` with the ID
# reserved through Redis).
# Figures only; nothing is asserted.
# usage: bench/run.sh [--quick] [bin-dir]   (default: build/release/bin, brought up to date)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && { quick=1; shift; }
bin=${1:-build/release/bin}
if [ -z "${1:-}" ]; then # the default release build: brought up to date first
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
# Real starts (each on another ready issue, so each one writes): the issue, its milestone and
# initiative when they start too, synced to disk.
ids=$("$bin/kodebase" -C "$work/p$n" next --json --limit 1000 |
  python3 -c 'import json, sys; print(" ".join(a["id"] for a in json.load(sys.stdin) if a["startable"]))')
python3 - "$bin/kodebase" "$work/p$n" $ids <<'PY'
import statistics, subprocess, sys, time
ids = sys.argv[3:18]
times = []
for id in ids:
    start = time.monotonic()
    subprocess.run([sys.argv[1], "-C", sys.argv[2], "start", id, "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    times.append((time.monotonic() - start) * 1000)
print(f"{'warm start (real)':29s}median {statistics.median(times):8.1f} ms"
      f"   max {max(times):8.1f} ms   ({len(times)} starts)")
PY
# From a file edit to the `artifact.changed` event a subscriber receives (median of 10).
python3 - "$KODEBASE_RUNTIME_DIR/daemon.sock" "$work/p$n" <<'PY'
import glob, json, socket, statistics, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10); f = s.makefile("rwb")
f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                    "params": {"topics": ["artifacts"], "directory": sys.argv[2]}}).encode() + b"\n")
f.flush(); f.readline()
s.settimeout(1)  # events of the writes above, still arriving, are not part of the measurement
try:
    while f.readline():
        pass
except (TimeoutError, socket.timeout):
    pass
s.settimeout(10); f = s.makefile("rwb")
path = sorted(glob.glob(sys.argv[2] + "/.kodebase/artifacts/**/*.yml", recursive=True))[-1]
times = []
for i in range(10):
    text = open(path).read()
    start = time.monotonic()
    open(path, "w").write(text.replace("title: ", f"title: {i} ", 1))
    while json.loads(f.readline()).get("method") != "artifact.changed":
        pass
    times.append((time.monotonic() - start) * 1000)
    time.sleep(0.2)
print(f"edit to watch event           median {statistics.median(times):8.1f} ms   "
      f"max {max(times):8.1f} ms   (10 edits; 150 ms of it is the settle time)")
PY
# From a kodebase write (an edit sent to the daemon) to the `artifact.changed` event a
# subscriber receives: the write announces its change itself (median of 20).
python3 - "$KODEBASE_RUNTIME_DIR/daemon.sock" "$work/p$n" <<'PY'
import glob, json, os, socket, statistics, sys, time
def connect():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    return s, s.makefile("rwb")
def send(f, method, params, id=1):
    f.write(json.dumps({"jsonrpc": "2.0", "id": id, "method": method,
                        "params": dict(params, directory=sys.argv[2])}).encode() + b"\n")
    f.flush()
sub, sf = connect()
send(sf, "subscribe", {"topics": ["artifacts"]}); sf.readline()
writer, wf = connect()
path = sorted(glob.glob(sys.argv[2] + "/.kodebase/artifacts/**/*.yml", recursive=True))[-1]
artifact_id = os.path.basename(path).split(".")[0]
for part in os.path.basename(path).split(".")[1:]:
    if not part.isdigit():
        break
    artifact_id += "." + part
times = []
for i in range(20):
    start = time.monotonic()
    send(wf, "artifacts.edit", {"id": artifact_id, "priority": ["high", "low"][i % 2]}, i + 2)
    while True:
        m = json.loads(sf.readline())
        if m.get("method") == "artifact.changed" and m["params"].get("id") == artifact_id:
            break
    times.append((time.monotonic() - start) * 1000)
    reply = json.loads(wf.readline())
    assert "result" in reply, reply
print(f"kodebase write to watch event median {statistics.median(times):8.1f} ms   "
      f"max {max(times):8.1f} ms   (20 edits sent to the daemon)")
PY
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
python3 "$(dirname "$0")/mcp.py" "$bin" $([ $quick -eq 1 ] && echo --quick)
python3 "$(dirname "$0")/github.py" "$bin" $([ $quick -eq 1 ] && echo --quick)
"$bin/kb_bench_relay" $([ $quick -eq 1 ] && echo --quick)
python3 "$(dirname "$0")/team.py" "$bin" $([ $quick -eq 1 ] && echo --quick)
python3 "$(dirname "$0")/webhook.py" "$bin" $([ $quick -eq 1 ] && echo --quick)
