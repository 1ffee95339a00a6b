#!/usr/bin/env bash
# `kodebase mcp` under the MCP Inspector's CLI (@modelcontextprotocol/inspector, pinned, on
# Node.js 22): the tool schemas pass its portability lint (`tools/list --strict`), a tool call
# works, and a client that probes server/discover first falls back to initialize.
# Usage: mcp_inspector.sh KODEBASE_BIN EXAMPLE_PROJECT_DIR
set -uo pipefail
kb=$(realpath "$1") example=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
node22="$here/node22/node_modules/.bin/node"
[ -x "$node22" ] || { echo "Node.js 22 is missing: run scripts/external.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'pid=$(cat "$work/run/daemon.lock" 2>/dev/null) && [ -n "$pid" ] && kill -9 "$pid"; rm -rf "$work"' EXIT
mkdir -p "$work/home"
cp -r "$example" "$work/project"
# The inspector passes the server only the variables named with -e.
vars=(HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state"
  XDG_CACHE_HOME="$work/cache" KODEBASE_RUNTIME_DIR="$work/run" KODEBASE_ACTOR="CI (ci@example.com)")
server_env=()
for v in "${vars[@]}"; do server_env+=(-e "$v"); done
inspect() {
  HOME="$work/home" timeout 120 "$node22" \
    "$here/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js" --cli \
    "${server_env[@]}" "$kb" mcp --project "$work/project" "$@"
}
failures=0
check() { # check DESCRIPTION WANTED_EXIT -- inspector args...
  local what=$1 want=$2
  shift 3
  inspect "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"; head -c 2000 "$work/err"; failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}
check "tools/list --strict (schema portability)" 0 -- --method tools/list --strict
if [ -s "$work/err" ]; then # the lint is silent when it finds nothing
  echo "FAIL: the lint found something:"; cat "$work/err"; failures=$((failures + 1))
fi
check "tools/call list_artifacts" 0 -- --method tools/call --tool-name list_artifacts \
  --tool-args-json '{"state":["ready"],"limit":3}' --format json -q
grep -q '"matched":11' "$work/out" || { echo "FAIL: list_artifacts result: $(head -c 500 "$work/out")"; failures=$((failures + 1)); }
check "a refused transition is a tool error (exit 5)" 5 -- --method tools/call \
  --tool-name transition_artifact --tool-args-json '{"id":"A.1.1","action":"start"}' -q
check "server/discover probe falls back to initialize" 0 -- --method tools/list --protocol-era auto
[ -S "$work/run/daemon.sock" ] || { echo "FAIL: the server did not use the test's daemon"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] && echo "all inspector checks passed"
exit $((failures > 0))
