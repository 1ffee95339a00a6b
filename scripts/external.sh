#!/usr/bin/env bash
# Installs the pinned npm packages the external test suites use into tests/external/node_modules
# (tests/external/package-lock.json) and Node.js 22 into tests/external/node22 (the MCP
# conformance suite and the MCP Inspector need it; the machine's Node.js is 20), each when
# missing or out of date. Nothing here is shipped or needed to build kodebase.
set -euo pipefail
cd "$(dirname "$0")/../tests/external"
if ! command -v npm >/dev/null; then
  echo "kodebase: npm is missing; the external test suites need Node.js 20 with npm" >&2
  exit 1
fi
# The name and version of every package a lock file lists (optional ones, which depend on the
# platform, aside).
pinned() {
  python3 -c 'import json,sys; print(sorted((k, v.get("version")) for k, v in json.load(open(sys.argv[1]))["packages"].items() if k and not v.get("optional")))' "$1"
}
for dir in . node22; do
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
    cmp -s <(pinned "$dir/package-lock.json") <(pinned "$dir/node_modules/.package-lock.json"); then
    continue
  fi
  echo "kodebase: installing the external test suites' npm packages in tests/external/$dir" >&2
  # `install --no-save` installs exactly what the lock file pins and leaves it as it is; unlike
  # `ci`, it tolerates an optional dependency the registry no longer has (one of vite's, pulled
  # in by the MCP Inspector).
  (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null)
done
