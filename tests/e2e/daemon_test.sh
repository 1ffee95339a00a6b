#!/usr/bin/env bash
# End-to-end tests of the resident daemon in private runtime directories: autostart, one daemon
# for many first calls, output identical to one-shot mode, recovery from a dead daemon,
# replacement of another build, signals, idle exit and bad frames.
# usage: daemon_test.sh <bin-dir> <source-dir>
# (edits, kodebase commands, checkouts and merges reach `watch`; a lagging subscriber is cut.)
set -uo pipefail
bin=$1 src=$2
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)"
rt="$work/run" # lib.sh's runtime directory; stop_daemon ends what runs there
p="$work/shop"
cp -r "$src/examples/webshop" "$p"
daemon_pid() { cat "$1/daemon.lock" 2>/dev/null; }
# kodebased processes serving runtime directory $1.
daemons_of() {
  local pid
  for pid in $(pgrep -x kodebased); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "KODEBASE_RUNTIME_DIR=$1" && echo "$pid"
  done
}
# wait_until CONDITION: polls for up to 5 s.
wait_until() {
  local i
  for i in $(seq 1 50); do eval "$1" && return 0; sleep 0.1; done
  return 1
}

# a tuning variable out of its range stops the daemon before it serves, naming the variable
expect_exit 2 "a queue of 0" -- env KODEBASE_DAEMON_QUEUE=0 KODEBASE_RUNTIME_DIR="$work/rt-bad" "$bin/kodebased" --foreground
contains "$err" "KODEBASE_DAEMON_QUEUE must be a whole number of at least 1, not \`0\`" "the variable is named"
expect_exit 2 "a settle time of words" -- env KODEBASE_DAEMON_SETTLE_MS=soon KODEBASE_RUNTIME_DIR="$work/rt-bad" "$bin/kodebased" --foreground
contains "$err" "KODEBASE_DAEMON_SETTLE_MS" "the settle variable is named"
[ ! -S "$work/rt-bad/daemon.sock" ] && pass || fail "a refused daemon left a socket"

# autostart on first use; the runtime directory and socket are private
expect_exit 0 "first call autostarts" -- "$kb" -C "$p" list
[ -S "$rt/daemon.sock" ] && pass || fail "no socket after autostart"
[ "$(stat -c %a "$rt")" = 700 ] && [ "$(stat -c %a "$rt/daemon.sock")" = 600 ] && pass ||
  fail "runtime modes: $(stat -c %a "$rt") $(stat -c %a "$rt/daemon.sock")"
expect_exit 0 "status" -- "$kb" daemon status --json
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j['running'] and j['same_build'] and j['projects'][0]['artifacts']==29 else 1)" "$out" && pass || fail "status: $out"
first=$(daemon_pid "$rt")

# every command prints the same through the daemon as in one-shot mode
for cmd in "status" "list" "list --json" "list --state ready --sort priority" "show A.1.2" \
  "show A.1.2 --json" "tree" "tree --json" "log A.1.2" "next" "next --json" "context A.2.5" \
  "validate" "validate --json" "list --format ids"; do
  # (the dashboard's services line says which one answered; everything else must match)
  a=$("$kb" -C "$p" $cmd 2>&1 | grep -v '^Services:'; echo "exit ${PIPESTATUS[0]}")
  b=$("$kb" -C "$p" $cmd --no-daemon 2>&1 | grep -v '^Services:'; echo "exit ${PIPESTATUS[0]}")
  [ "$a" = "$b" ] && pass || fail "'$cmd' differs between daemon and one-shot:$(diff <(echo "$b") <(echo "$a") | head -5)"
done
"$kb" -C "$p" status | grep -q '^Services: daemon running' && pass || fail "status does not say the daemon answered"
# writes through the daemon are seen by the next read, and by one-shot readers
expect_exit 0 "add through the daemon" -- "$kb" -C "$p" add A.2 --title "Gift cards" --criterion "Redeemable" -q
expect_exit 0 "ready through the daemon" -- "$kb" -C "$p" ready "$out"
[ "$("$kb" -C "$p" list --format ids | md5sum)" = "$("$kb" -C "$p" list --format ids --no-daemon | md5sum)" ] && pass || fail "daemon missed its own write"
# an edit made behind its back (an editor, git) is seen at once
f=$(ls "$p"/.kodebase/artifacts/A.*/A.2.*/A.2.5.*.yml)
sed -i 's/^  title: .*/  title: "Edited behind its back"/' "$f"
expect_exit 0 "show after an outside edit" -- "$kb" -C "$p" show A.2.5 --json
contains "$out" "Edited behind its back" "outside edit seen"
[ "$(daemon_pid "$rt")" = "$first" ] && pass || fail "the daemon was restarted"

# SIGTERM: the daemon exits and removes its socket
kill -TERM "$first"
wait_until "! kill -0 $first 2>/dev/null" && pass || fail "SIGTERM did not stop the daemon"
[ ! -e "$rt/daemon.sock" ] && pass || fail "socket left after SIGTERM"

# ten concurrent first calls start exactly one daemon
rt2="$work/run2"
declare -a callers=()
for i in $(seq 1 10); do
  KODEBASE_RUNTIME_DIR="$rt2" "$kb" -C "$p" list --format ids >"$work/c$i" 2>&1 &
  callers+=($!)
  pids+=($!)
done
for c in "${callers[@]}"; do wait "$c" || fail "a concurrent first call failed: $(cat "$work"/c* | head -3)"; done
[ "$(daemons_of "$rt2" | wc -l)" -eq 1 ] && pass || fail "daemons for 10 first calls: $(daemons_of "$rt2" | wc -l)"
pid2=$(daemon_pid "$rt2")

# a daemon killed with SIGKILL leaves a stale socket; the next call recovers
kill -9 "$pid2"
wait_until "! kill -0 $pid2 2>/dev/null"
[ -S "$rt2/daemon.sock" ] && pass || fail "expected a stale socket"
expect_exit 0 "recover from a stale socket" -- env KODEBASE_RUNTIME_DIR="$rt2" "$kb" -C "$p" list --format ids
[ -n "$(daemon_pid "$rt2")" ] && [ "$(daemon_pid "$rt2")" != "$pid2" ] && pass || fail "no new daemon after a stale socket"
KODEBASE_RUNTIME_DIR="$rt2" "$kb" daemon stop -q

# KODEBASE_NO_AUTOSTART: a clear error, nothing spawned
expect_exit 3 "no autostart" -- env KODEBASE_NO_AUTOSTART=1 KODEBASE_RUNTIME_DIR="$work/run3" "$kb" -C "$p" list
contains "$err" "daemon is not running" "no-autostart message"
[ -z "$(daemons_of "$work/run3")" ] && pass || fail "a daemon was started despite KODEBASE_NO_AUTOSTART"

# a daemon of another build is replaced, not reported as a mismatch
rt4="$work/run4"
mkdir -m 700 "$rt4"
python3 - "$rt4" <<'PY' &
import fcntl, json, os, socket, sys
rt = sys.argv[1]
lock = open(os.path.join(rt, "daemon.lock"), "w")
fcntl.flock(lock, fcntl.LOCK_EX)
lock.write(f"{os.getpid()}\n"); lock.flush()
srv = socket.socket(socket.AF_UNIX); srv.bind(os.path.join(rt, "daemon.sock")); srv.listen(8)
while True:
    conn, _ = srv.accept()
    f = conn.makefile("rwb")
    for line in f:
        req = json.loads(line)
        if req["method"] == "daemon.shutdown":
            f.write(b'{"jsonrpc":"2.0","id":1,"result":{"stopping":true}}\n'); f.flush()
            os.unlink(os.path.join(rt, "daemon.sock")); sys.exit(0)
        f.write(json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": {
            "protocol": 1, "build_id": "an-older-build", "version": "0.0.1", "pid": os.getpid()}}).encode() + b"\n")
        f.flush()
PY
fake=$!
pids+=($fake)
wait_until "[ -S '$rt4/daemon.sock' ]"
expect_exit 0 "another build is replaced" -- env KODEBASE_RUNTIME_DIR="$rt4" "$kb" -C "$p" list --format ids
wait_until "! kill -0 $fake 2>/dev/null" && pass || fail "the old daemon was not asked to stop"
expect_exit 0 "status of the new daemon" -- env KODEBASE_RUNTIME_DIR="$rt4" "$kb" daemon status --json
contains "$out" '"same_build":true' "the replacement is our build"
KODEBASE_RUNTIME_DIR="$rt4" "$kb" daemon stop -q

# idle exit
rt5="$work/run5"
expect_exit 0 "idle timeout setting" -- "$kb" -C "$p" config set daemon.idle_timeout 1 --no-daemon
expect_exit 0 "daemon with a 1 s idle timeout" -- env KODEBASE_RUNTIME_DIR="$rt5" "$kb" -C "$p" list --format ids
pid5=$(daemon_pid "$rt5")
wait_until "! kill -0 $pid5 2>/dev/null" && pass || fail "no idle exit"
[ ! -e "$rt5/daemon.sock" ] && pass || fail "socket left after idle exit"
"$kb" -C "$p" config set daemon.idle_timeout 1800 --no-daemon -q

# oversized and malformed frames get an error; the daemon keeps serving everyone
expect_exit 0 "start for frame tests" -- "$kb" daemon start
python3 - "$rt/daemon.sock" "$p" <<'PY'
import json, socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); return s, s.makefile("rwb")
a, fa = conn()
b, fb = conn()
fa.write(b"x" * (17 * 1024 * 1024) + b"\n"); fa.flush()
big = json.loads(fa.readline())
fa.write(b"{not json\n"); fa.flush()
bad = json.loads(fa.readline())
fa.write(b'{"jsonrpc":{},"id":3,"method":"hello"}\n{"jsonrpc":"2.0","id":4,"method":"subscribe","params":{"topics":"x"}}\n'); fa.flush()
odd = [json.loads(fa.readline()), json.loads(fa.readline())]
assert odd[0]["error"]["code"] == -32600 and odd[1]["error"]["code"] == -32602, odd
fb.write(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "artifacts.get",
                     "params": {"directory": sys.argv[2], "id": "A.1"}}).encode() + b"\n"); fb.flush()
ok = json.loads(fb.readline())
fa.write(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "hello", "params": {}}).encode() + b"\n"); fa.flush()
again = json.loads(fa.readline())
assert big["error"]["code"] == -32600 and "limit" in big["error"]["message"], big
assert bad["error"]["code"] == -32700, bad
assert ok["id"] == 7 and ok["result"]["id"] == "A.1", ok
assert again["id"] == 8 and again["result"]["protocol"] == 1, again
PY
[ $? -eq 0 ] && pass || fail "frame handling"
# watch: an edit, `kodebase start` (with its branch), a checkout and a merge each show up
g="$work/git"
mkdir -p "$g" && cp -r "$p/.kodebase" "$g/" && git -C "$g" init -q -b main &&
  git -C "$g" config user.name "Ada Lovelace" && git -C "$g" config user.email ada@example.com &&
  git -C "$g" add -A && git -C "$g" commit -qm init
"$kb" -C "$g" watch --json >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
pids+=($watcher)
subscribers() { "$kb" daemon status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
# has_event TEXT...: some line of the watch output holds every TEXT.
has_event() {
  local lines
  lines=$(cat "$work/watch.out")
  for t in "$@"; do lines=$(grep -F -- "$t" <<<"$lines"); done
  [ -n "$lines" ]
}
wait_until '[ "$(subscribers)" = 1 ]' && pass || fail "watch did not subscribe: $(cat "$work/watch.err")"
f=$(ls "$g"/.kodebase/artifacts/A.*/A.2.*/A.2.5.*.yml)
sed -i 's/^  title: .*/  title: "Funnel analytics v2"/' "$f"
wait_until 'has_event "\"id\":\"A.2.5\"" "\"cause\":\"edit\""' && pass || fail "no event for an edit: $(cat "$work/watch.out")"
git -C "$g" commit -qam "retitle"
expect_exit 0 "start while watched" -- "$kb" -C "$g" start A.2.7
wait_until 'has_event "\"id\":\"A.2.7\"" "\"cause\":\"kodebase start\"" "\"new_state\":\"in_progress\""' && pass ||
  fail "no event for kodebase start: $(tail -3 "$work/watch.out")"
git -C "$g" add -A && git -C "$g" commit -qm "start A.2.7"
git -C "$g" checkout -q main
wait_until 'has_event "\"repo.head\"" "\"branch\":\"main\"" "\"cause\":\"checkout\""' && pass ||
  fail "no repo.head for a checkout: $(tail -3 "$work/watch.out")"
wait_until 'has_event "\"id\":\"A.2.7\"" "\"cause\":\"checkout\"" "\"new_state\":\"ready\""' && pass ||
  fail "no artifact event for a checkout: $(tail -3 "$work/watch.out")"
git -C "$g" merge -q --no-ff -m "Merge A.2.7" A.2.7
wait_until 'has_event "\"id\":\"A.2.7\"" "\"cause\":\"merge\"" "\"new_state\":\"in_progress\""' && pass ||
  fail "no event for a merge: $(tail -3 "$work/watch.out")"

# commits made while no daemon watched (it was killed) are reported to the next subscriber
kill "$watcher" 2>/dev/null
victim=$(daemon_pid "$rt")
kill -9 "$victim"
wait_until "! kill -0 $victim 2>/dev/null"
"$kb" -C "$g" ready A.2.6 --no-daemon >/dev/null 2>&1 || true
"$kb" -C "$g" edit A.2.6 --title "Saved carts v2" --no-daemon -q
moved=$(cd "$g" && find .kodebase/artifacts -name 'A.2.5.*.yml' | head -1)
git -C "$g" mv "$moved" "$(dirname "$moved")/A.2.5.renamed-while-down.yml"
git -C "$g" commit -qam "while the daemon was down"
"$kb" -C "$g" watch --json >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
pids+=($watcher)
wait_until 'has_event "\"id\":\"A.2.6\"" "Saved carts v2" "\"cause\":\"commit\""' && pass ||
  fail "no catch-up event after a restart: $(cat "$work/watch.out")"
# the renamed file is one artifact that changed its path, not one deleted and one created
wait_until 'has_event "\"id\":\"A.2.5\"" "\"kind\":\"changed\"" "renamed-while-down"' && pass ||
  fail "no rename event after a restart: $(cat "$work/watch.out")"
grep '"id":"A.2.5"' "$work/watch.out" | grep -q '"kind":"deleted"' &&
  fail "a renamed artifact was reported deleted: $(cat "$work/watch.out")" || pass
kill "$watcher" 2>/dev/null

# an edit left uncommitted while no daemon ran (stopped cleanly) is reported too
"$kb" daemon stop -q
"$kb" -C "$g" edit A.2.6 --title "Saved carts v3" --no-daemon -q
"$kb" -C "$g" watch --json >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
pids+=($watcher)
wait_until 'has_event "\"id\":\"A.2.6\"" "Saved carts v3" "\"cause\":\"edit\""' && pass ||
  fail "no event for an edit made while the daemon was stopped: $(cat "$work/watch.out")"
grep -q '"id":"A.2.5"' "$work/watch.out" && fail "an unchanged artifact was reported: $(cat "$work/watch.out")" || pass
kill "$watcher" 2>/dev/null

# a subscriber that stops reading gets `resync` instead of growing the daemon's memory
"$kb" daemon stop -q
big="$work/big"
"$bin/kb_gen_tree" "$big" 1000 >/dev/null
KODEBASE_DAEMON_QUEUE=20 "$kb" daemon start -q
python3 - "$rt/daemon.sock" "$big" <<'PY' &
import json, os, socket, sys, time, glob, subprocess
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                    "params": {"topics": ["artifacts"], "directory": sys.argv[2]}}).encode() + b"\n"); f.flush()
json.loads(f.readline())
for path in glob.glob(sys.argv[2] + "/.kodebase/artifacts/**/*.yml", recursive=True):
    text = open(path).read().replace("title: ", "title: Renamed ", 1)
    open(path, "w").write(text)
time.sleep(3)  # not reading: the daemon must drop the backlog
seen = []
s.settimeout(5)
try:
    for line in f:
        seen.append(json.loads(line)["method"])
        if "resync" in seen:
            break
except Exception:
    pass
sys.exit(0 if "resync" in seen else 1)
PY
lagger=$!
pids+=($lagger)
wait "$lagger" && pass || fail "a lagging subscriber got no resync"
expect_exit 0 "daemon still serves after a lagging subscriber" -- "$kb" -C "$big" list --format ids

# systemd socket activation: a listening socket handed over as fd 3 (LISTEN_PID/LISTEN_FDS)
"$kb" daemon stop -q
rt6="$work/run6"
mkdir -m 700 "$rt6"
python3 - "$rt6" "$bin/kodebased" <<'PY' &
import os, socket, sys
rt, daemon = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX); srv.bind(os.path.join(rt, "daemon.sock")); srv.listen(8)
os.dup2(srv.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, KODEBASE_RUNTIME_DIR=rt, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execve(daemon, [daemon, "--foreground"], env)
PY
activated=$!
pids+=($activated)
wait_until "[ -n \"\$(cat '$rt6/daemon.lock' 2>/dev/null)\" ]"
expect_exit 0 "served through an inherited socket" -- env KODEBASE_RUNTIME_DIR="$rt6" KODEBASE_NO_AUTOSTART=1 "$kb" -C "$p" list --format ids
[ "$(daemon_pid "$rt6")" = "$activated" ] && pass || fail "another daemon answered: $(daemon_pid "$rt6") vs $activated"
kill -TERM "$activated"
wait_until "! kill -0 $activated 2>/dev/null"
[ -S "$rt6/daemon.sock" ] && pass || fail "an inherited socket belongs to systemd and must stay"

# projects are served side by side: while one project's first load waits (a writer in another
# process holds its lock until it reads a line from a FIFO), other projects are answered
expect_exit 0 "start for the lanes" -- "$kb" daemon start -q
slow="$work/slow"
cp -r "$src/examples/webshop" "$slow"
mkfifo "$work/fifo"
touch "$slow/.kodebase/.lock"
flock -x "$slow/.kodebase/.lock" -c "read line <'$work/fifo'" &
holder=$!
pids+=($holder)
wait_until '! flock -n -x "$slow/.kodebase/.lock" true' && pass || fail "the lock holder did not start"
running() { "$kb" daemon status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_in_progress"])'; }
"$kb" -C "$slow" list --format ids >"$work/slow.out" 2>&1 &
slowpid=$!
pids+=($slowpid)
wait_until '[ "$(running)" = 1 ]' && pass || fail "the slow load is not running: $(cat "$work/slow.out")"
expect_exit 0 "another project while one waits" -- timeout 30 "$kb" -C "$p" show A.1.2 --json
contains "$out" '"id":"A.1.2"' "answered while another project loads"
kill -0 "$slowpid" 2>/dev/null && pass || fail "the slow load ended early: $(cat "$work/slow.out")"
echo go >"$work/fifo"
wait "$holder"
wait "$slowpid" && pass || fail "the slow load failed: $(cat "$work/slow.out")"
grep -qx A.2.5 "$work/slow.out" && pass || fail "the slow load missed A.2.5: $(cat "$work/slow.out")"
"$kb" daemon stop -q

# polling instead of inotify (network file systems): an edit in place that keeps the size, a
# commit and a checkout are all seen, and reach `watch`
KODEBASE_DAEMON_WATCH=poll "$kb" daemon start -q
expect_exit 0 "list while polling" -- "$kb" -C "$g" list --format ids
expect_exit 0 "status while polling" -- "$kb" daemon status --json
contains "$out" '"watch":"poll"' "the project is polled"
"$kb" -C "$g" watch --json >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
pids+=($watcher)
wait_until '[ "$(subscribers)" = 1 ]' && pass || fail "watch did not subscribe while polling"
f=$(ls "$g"/.kodebase/artifacts/A.*/A.2.*/A.2.6.*.yml)
python3 - "$f" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
with open(path, "r+") as f:  # same file, same size: only the time and the bytes differ
    f.write(text.replace("Saved carts v3", "Saved carts v4", 1))
PY
expect_exit 0 "show after an edit in place" -- "$kb" -C "$g" show A.2.6 --json
contains "$out" "Saved carts v4" "an edit in place seen while polling"
wait_until 'has_event "\"id\":\"A.2.6\"" "Saved carts v4"' && pass ||
  fail "no event for an edit while polling: $(cat "$work/watch.out")"
git -C "$g" commit -qam "v4" && git -C "$g" checkout -q -b polled HEAD~1
expect_exit 0 "show after a checkout" -- "$kb" -C "$g" show A.2.6 --json
[[ "$out" != *"Saved carts v4"* ]] && pass || fail "a checkout not seen while polling: $out"
wait_until 'has_event "\"repo.head\"" "\"branch\":\"polled\""' && pass ||
  fail "no repo.head while polling: $(tail -3 "$work/watch.out")"
kill "$watcher" 2>/dev/null
"$kb" daemon stop -q

expect_exit 0 "start again" -- "$kb" daemon start -q
expect_exit 0 "stop" -- "$kb" daemon stop
contains "$out" "stopped" "stop message"
expect_exit 1 "status when stopped" -- "$kb" daemon status
finish
