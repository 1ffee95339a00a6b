#!/usr/bin/env bash
# Parallel work in figures: the merge driver on one artifact file next to `git merge-file` (and
# /bin/true, the cost of a process, as the floor), a merge of two branches that each started
# half the startable issues of a 1,000-artifact tree (the files both changed merged by the
# driver), and `renumber` of a duplicate in a milestone of 100 issues. Figures only; nothing is asserted.
# usage: bench/merge.sh [bin-dir]   (default: build/release/bin, brought up to date)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release/bin}
if [ -z "${1:-}" ]; then
  cmake --preset release >/dev/null && cmake --build --preset release >/dev/null
fi
bin=$(cd "$bin" && pwd)
kb="$bin/kodebase"
work=$(mktemp -d)
export KODEBASE_RUNTIME_DIR="$work/run" XDG_STATE_HOME="$work/state" GIT_CONFIG_NOSYSTEM=1
export KODEBASE_ACTOR="Bench Runner (bench@example.com)" GIT_AUTHOR_NAME=Bench GIT_COMMITTER_NAME=Bench
export GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_EMAIL=bench@example.com
trap '"$kb" daemon stop -q >/dev/null 2>&1; rm -rf "$work"' EXIT
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

p="$work/p"
"$bin/kb_gen_tree" "$p" 1000 >/dev/null
git -C "$p" init -q -b main && "$kb" -C "$p" hooks install -q >/dev/null
git -C "$p" add -A && git -C "$p" commit -qm tree

# One file: a title changed on one side, the priority on the other.
f=$(ls "$p"/.kodebase/artifacts/A.*/A.1.*/A.1.1.*.yml)
cp "$f" "$work/o"
sed 's/^  title: .*/  title: "Changed here"/' "$f" >"$work/a"
sed 's/^  priority: .*/  priority: critical/' "$f" >"$work/b"
echo "one artifact file ($(wc -c <"$f") bytes)"
one_driver=$("$bin/kb_bench_cmd" "  kodebase merge-driver" 100 -- "$kb" merge-driver "$work/o" "$work/a" "$work/b" 7 x.yml)
one_lines=$("$bin/kb_bench_cmd" "  git merge-file" 100 -- git merge-file -p "$work/a" "$work/o" "$work/b")
one_floor=$("$bin/kb_bench_cmd" "  sh -c true (floor)" 100 -- sh -c true)
printf '%s\n' "$one_driver" "$one_lines" "$one_floor"
# The driver's own cost: its median over the floor's (git starts every driver through sh -c).
median_us() { awk '{for (i = 1; i < NF; i++) if ($i == "median") printf "%d", $(i + 1) * 1000}' <<<"$1"; }
echo "  the driver's own cost: $((($(median_us "$one_driver") - $(median_us "$one_floor")))) ms per 1,000 files (one file's median minus the floor's)"

# Two branches, each starting every other startable issue and changing one field of the same
# 200 files (titles on one, priorities on the other), merged: the driver merges every file
# both changed.
ids=$("$kb" -C "$p" next --json --limit 1000 |
  python3 -c 'import json, sys; print(" ".join(a["id"] for a in json.load(sys.stdin) if a["startable"]))')
set -- $ids
half=$(($# / 2))
[ "$half" -ge 4 ] || { echo "the tree has only $# startable issues" >&2; exit 1; }
git -C "$p" checkout -qb x
odd=() even=()
for ((i = 1; i <= 2 * half; i += 2)); do odd+=("${!i}"); j=$((i + 1)); even+=("${!j}"); done
for id in "${odd[@]}"; do "$kb" -C "$p" start "$id" --no-branch -q >/dev/null; done
files=$(git -C "$p" ls-files '.kodebase/artifacts/*.yml' | sed -n 1,200p)
(cd "$p" && sed -i 's/^  title: "\(.*\)"$/  title: "\1 (x)"/' $files)
git -C "$p" commit -qam "$half starts and 200 titles on x"
git -C "$p" checkout -q main && git -C "$p" checkout -qb y
for id in "${even[@]}"; do "$kb" -C "$p" start "$id" --no-branch -q >/dev/null; done
(cd "$p" && sed -i 's/^  priority: .*/  priority: critical/' $files)
git -C "$p" commit -qam "$half starts and 200 priorities on y"
both=$(git -C "$p" diff --name-only main x | sort | comm -12 - <(git -C "$p" diff --name-only main y | sort) | wc -l)
# The same merge three times, hooks off (they are timed apart from the merge): with the driver,
# with `git merge-file` as the driver (git's own merge of lines, one process per file as well) and
# with `true` (the floor: what git's running any driver costs). The first minus the others is
# what the driver adds.
pre=$(git -C "$p" rev-parse HEAD)
merge_with() { # merge_with DRIVER-COMMAND: ms for `git merge x`, then back to y's commit
  local t0 ms
  t0=$(date +%s%N)
  git -C "$p" -c core.hooksPath=/dev/null -c "merge.kodebase.driver=$1" merge -q --no-edit x >/dev/null 2>&1
  ms=$(ms_since "$t0")
  git -C "$p" merge --abort >/dev/null 2>&1 || true # nothing to abort after a clean merge
  git -C "$p" reset -q --hard "$pre"
  echo "$ms"
}
driver=$(git -C "$p" config merge.kodebase.driver)
"$kb" -C "$p" list -q >/dev/null # a warm daemon, as in everyday use
merge_with true >/dev/null       # and warm caches of git's, so that no order is favoured
# Five rounds of the three, interleaved; the median of each.
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
# git's built-in merge of lines, in its own process: no driver at all (info/attributes wins).
builtin_merge() {
  echo '.kodebase/artifacts/**/*.yml merge=text' >"$p/.git/info/attributes"
  merge_with true
  rm "$p/.git/info/attributes"
}
runs_driver=() runs_lines=() runs_floor=() runs_builtin=()
for _ in 1 2 3 4 5; do
  runs_driver+=("$(merge_with "$driver")")
  runs_lines+=("$(merge_with "git merge-file --marker-size=%L %A %O %B")")
  runs_floor+=("$(merge_with "true")")
  runs_builtin+=("$(builtin_merge)")
done
ms_driver=$(median "${runs_driver[@]}")
ms_lines=$(median "${runs_lines[@]}")
ms_floor=$(median "${runs_floor[@]}")
ms_builtin=$(median "${runs_builtin[@]}")
echo "merge of two branches of $half starts and 200 edited files each ($both files changed on both sides), median of 5:"
echo "  with the kodebase driver      $ms_driver ms"
echo "  with git merge-file as driver $ms_lines ms"
echo "  with true as driver (floor)   $ms_floor ms"
echo "  with no driver (git built in)  $ms_builtin ms (conflicts left in the files)"
echo "  the driver adds $(((ms_driver - ms_builtin) * 1000 / both)) ms per 1,000 files over git's built-in merge, $(((ms_driver - ms_floor) * 1000 / both)) ms over true, $(((ms_driver - ms_lines) * 1000 / both)) ms over git merge-file"
git -C "$p" merge -q --no-edit x >/dev/null 2>&1
echo "  $(git -C "$p" diff --name-only --diff-filter=U | wc -l) left conflicted by the driver (with hooks)"

# renumber: a milestone of 100 issues, one ID on two files.
git -C "$p" checkout -q main
m="$work/m"
mkdir -p "$m" && git -C "$m" init -q -b main && (
  cd "$m" && "$kb" init -q && "$kb" add --title "Shop" --vision v --in-scope x --out-of-scope y --success z -q &&
    "$kb" add A --title "Payments" --deliverable d -q &&
    for i in $(seq 1 100); do "$kb" add A.1 --title "Issue number $i" --criterion x -q; done
) >/dev/null
dir=$(ls -d "$m"/.kodebase/artifacts/A.*/A.1.*)
sed 's/^  title: .*/  title: "A second issue fifty"/' "$dir"/A.1.50.*.yml >"$dir/A.1.50.second-issue-fifty.yml"
t0=$(date +%s%N)
"$kb" -C "$m" renumber A.1.50 --file "$dir/A.1.50.second-issue-fifty.yml" -q >/dev/null
echo "renumber of a duplicate among 100 issues: $(ms_since "$t0") ms (process included)"
