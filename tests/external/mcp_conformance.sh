#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, pinned) against
# `kodebase mcp --conformance-fixtures`, reached through a stdio→Streamable-HTTP bridge
# (supergateway, pinned), on Node.js 22 from tests/external/node22. Scenarios expected to fail
# are listed, with reasons, in mcp_conformance_baseline.yml; the suite fails on any other
# failure and on a listed scenario that now passes.
# Usage: mcp_conformance.sh KODEBASE_BIN EXAMPLE_PROJECT_DIR
set -uo pipefail
kb=$(realpath "$1") example=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
node22="$here/node22/node_modules/.bin/node"
[ -x "$node22" ] || { echo "Node.js 22 is missing: run scripts/external.sh" >&2; exit 1; }
work=$(mktemp -d)
gateway=
cleanup() {
  [ -n "$gateway" ] && kill "$gateway" 2>/dev/null
  pid=$(cat "$work/run/daemon.lock" 2>/dev/null) && [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" \
  XDG_CACHE_HOME="$work/cache" KODEBASE_RUNTIME_DIR="$work/run" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
cp -r "$example" "$work/project"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$node22" "$here/node_modules/supergateway/dist/index.js" \
  --stdio "$kb mcp --conformance-fixtures --project $work/project" \
  --outputTransport streamableHttp --stateful --port "$port" --logLevel none \
  </dev/null >"$work/gateway.log" 2>&1 &
gateway=$!
for _ in $(seq 100); do # up to 10 s for the bridge to listen
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
"$node22" "$here/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
  --url "http://127.0.0.1:$port/mcp" --expected-failures "$here/mcp_conformance_baseline.yml" \
  --suite all -o "$work/results"
code=$?
[ "$code" -eq 0 ] || { echo "--- bridge log"; tail -50 "$work/gateway.log"; }
exit "$code"
