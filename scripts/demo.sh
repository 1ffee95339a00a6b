#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds kodebase (release) and shows the status
# dashboard of the bundled example project. Needs no Redis and no GitHub token.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target kodebase kodebased
echo
exec build/release/bin/kodebase -C examples/webshop status "$@"
