# Shared by the end-to-end scripts: a private work directory and environment, the processes
# started in the background (ended by pid on exit), and small assertion helpers.
work=$(mktemp -d)
pids=()
# A daemon the CLI autostarts writes its pid into its lock file; every one started in this
# test's runtime directories ($work/run*) is ended like the rest.
stop_daemon() {
  local lock pid
  for lock in "$work"/run*/daemon.lock; do
    pid=$(cat "$lock" 2>/dev/null) && [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  done
  return 0
}
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; stop_daemon; rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" \
  XDG_CACHE_HOME="$work/cache" KODEBASE_RUNTIME_DIR="$work/run" GIT_CONFIG_NOSYSTEM=1 NO_COLOR=
unset KODEBASE_ACTOR
mkdir -p "$HOME"
failures=0 passes=0

pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect_exit CODE DESCRIPTION -- command...: runs the command, keeping stdout/stderr in $out/$err.
expect_exit() {
  local want=$1 what=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  out=$(cat "$work/out") err=$(cat "$work/err")
  if [ "$got" -eq "$want" ]; then pass; else fail "$what: exit $got, want $want; stderr: $err"; fi
}
contains() { if [[ "$1" == *"$2"* ]]; then pass; else fail "$3: missing '$2' in: ${1:0:400}"; fi; }
# finish: prints the tally and fails when anything failed.
finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
