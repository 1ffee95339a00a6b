#!/usr/bin/env bash
# Parallel work in git: two clones of one bare origin, one branch per issue. Starts of sibling
# issues merged in both orders, rebased and pulled with --rebase never conflict in .kodebase/;
# fields edited on two branches merge, the same field changed two ways is a conflict git
# reports; a merge made without the driver leaves files that still list and `resolve` fixes;
# two branches' adds of one ID are reported and `renumber` repairs them; two worktrees work
# at once. Prints the driver's time per file.
# usage: parallel_test.sh <bin-dir>
set -uo pipefail
kb="$1/kodebase"
source "$(dirname "$0")/lib.sh"
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" GIT_AUTHOR_DATE GIT_COMMITTER_DATE
git config --global user.name "Ada Lovelace"
git config --global user.email ada@example.com
git config --global init.defaultBranch main
git config --global pull.rebase false

origin="$work/origin.git" alice="$work/alice" bob="$work/bob"
git init -q --bare "$origin"
git clone -q "$origin" "$alice" 2>/dev/null
(
  cd "$alice" && "$kb" init -q && "$kb" add --title "Shop" --vision "Sell" --in-scope x \
    --out-of-scope y --success z -q && "$kb" add A --title "Payments" --deliverable "Client" -q &&
    for t in "Provider client" "Payment tables" "Refunds"; do "$kb" add A.1 --title "$t" --criterion "Works" -q; done &&
    for id in A A.1 A.1.1 A.1.2; do "$kb" ready "$id" -q; done
) >/dev/null && pass || fail "setting up alice's project"
[ -f "$alice/.gitattributes" ] && grep -q "merge=kodebase" "$alice/.gitattributes" && pass ||
  fail "init did not set up the merge driver's .gitattributes"
git -C "$alice" config --get merge.kodebase.driver | grep -q "merge-driver %O %A %B %L %P" && pass ||
  fail "init did not register the merge driver in git config"
git -C "$alice" add -A && git -C "$alice" commit -qm "artifacts" && git -C "$alice" push -q origin main 2>/dev/null
state() { "$kb" -C "$1" show "$2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
events_of() { grep -c "^    - event: $3" "$(ls "$1"/.kodebase/artifacts/A.*/$2 2>/dev/null || ls "$1"/.kodebase/artifacts/A.*/A.1.*/$2)"; }
ai=$(ls -d "$alice"/.kodebase/artifacts/A.*)
a1=$(ls -d "$ai"/A.1.*)
clean_kodebase() { [ -z "$(git -C "$1" status --porcelain --untracked-files=no .kodebase)" ]; }

# 1. Parallel starts of two sibling issues, merged in both orders: no conflict, every event
#    kept, each parent in_progress once.
for order in xy yx; do
  git -C "$alice" checkout -q main
  git -C "$alice" checkout -qb "x-$order" && "$kb" -C "$alice" start A.1.1 --no-branch -q >/dev/null &&
    git -C "$alice" commit -qam "start A.1.1" &&
    git -C "$alice" checkout -q main && sleep 1.1 &&
    git -C "$alice" checkout -qb "y-$order" && "$kb" -C "$alice" start A.1.2 --no-branch -q >/dev/null &&
    git -C "$alice" commit -qam "start A.1.2" || fail "starting on two branches ($order)"
  set -- "${order:0:1}" "${order:1:1}"
  git -C "$alice" checkout -q -b "merged-$order" main
  git -C "$alice" merge -q --no-edit "$1-$order" >/dev/null 2>&1 &&
    git -C "$alice" merge -q --no-edit "$2-$order" >"$work/merge.out" 2>&1 && pass ||
    fail "merging both starts ($order) conflicted: $(cat "$work/merge.out"; git -C "$alice" status --short)"
  clean_kodebase "$alice" && pass || fail "conflicted files after the merge ($order)"
  [ "$(events_of "$alice" A.yml in_progress)" = 1 ] && [ "$(events_of "$alice" A.1.yml in_progress)" = 1 ] &&
    pass || fail "a parent is in_progress more or less than once ($order)"
  [ "$(state "$alice" A.1.1)" = in_progress ] && [ "$(state "$alice" A.1.2)" = in_progress ] && pass ||
    fail "a start was lost in the merge ($order)"
  expect_exit 0 "valid after the merge ($order)" -- "$kb" -C "$alice" validate --strict
  git -C "$alice" merge --abort 2>/dev/null
done

# ... rebased: y onto x replays the second start over the first.
git -C "$alice" checkout -q "y-xy"
git -C "$alice" rebase -q "x-xy" >"$work/rebase.out" 2>&1 && pass ||
  fail "rebasing one start onto the other conflicted: $(cat "$work/rebase.out")"
[ "$(events_of "$alice" A.1.yml in_progress)" = 1 ] && pass || fail "the rebase doubled the cascade"
git -C "$alice" rebase --abort 2>/dev/null

# ... and across clones with pull --rebase: bob has not installed the hooks yet and is told how.
git -C "$alice" checkout -q main && git -C "$alice" merge -q --no-edit "x-xy" >/dev/null 2>&1 &&
  git -C "$alice" push -q origin main 2>/dev/null
git clone -q "$origin" "$bob" 2>/dev/null
git -C "$bob" reset -q --hard HEAD~1 # before alice's start of A.1.1
expect_exit 0 "a command in a clone without the driver" -- "$kb" -C "$bob" list -q
expect_exit 0 "the next command" -- "$kb" -C "$bob" status
contains "$err" "kodebase hooks install" "a clone without the driver is told how to enable it"
expect_exit 0 "the one after" -- "$kb" -C "$bob" status
[[ "$err" != *"hooks install"* ]] && pass || fail "the hint was given twice: $err"
expect_exit 0 "bob installs the hooks" -- "$kb" -C "$bob" hooks install
"$kb" -C "$bob" start A.1.2 --no-branch -q >/dev/null && git -C "$bob" commit -qam "bob starts A.1.2"
git -C "$bob" pull -q --rebase >"$work/pull.out" 2>&1 && pass ||
  fail "pull --rebase conflicted: $(cat "$work/pull.out"; git -C "$bob" status --short)"
[ "$(events_of "$bob" A.1.yml in_progress)" = 1 ] && pass || fail "pull --rebase doubled the cascade"
expect_exit 0 "valid after pull --rebase" -- "$kb" -C "$bob" validate
[ "$(state "$bob" A.1.1)" = in_progress ] && [ "$(state "$bob" A.1.2)" = in_progress ] && pass ||
  fail "a start was lost in pull --rebase"
git -C "$bob" rebase --abort 2>/dev/null

# 2. Different fields of one artifact edited on two branches merge; the same field changed two
#    ways is a conflict git reports, only around that entry.
git -C "$alice" checkout -q main && git -C "$alice" merge -q --no-edit "merged-xy" >/dev/null 2>&1
git -C "$alice" checkout -qb f1 && "$kb" -C "$alice" edit A.1.3 --priority high -q >/dev/null && git -C "$alice" commit -qam "priority"
git -C "$alice" checkout -q main && git -C "$alice" checkout -qb f2 && "$kb" -C "$alice" edit A.1.3 --estimation L -q >/dev/null &&
  "$kb" -C "$alice" edit A.1.3 --title "Refunds and credits" -q >/dev/null && git -C "$alice" commit -qam "estimation, title"
git -C "$alice" checkout -q main && git -C "$alice" checkout -qb f3 && "$kb" -C "$alice" edit A.1.3 --title "Refunds, partial ones too" -q >/dev/null &&
  git -C "$alice" commit -qam "another title"
git -C "$alice" checkout -q -b fields main
git -C "$alice" merge -q --no-edit f1 >/dev/null 2>&1 && git -C "$alice" merge -q --no-edit f2 >/dev/null 2>&1 && pass ||
  fail "edits of different fields conflicted"
"$kb" -C "$alice" show A.1.3 --json >"$work/a13.json"
grep -q '"priority":"high"' "$work/a13.json" && grep -q '"estimation":"L"' "$work/a13.json" && pass ||
  fail "a field edit was lost: $(cat "$work/a13.json")"
f13=$(ls "$a1"/A.1.3.*.yml)
expect_exit 1 "the same field changed two ways is a conflict" -- git -C "$alice" merge --no-edit f3
grep -q '^<<<<<<< ours$' "$f13" && [ "$(grep -c '^=======$' "$f13")" = 1 ] && pass || fail "no conflict markers: $(cat "$f13")"
grep -q '  priority: high' "$f13" && ! grep -q '^<<<<<<<.*\n  priority' "$f13" && pass || fail "the clean fields were lost"
expect_exit 0 "a conflicted artifact still lists" -- "$kb" -C "$alice" list --json
contains "$out" '"id":"A.1.3"' "the conflicted artifact is listed"
contains "$out" '"conflicted":true' "it is marked as conflicted"
expect_exit 1 "validate flags the markers" -- "$kb" -C "$alice" validate
contains "$out" "CONFLICT" "validate's code for markers"
expect_exit 1 "resolve leaves a real conflict" -- "$kb" -C "$alice" resolve A.1.3
contains "$out" "still conflicted" "resolve says what is left"
contains "$out" "metadata.title" "resolve names the field"
# Fixed by hand: their title.
python3 - "$f13" <<'EOF'
import re, sys
p = sys.argv[1]
t = open(p).read()
t = re.sub(r"<<<<<<< ours\n.*?=======\n(.*?)>>>>>>> theirs\n", r"\1", t, flags=re.S)
open(p, "w").write(t)
EOF
expect_exit 0 "valid once fixed by hand" -- "$kb" -C "$alice" validate
git -C "$alice" add -A .kodebase && git -C "$alice" commit -qm "merged f3" && pass || fail "committing the hand fix"

# 3. A merge made with plain git (no driver): the parents conflict, still list, resolve fixes.
git -C "$alice" checkout -q -b plain-base main
"$kb" -C "$alice" ready A.1.3 -q >/dev/null; git -C "$alice" commit -qam "A.1.3 ready"
git -C "$alice" checkout -qb p1 && "$kb" -C "$alice" edit A.1 --priority high -q >/dev/null && git -C "$alice" commit -qam p1
git -C "$alice" checkout -q plain-base && git -C "$alice" checkout -qb p2 && "$kb" -C "$alice" edit A.1 --priority low -q >/dev/null &&
  "$kb" -C "$alice" edit A.1 --title "Payments, v2" -q >/dev/null && git -C "$alice" commit -qam p2
git -C "$alice" checkout -q -b plain plain-base
git -C "$alice" merge -q --no-edit p1 >/dev/null 2>&1
git -C "$alice" config --remove-section merge.kodebase # as in a clone without the hooks
git -C "$alice" merge -q --no-edit p2 >/dev/null 2>&1
grep -q '^<<<<<<<' "$a1/A.1.yml" && pass || fail "plain git did not conflict (the test needs it to)"
expect_exit 0 "artifacts list after a plain merge" -- "$kb" -C "$alice" list --format ids
contains "$out" "A.1" "the conflicted milestone still lists"
expect_exit 0 "the post-merge hook names the fix" -- "$kb" -C "$alice" hooks run post-merge
expect_exit 1 "resolve after a plain merge (priority both ways)" -- "$kb" -C "$alice" resolve --all
"$kb" -C "$alice" hooks install -q >/dev/null
git -C "$alice" merge --abort
git -C "$alice" checkout -q -b plain2 plain-base
git -C "$alice" checkout -qb p3 && "$kb" -C "$alice" start A.1.3 --no-branch -q >/dev/null && git -C "$alice" commit -qam p3
git -C "$alice" checkout -q plain2 && "$kb" -C "$alice" edit A.1 --estimation XL -q >/dev/null && git -C "$alice" commit -qam p4
"$kb" -C "$alice" edit A.1 --estimation XL -q >/dev/null
# git's own merge of lines, as GitHub's merge button does it
git -C "$alice" -c merge.kodebase.driver="git merge-file %A %O %B" merge -q --no-edit p3 >/dev/null 2>&1
git -C "$alice" checkout -q plain2 2>/dev/null
if grep -q '^<<<<<<<' "$a1/A.1.yml" 2>/dev/null; then
  expect_exit 0 "resolve --all fixes what plain git left" -- "$kb" -C "$alice" resolve --all
  contains "$out" "resolved" "resolve reports the file"
  [ -z "$(git -C "$alice" diff --name-only --diff-filter=U)" ] && pass || fail "resolve did not mark the files resolved"
  expect_exit 0 "valid after resolve" -- "$kb" -C "$alice" validate --strict
  git -C "$alice" commit -qm "resolved" 2>/dev/null
else
  pass # git merged it line by line without conflict: nothing for resolve to do
fi

# 4. Two branches add under one parent offline: both mint A.1.4; the merge reports it, both
#    stay listed, renumber repairs it with references rewritten.
git -C "$alice" checkout -q -f main 2>/dev/null
git -C "$alice" checkout -qb add1 && "$kb" -C "$alice" add A.1 --title "Webhooks" --criterion x -q >/dev/null && git -C "$alice" add -A && git -C "$alice" commit -qm add1
git -C "$alice" checkout -q main && git -C "$alice" checkout -qb add2 && "$kb" -C "$alice" add A.1 --title "Payouts" --criterion x -q >/dev/null &&
  "$kb" -C "$alice" add A.1 --title "Payout reports" --criterion x --blocked-by A.1.4 -q >/dev/null && git -C "$alice" add -A && git -C "$alice" commit -qm add2
git -C "$alice" checkout -q -b adds main
"$kb" -C "$alice" list -q >/dev/null # the daemon knows the project before the merge
"$kb" -C "$alice" watch --json >"$work/dup.watch" 2>&1 &
pids+=($!)
watching() { "$kb" daemon status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
for _ in $(seq 1 100); do [ "$(watching)" -ge 1 ] && break; sleep 0.1; done
git -C "$alice" merge -q --no-edit add1 >/dev/null 2>&1
git -C "$alice" merge --no-edit add2 >"$work/merge.out" 2>&1 && pass || fail "merging the adds conflicted: $(cat "$work/merge.out")"
contains "$(cat "$work/merge.out")" "renumber A.1.4" "the post-merge hook names the fix"
# ... and the daemon's watcher tells subscribers, once, with the fix
for _ in $(seq 1 100); do grep -q '"artifact.duplicate"' "$work/dup.watch" && break; sleep 0.1; done
contains "$(cat "$work/dup.watch")" '"hint":"kodebase renumber A.1.4 --file .kodebase/artifacts/' "watch reports the duplicate with the fix"
"$kb" -C "$alice" list -q >/dev/null && sleep 0.5
[ "$(grep -c '"artifact.duplicate"' "$work/dup.watch")" = 1 ] && pass || fail "the duplicate was told more than once: $(cat "$work/dup.watch")"
kill "${pids[-1]}" 2>/dev/null
expect_exit 0 "both A.1.4 list" -- "$kb" -C "$alice" list --json
[ "$(grep -o '"id":"A.1.4"' <<<"$out" | wc -l)" = 2 ] && pass || fail "a colliding artifact is not listed: $out"
contains "$out" '"duplicate":true' "the second one is marked"
expect_exit 1 "validate reports the duplicate" -- "$kb" -C "$alice" validate
contains "$out" "DUPLICATE_ID" "the duplicate's code"
payouts=$(cd "$alice" && ls .kodebase/artifacts/A.*/A.1.*/A.1.4.payouts.yml)
expect_exit 0 "renumber the second A.1.4" -- "$kb" -C "$alice" renumber A.1.4 --file "$payouts" --json
contains "$out" '"to":"A.1.6"' "renumber takes the next free ID"
[ -f "$a1/A.1.6.payouts.yml" ] && [ ! -f "$alice/$payouts" ] && pass || fail "the file was not renamed"
grep -q "A.1.6" "$(ls "$a1"/A.1.5.*.yml)" && pass || fail "the reference inside what moved was not rewritten"
grep -q "renumbered_from: \"A.1.4\"\|renumbered_from: A.1.4" "$a1/A.1.6.payouts.yml" && pass ||
  fail "the renumbering is not recorded"
expect_exit 0 "valid after renumber" -- "$kb" -C "$alice" validate --strict
expect_exit 1 "renumber to a taken ID" -- "$kb" -C "$alice" renumber A.1.6 --to A.1.5
[[ "$err" == *taken* ]] && pass || fail "a taken target is not refused clearly: $err"
git -C "$alice" add -A && git -C "$alice" commit -qm renumbered
# ... and validate --fix does the same for every duplicate.
git -C "$alice" checkout -qb add3 && "$kb" -C "$alice" add A.1 --title "Disputes" --criterion x -q >/dev/null && git -C "$alice" add -A && git -C "$alice" commit -qm add3
git -C "$alice" checkout -q adds && git -C "$alice" checkout -qb add4 && "$kb" -C "$alice" add A.1 --title "Chargebacks" --criterion x -q >/dev/null && git -C "$alice" add -A && git -C "$alice" commit -qm add4
git -C "$alice" checkout -q adds && git -C "$alice" merge -q --no-edit add3 >/dev/null 2>&1 && git -C "$alice" merge -q --no-edit add4 >/dev/null 2>&1
expect_exit 0 "validate --fix renumbers a duplicate" -- "$kb" -C "$alice" validate --fix
contains "$out" "DUPLICATE_ID" "--fix reports the renumbering"
expect_exit 0 "valid after --fix" -- "$kb" -C "$alice" validate --strict
[ "$(ls "$a1" | grep -c '^A\.1\.7\.')" = 1 ] && [ "$(ls "$a1" | grep -c '^A\.1\.8\.')" = 1 ] && pass ||
  fail "--fix did not give the later one the next ID: $(ls "$a1")"
git -C "$alice" add -A && git -C "$alice" commit -qm fixed

# A milestone renumbered moves with its folder, every descendant and the references to it.
expect_exit 0 "add a second milestone" -- "$kb" -C "$alice" add A --title "Fraud" --deliverable x -q
"$kb" -C "$alice" add A.2 --title "Rules" --criterion x -q >/dev/null
"$kb" -C "$alice" add A.2 --title "Scores" --criterion x --blocked-by A.2.1 -q >/dev/null
expect_exit 0 "renumber a milestone" -- "$kb" -C "$alice" renumber A.2 --to A.5 --json
contains "$out" '"A.2.2":"A.5.2"' "descendants renamed"
[ -d "$(ls -d "$ai"/A.5.* 2>/dev/null)" ] && [ -z "$(ls -d "$ai"/A.2.* 2>/dev/null)" ] && pass ||
  fail "the milestone's folder did not move"
"$kb" -C "$alice" show A.5.2 --json | grep -q '"blocked_by":\["A.5.1"\]' && pass || fail "a descendant's reference was not rewritten"
expect_exit 0 "valid after a milestone renumber" -- "$kb" -C "$alice" validate --strict

# 5. Two worktrees at once: each its own project with its own lock; hooks and driver shared.
"$kb" -C "$alice" ready A.1.3 -q >/dev/null
git -C "$alice" add -A && git -C "$alice" commit -qm more
git -C "$alice" worktree add -q "$work/wt" -b wt-branch 2>/dev/null
expect_exit 0 "a command in the worktree" -- "$kb" -C "$work/wt" start A.1.3 --no-branch
expect_exit 0 "the main worktree at the same time" -- "$kb" -C "$alice" show A.1.3 --json
contains "$out" '"state":"ready"' "the main worktree keeps its own state"
[ "$(state "$work/wt" A.1.3)" = in_progress ] && pass || fail "the worktree's start is not seen there"
expect_exit 0 "a checkout hook in the worktree" -- git -C "$work/wt" checkout -q -b A.1.5
[ -f "$work/wt/.kodebase/.lock" ] && pass || fail "the worktree has no lock of its own"
expect_exit 0 "the daemon lists both worktrees" -- "$kb" daemon status --json
[ "$(grep -o '"root"' <<<"$out" | wc -l)" -ge 2 ] && pass || fail "the daemon does not serve both: $out"

# The driver's cost per file: 200 merges of one file through git merge-file semantics.
f=$(ls "$a1"/A.1.1.*.yml)
t0=$(date +%s%N)
for i in $(seq 1 50); do cp "$f" "$work/o"; cp "$f" "$work/a"; cp "$f" "$work/b"; "$kb" merge-driver "$work/o" "$work/a" "$work/b" 7 x.yml; done
echo "merge driver: $((($(date +%s%N) - t0) / 50000)) us per file (process included)"
finish
