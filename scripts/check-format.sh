#!/usr/bin/env bash
# Fails, naming each file and line, when a C++ source or header of the project is not as
# clang-format (.clang-format) writes it. Run by the test suite; fix with clang-format -i.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "kodebase: clang-format is missing; scripts/deps.sh installs it" >&2
  exit 1
fi
# The project's own sources: git's list in a checkout, else the source folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp')
else
  mapfile -t files < <(find cli core daemon bench tests -name node_modules -prune -o \
    \( -name '*.cpp' -o -name '*.hpp' \) -print)
fi
[ ${#files[@]} -gt 0 ] || { echo "kodebase: no C++ sources found" >&2; exit 1; }
if ! clang-format --dry-run -Werror "${files[@]}"; then
  echo "kodebase: sources above are not clang-formatted: run clang-format -i on them" >&2
  exit 1
fi
echo "${#files[@]} C++ files are clang-formatted"
