#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds everything with ASan+UBSan, the clang fuzz
# targets and the release build, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/external.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
cmake --preset release >/dev/null
cmake --build --preset release
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --test-dir build/dev --output-on-failure -j2 --timeout 600
