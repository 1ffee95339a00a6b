#!/usr/bin/env bash
# Writers killed at every rename of a one- and a two-file change (strace fault injection),
# then a hand edit or a branch switch, then other commands: an interrupted change is finished
# only where its files still hold what it was computed from, otherwise discarded with a
# message; a hand edit and another branch's files are never overwritten; readers never see
# half of a two-file change; temporaries are cleaned up and ignored by git.
# usage: recovery_test.sh <bin-dir>
set -uo pipefail
kb="$1/kodebase"
source "$(dirname "$0")/lib.sh"
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" KODEBASE_NO_AUTOSTART=1
command -v strace >/dev/null || { echo "strace is missing (scripts/deps.sh installs it)"; exit 1; }

# A git project: initiative A, milestone A.1, issues A.1.1 and A.1.2, all committed.
make_project() {
  local dir=$1
  mkdir -p "$dir" && git -C "$dir" init -q -b main && git -C "$dir" config user.name Ada &&
    git -C "$dir" config user.email ada@example.com &&
    "$kb" -C "$dir" init -q --no-daemon &&
    "$kb" -C "$dir" add --title "Shop" --vision "Sell" --in-scope x --out-of-scope y \
      --success z -q --no-daemon >/dev/null &&
    "$kb" -C "$dir" add A --title "Payments" --deliverable "Client" -q --no-daemon >/dev/null &&
    "$kb" -C "$dir" add A.1 --title "First issue" --criterion "Works" -q --no-daemon >/dev/null &&
    "$kb" -C "$dir" add A.1 --title "Second issue" --criterion "Works" -q --no-daemon >/dev/null &&
    git -C "$dir" add -A && git -C "$dir" commit -qm "artifacts"
}

file_of() { find "$1/.kodebase/artifacts" -name "$2.*yml" -o -name "$2.yml" | head -1; }

# Runs a kodebase command killed (SIGKILL) at its N-th rename; true when strace saw the kill.
killed_at_rename() {
  local n=$1
  shift
  strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
    -e inject=rename,renameat,renameat2:signal=KILL:when="$n" "$kb" "$@" >/dev/null 2>&1
  [ $? -ne 0 ]
}

trials=0 trial_failures=0
trial_fail() { trial_failures=$((trial_failures + 1)); fail "$@"; }

# 1. One-file change killed at its rename, then a hand edit, then an unrelated write.
dir="$work/one"
make_project "$dir" && pass || fail "setting up $dir"
f=$(file_of "$dir" A.1.1)
killed_at_rename 1 -C "$dir" edit A.1.1 --title "Killed title" --no-daemon && pass ||
  fail "the edit was not killed at its rename"
[ -s "$dir/.kodebase/.journal" ] && pass || fail "the killed edit left no journal"
sed -i 's/^  title: .*/  title: Hand edited title/' "$f"
trials=$((trials + 1))
expect_exit 0 "an unrelated write after the kill" -- "$kb" -C "$dir" edit A.1.2 --priority high --no-daemon
grep -q "Hand edited title" "$f" && pass || trial_fail "the hand edit was overwritten: $(grep title: "$f")"
grep -q "Killed title" "$f" && trial_fail "the interrupted edit was rolled forward over the hand edit" || pass
contains "$err" "discarded" "the discarded change is reported"
[ ! -s "$dir/.kodebase/.journal" ] && pass || fail "the journal stays after recovery"
[ -z "$(find "$dir/.kodebase" -name '.*.kb-tmp')" ] && pass || fail "a temporary stays after recovery"

# 2. The same kill, then nothing changed by hand: the next reader (not a writer) finishes it.
killed_at_rename 1 -C "$dir" edit A.1.1 --title "Finished title" --no-daemon && pass ||
  fail "the second edit was not killed"
trials=$((trials + 1))
expect_exit 0 "a read after the kill" -- "$kb" -C "$dir" show A.1.1 --json --no-daemon
contains "$out" "Finished title" "the reader finishes the interrupted change"
[ ! -s "$dir/.kodebase/.journal" ] && pass || trial_fail "a reader left the journal in place"

# 3. Killed at its rename, then a branch switch: the other branch's file is left alone.
git -C "$dir" checkout -q -- . && git -C "$dir" commit -qam "state" >/dev/null 2>&1
git -C "$dir" checkout -qb other
sed -i 's/^  title: .*/  title: Other branch title/' "$f"
git -C "$dir" commit -qam "other title"
git -C "$dir" checkout -q main
killed_at_rename 1 -C "$dir" edit A.1.1 --title "Main only title" --no-daemon && pass ||
  fail "the edit on main was not killed"
git -C "$dir" checkout -q other 2>/dev/null || git -C "$dir" checkout -qf other
trials=$((trials + 1))
expect_exit 0 "a write on the other branch" -- "$kb" -C "$dir" edit A.1.2 --priority low --no-daemon
grep -q "Other branch title" "$f" && pass ||
  trial_fail "main's interrupted change was written onto branch other: $(grep title: "$f")"
git -C "$dir" checkout -q main 2>/dev/null

# 4. A two-file change (link) killed at the first and at the second rename, then reads and
#    writes: both sides or neither, never one.
for n in 1 2; do
  d="$work/link$n"
  make_project "$d" || fail "setting up $d"
  killed_at_rename "$n" -C "$d" link A.1.2 --blocked-by A.1.1 --no-daemon && pass ||
    fail "link was not killed at rename $n"
  trials=$((trials + 1))
  expect_exit 0 "list after the killed link ($n)" -- "$kb" -C "$d" list --json --no-daemon
  blocks=$(grep -c "A.1.2" "$(file_of "$d" A.1.1)")
  blocked=$(grep -c "A.1.1" "$(file_of "$d" A.1.2)")
  if { [ "$blocks" -gt 0 ] && [ "$blocked" -gt 0 ]; } || { [ "$blocks" -eq 0 ] && [ "$blocked" -eq 0 ]; }; then
    pass
  else
    trial_fail "half of the link is visible after a kill at rename $n ($blocks/$blocked)"
  fi
  expect_exit 0 "valid after the killed link ($n)" -- "$kb" -C "$d" validate --strict --no-daemon
done

# 5. A two-file change killed after its first rename, then one of its files edited by hand:
#    the rest is discarded, the hand edit stays.
d="$work/link-hand"
make_project "$d" || fail "setting up $d"
killed_at_rename 2 -C "$d" link A.1.2 --blocked-by A.1.1 --no-daemon || fail "link not killed"
second=$(grep -l "kb-tmp" "$d/.kodebase/.journal" >/dev/null && tail -2 "$d/.kodebase/.journal" | head -1)
pending=$(find "$d/.kodebase" -name '.*.kb-tmp' | head -1)
if [ -n "$pending" ]; then
  target="$(dirname "$pending")/$(basename "$pending" .kb-tmp | sed 's/^\.//')"
  echo "# hand edit" >>"$target"
  trials=$((trials + 1))
  expect_exit 0 "a read after the hand edit" -- "$kb" -C "$d" list --no-daemon
  grep -q "# hand edit" "$target" && pass || trial_fail "the hand edit of $target was overwritten"
  [ -z "$(find "$d/.kodebase" -name '.*.kb-tmp')" ] && pass || trial_fail "the temporary stays"
else
  fail "no pending temporary after a kill at the second rename ($second)"
fi

# 6. Temporaries left by a killed atomic write are ignored by git and cleaned up.
d="$work/temps"
make_project "$d" || fail "setting up $d"
mi=$(dirname "$(file_of "$d" A.1)")
echo junk >"$mi/.A.1.1.first-issue.yml.kb-tmp"
echo junk >"$d/.kodebase/..gitignore.tmp-AbC123"
[ -z "$(git -C "$d" status --porcelain --untracked-files=all .kodebase)" ] && pass ||
  fail "git sees kodebase's temporaries: $(git -C "$d" status --porcelain --untracked-files=all)"
expect_exit 0 "a write with stray temporaries" -- "$kb" -C "$d" edit A.1.1 --priority high --no-daemon
expect_exit 0 "a full read with stray temporaries" -- "$kb" -C "$d" list --no-daemon
[ -z "$(find "$d/.kodebase" -name '.*.kb-tmp' -o -name '.*.tmp-*')" ] && pass ||
  fail "stray temporaries were not cleaned up: $(find "$d/.kodebase" -name '.*tmp*')"

# 7. The daemon's warm index: a one-shot writer killed between the renames of a link while
#    the daemon serves the project; the daemon's next answer settles the change and shows both
#    sides of the link.
d="$work/warm"
make_project "$d" || fail "setting up $d"
expect_exit 0 "the daemon loads the project" -- env -u KODEBASE_NO_AUTOSTART "$kb" -C "$d" list -q
killed_at_rename 1 -C "$d" link A.1.2 --blocked-by A.1.1 --no-daemon || fail "link not killed"
trials=$((trials + 1))
expect_exit 0 "the daemon answers after the kill" -- env -u KODEBASE_NO_AUTOSTART "$kb" -C "$d" show A.1.2 --json
contains "$out" '"blocked_by":["A.1.1"]' "the daemon shows the finished link"
[ ! -s "$d/.kodebase/.journal" ] && pass || trial_fail "the daemon left the journal unsettled"
expect_exit 0 "the daemon stops" -- env -u KODEBASE_NO_AUTOSTART "$kb" daemon stop -q

echo "crash-recovery trials: $trials, failures: $trial_failures"
finish
