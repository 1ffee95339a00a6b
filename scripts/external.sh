#!/usr/bin/env bash
# Installs the pinned npm packages the external test suites use (tests/external/package-lock.json)
# into tests/external/node_modules, when missing or out of date. Nothing here is shipped or
# needed to build kodebase.
set -euo pipefail
cd "$(dirname "$0")/../tests/external"
if ! command -v npm >/dev/null; then
  echo "kodebase: npm is missing; the external test suites need Node.js 20 with npm" >&2
  exit 1
fi
if [ -f node_modules/.package-lock.json ] && cmp -s <(python3 -c 'import json,sys; print(sorted((k, v.get("version")) for k, v in json.load(open(sys.argv[1]))["packages"].items() if k))' package-lock.json) \
  <(python3 -c 'import json,sys; print(sorted((k, v.get("version")) for k, v in json.load(open(sys.argv[1]))["packages"].items() if k))' node_modules/.package-lock.json); then
  exit 0
fi
echo "kodebase: installing the external test suites' npm packages" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
