#!/usr/bin/env bash
# 20 kodebase processes change one project at once: every event lands, every file stays valid,
# and the outcome equals running the same work one process after another.
# usage: concurrency_test.sh <bin-dir>
set -uo pipefail
kb="$1/kodebase"
source "$(dirname "$0")/lib.sh"
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)"
n=20

# A project with one milestone and n ready issues (the parents stay ready until work starts).
make_project() {
  "$kb" -C "$1" init -q && "$kb" -C "$1" add --title "Shop" --vision "Sell" --in-scope x \
    --out-of-scope y --success z -q >/dev/null && "$kb" -C "$1" add A --title "Payments" \
    --deliverable "Client" -q >/dev/null || return 1
  for i in $(seq 1 $n); do
    "$kb" -C "$1" add A.1 --title "Issue number $i" --criterion "Works" -q >/dev/null || return 1
  done
  for id in A A.1 $(seq -f "A.1.%g" 1 $n); do "$kb" -C "$1" ready "$id" -q >/dev/null || return 1; done
}

# One worker's whole job on issue A.1.$2: edit, start, submit, complete.
work_on() {
  local dir=$1 id="A.1.$2"
  "$kb" -C "$dir" edit "$id" --priority high -q >/dev/null &&
    "$kb" -C "$dir" start "$id" --no-branch -q >/dev/null &&
    "$kb" -C "$dir" submit "$id" -q >/dev/null &&
    "$kb" -C "$dir" complete "$id" --result "Done $2" -q >/dev/null
}

# Everything that must not depend on timing: per artifact file, its priority and the
# sequence of events and triggers (timestamps differ between runs, so they are left out).
outcome() {
  local f
  for f in $(cd "$1/.kodebase/artifacts" && find . -name '*.yml' | sort); do
    echo "$f: $(grep -E '^ *(priority|- event|trigger):' "$1/.kodebase/artifacts/$f" | tr -s ' \n' ' ')"
  done
}
par="$work/parallel" ser="$work/serial"
kill_dir="$work/killed"
mkdir -p "$par" && make_project "$par" && cp -a "$par/." "$ser/" && cp -a "$par/." "$kill_dir/" &&
  pass || fail "setting up the projects"

declare -A worker
for i in $(seq 1 $n); do
  work_on "$par" "$i" &
  worker[$i]=$!
  pids+=("$!")
done
for i in $(seq 1 $n); do
  wait "${worker[$i]}" && pass || fail "worker $i failed"
done
for i in $(seq 1 $n); do work_on "$ser" "$i" || fail "serial worker $i failed"; done

expect_exit 0 "valid after concurrent work" -- "$kb" -C "$par" validate --strict
par_outcome=$(outcome "$par")
ser_outcome=$(outcome "$ser")
[ "$par_outcome" = "$ser_outcome" ] && pass ||
  fail "concurrent outcome differs from the serial replay:$(diff <(echo "$ser_outcome") <(echo "$par_outcome"))"
# No lost or doubled event: 5 per issue, and exactly one progress cascade per parent.
[ "$(grep -c "event: in_progress trigger: branch_created - event: in_review trigger: pr_ready - event: completed trigger: pr_merged $" <<<"$par_outcome")" -eq $n ] &&
  pass || fail "not every issue has its full history: $par_outcome"
[ "$(grep -o "children_started" <<<"$par_outcome" | wc -l)" -eq 2 ] && pass ||
  fail "the milestone and initiative must each start exactly once: $par_outcome"
[ -z "$(find "$par/.kodebase" -name '.*.tmp-*' -o -name '.*.kb-tmp')" ] && pass || fail "temporary files left"
[ ! -s "$par/.kodebase/.journal" ] && pass || fail "a transaction was left in the journal"

# Writers killed (SIGKILL, server process included) at random moments: the next writer finds
# every file old or new and the set of files of each write all old or all new.
# Kill times spread over how long one such write takes on this machine and build.
t0=$(date +%s%N)
"$kb" -C "$kill_dir" start A.1.1 --no-branch --no-daemon --dry-run -q >/dev/null 2>&1
span=$(((($(date +%s%N) - t0) / 1000000) * 3 / 2 + 1))
for i in $(seq 1 $n); do
  setsid "$kb" -C "$kill_dir" start "A.1.$i" --no-branch --no-daemon -q >/dev/null 2>&1 &
  victim=$!
  sleep "$(printf '%d.%03d' $((RANDOM % span / 1000)) $((RANDOM % span % 1000)))"
  kill -9 -- "-$victim" 2>/dev/null
  wait "$victim" 2>/dev/null
done
expect_exit 0 "the next writer recovers" -- "$kb" -C "$kill_dir" edit A --priority high -q --no-daemon
expect_exit 0 "every file valid after the kills" -- "$kb" -C "$kill_dir" validate --no-daemon
[ -z "$(find "$kill_dir/.kodebase" -name '.*.kb-tmp')" ] && pass || fail "temporaries left after the kills"
[ ! -s "$kill_dir/.kodebase/.journal" ] && pass || fail "the journal was not recovered"
# A started issue starts its milestone in the same write: never one without the other.
started=$("$kb" -C "$kill_dir" list --state in_progress --type issue --format ids --no-daemon | wc -l)
milestone=$("$kb" -C "$kill_dir" show A.1 --json --no-daemon | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
if [ "$started" -eq 0 ] || [ "$milestone" = in_progress ]; then pass; else
  fail "$started issues started but milestone A.1 is $milestone"
fi
echo "killed writers: $started of $n starts landed"
finish
