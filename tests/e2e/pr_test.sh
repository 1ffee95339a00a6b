#!/usr/bin/env bash
# End-to-end tests of the pull-request workflow against a stand-in GitHub (fake_pulls.py, our
# recorded exchanges for creating, listing, readying, reviewing and merging pull requests):
# start → branch pushed + draft PR (reused when started again), submit → ready + pr_number in
# the in_review event, the refusals, `kodebase pr`, merge → `kodebase sync` completes once and
# readies dependents, the background sync, and what happens without a token or GitHub origin.
# The origin remote names github.com/acme/widgets; pushes go to a local bare repository
# (url.<bare>.pushInsteadOf), so git's own credentials path is used and nothing leaves the host.
# usage: pr_test.sh <bin-dir> <source-dir>
set -uo pipefail
bin=$1 src=$2
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"

python3 "$src/tests/e2e/fake_pulls.py" "$work/port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/port" ] && break; sleep 0.1; done
upstream="http://127.0.0.1:$(cat "$work/port")"
export KODEBASE_GITHUB_API_URL="$upstream" KODEBASE_GITHUB_FRESH=0
export GH_TOKEN="ghp_kodebasePullRequestTestToken000000001"
wait_until() { local i; for i in $(seq 1 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
jq_() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }
requests() { curl -s "$upstream/_log" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] == sys.argv[1] and r["path"].startswith(sys.argv[2])))' "$1" "$2"; }

# new_repo DIR: the loader-tree fixture in a repository whose origin is acme/widgets on GitHub
new_repo() {
  local r=$1
  git init -q --bare -b main "$r.origin.git"
  git -C "$work" init -q -b main "$r" && git -C "$r" config user.name "Ada Lovelace" &&
    git -C "$r" config user.email ada@example.com
  git -C "$r" remote add origin https://github.com/acme/widgets.git
  git -C "$r" config "url.$r.origin.git.pushInsteadOf" https://github.com/acme/widgets.git
  mkdir -p "$r/.kodebase" &&
    cp -r "$src/tests/fixtures/kodebase-core/loader-tree" "$r/.kodebase/artifacts"
  chmod -R u+w "$r"
  printf '/.lock\n/.journal\n' >"$r/.kodebase/.gitignore"
  git -C "$r" add -A && git -C "$r" commit -qm init && git -C "$r" push -q origin main
}
r="$work/repo"
new_repo "$r"
state() { "$kb" -C "$r" show "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['state'])"; }

# start: committed on the new branch, pushed, a draft pull request opened with the context pack
expect_exit 0 "start" -- "$kb" -C "$r" start A.2.2
contains "$out" "pull request #1 (draft) opened: https://github.com/acme/widgets/pull/1" "start opens a draft"
[ "$(git -C "$r.origin.git" rev-parse A.2.2)" = "$(git -C "$r" rev-parse A.2.2)" ] && pass || fail "branch not pushed"
git -C "$r" log -1 --format=%s | grep -q "chore(artifacts): start A.2.2" && pass || fail "start not committed"
[ "$(git -C "$r" rev-parse --abbrev-ref A.2.2@{upstream})" = origin/A.2.2 ] && pass || fail "no upstream set"
pr=$(curl -s -H "Authorization: token x" "$upstream/repos/acme/widgets/pulls/1")
[ "$(jq_ "$pr" 'd["title"]')" = "A.2.2: Production Deployment Setup" ] && pass || fail "title: $pr"
[ "$(jq_ "$pr" 'd["draft"]')" = True ] && pass || fail "not a draft: $pr"
[ "$(jq_ "$pr" 'd["base"]["ref"]')" = main ] && pass || fail "base: $pr"
contains "$(jq_ "$pr" 'd["body"]')" "A.2.2" "the body is the context pack"
contains "$(jq_ "$pr" 'd["body"]')" "Opened by kodebase for artifact A.2.2" "the body says where it came from"

# started again: the open pull request is reused, nothing created twice
expect_exit 0 "start again" -- "$kb" -C "$r" start A.2.2 --json
[ "$(jq_ "$out" 'd["pull_request"]["created"]')" = False ] && pass || fail "second start created: $out"
[ "$(jq_ "$out" 'd["pull_request"]["number"]')" = 1 ] && pass || fail "second start number: $out"
[ "$(requests POST /repos/acme/widgets/pulls)" = 1 ] && pass || fail "POST pulls twice"

# submit refuses: uncommitted artifact changes, off the branch
f=$(ls "$r"/.kodebase/artifacts/*/*/A.2.2.*.yml)
printf '\n' >>"$f"
expect_exit 1 "submit with uncommitted artifacts" -- "$kb" -C "$r" submit A.2.2
contains "$err" "uncommitted changes" "dirty refusal says why"
contains "$err" "A.2.2" "dirty refusal names the artifact"
git -C "$r" checkout -q -- "$f"
git -C "$r" checkout -q -b elsewhere
expect_exit 1 "submit off the branch" -- "$kb" -C "$r" submit A.2.2
contains "$err" "git switch A.2.2" "off-branch refusal says what to do"
git -C "$r" checkout -q A.2.2 && git -C "$r" branch -q -D elsewhere
[ "$(state A.2.2)" = in_progress ] && pass || fail "a refused submit changed the state"

# submit: ready for review, pr_number/pr_branch/pr_head_sha recorded (no URL), pushed
head=$(git -C "$r" rev-parse HEAD)
expect_exit 0 "submit" -- "$kb" -C "$r" submit A.2.2
contains "$out" "pull request #1 marked ready for review" "submit readies the PR"
[ "$(jq_ "$(curl -s -H 'Authorization: token x' "$upstream/repos/acme/widgets/pulls/1")" 'd["draft"]')" = False ] && pass || fail "still a draft"
[ "$(state A.2.2)" = in_review ] && pass || fail "submit: not in review"
grep -A8 'event: in_review' "$f" >"$work/ev"
grep -q 'pr_number: 1' "$work/ev" && pass || fail "pr_number missing: $(cat "$work/ev")"
grep -q 'pr_branch: A.2.2' "$work/ev" && pass || fail "pr_branch missing"
grep -Eq "pr_head_sha: \"?$head" "$work/ev" && pass || fail "pr_head_sha missing: $(cat "$work/ev")"
! grep -q 'https://' "$f" && pass || fail "a URL was stored in the artifact"
[ "$(git -C "$r.origin.git" rev-parse A.2.2)" = "$(git -C "$r" rev-parse HEAD)" ] && pass || fail "submit did not push"
expect_exit 0 "validate after submit" -- "$kb" -C "$r" validate

# kodebase pr: state, checks, reviews
curl -s -X POST "$upstream/_review" -d '{"number": 1, "login": "grace", "state": "CHANGES_REQUESTED"}' >/dev/null
curl -s -X POST "$upstream/_review" -d '{"number": 1, "login": "grace", "state": "APPROVED"}' >/dev/null
curl -s -X POST "$upstream/_checks" -d '{"runs": [{"name": "build", "status": "completed", "conclusion": "success"}, {"name": "lint", "status": "completed", "conclusion": "failure"}, {"name": "e2e", "status": "in_progress", "conclusion": null}]}' >/dev/null
expect_exit 0 "pr" -- "$kb" -C "$r" pr A.2.2
contains "$out" "pull request #1  open  A.2.2 → main" "pr shows the PR"
contains "$out" "in_review" "pr shows the artifact's state"
contains "$out" "1 passed, 1 failing (lint), 1 pending" "pr shows the checks"
contains "$out" "approved (grace approved)" "pr shows the latest review verdict"
expect_exit 0 "pr --json" -- "$kb" -C "$r" pr A.2.2 --json
[ "$(jq_ "$out" 'd["review_decision"]')" = approved ] && pass || fail "pr --json: $out"
expect_exit 1 "pr of an unknown artifact" -- "$kb" -C "$r" pr Z.9.9
expect_exit 2 "pr with --no-daemon" -- "$kb" --no-daemon -C "$r" pr A.2.2
contains "$err" "needs the daemon" "pr --no-daemon says why"

# sync before the merge: nothing completed
git -C "$r" checkout -q main
expect_exit 0 "sync before merge" -- "$kb" -C "$r" sync --json
[ "$(jq_ "$out" 'len(d["completed"])')" = 0 ] && pass || fail "sync completed an open PR: $out"

# merge on GitHub → sync completes A.2.2 once (trigger pr_merged) and readies its dependents
curl -s -X PUT -H "Authorization: token x" "$upstream/repos/acme/widgets/pulls/1/merge" >/dev/null
git -C "$r" merge -q --no-ff -m "Merge pull request #1 from acme/A.2.2" A.2.2
expect_exit 0 "sync after merge" -- "$kb" -C "$r" sync
contains "$out" "A.2.2: pull request #1 merged → completed" "sync reports the merge"
contains "$out" "staged the artifact changes" "manual strategy leaves the changes staged"
[ "$(state A.2.2)" = completed ] && pass || fail "sync did not complete A.2.2"
grep -B1 -A3 'event: completed' "$f" | grep -q 'trigger: pr_merged' && pass || fail "trigger is not pr_merged"
grep -q 'Merged in pull request #1' "$f" && pass || fail "no implementation result from the PR"
expect_exit 0 "sync again" -- "$kb" -C "$r" sync --json
[ "$(grep -c 'event: completed' "$f")" = 1 ] && pass || fail "completed twice"
[ "$(jq_ "$out" 'len(d["completed"]) + sum(1 for o in d["open"] if o["id"] == "A.2.2")')" = 0 ] && pass || fail "a completed artifact was checked again: $out"
[ "$(state B.1.1)" = in_review ] && pass || fail "an artifact without a merged PR of its own was completed"
expect_exit 0 "validate after sync" -- "$kb" -C "$r" validate
git -C "$r" commit -qm "complete A.2.2" && pass || fail "nothing staged to commit"

# the post-merge hook completes through the same path (policy on, direct_commit on main)
"$kb" -C "$r" config set hooks.post_merge_complete true >/dev/null
"$kb" -C "$r" config set gitOps.post_merge.strategy direct_commit >/dev/null
"$kb" -C "$r" hooks install >/dev/null
git -C "$r" add -A && git -C "$r" commit -qm "settings"
git -C "$r" checkout -q -b A.1.1 # in progress already: start only pushes and opens the PR
expect_exit 0 "start A.1.1 (in progress)" -- "$kb" -C "$r" start A.1.1
contains "$out" "pull request #2 (draft) opened" "a second artifact gets its own PR"
expect_exit 0 "submit A.1.1" -- "$kb" -C "$r" submit A.1.1
git -C "$r" checkout -q main
expect_exit 0 "merge A.1.1" -- git -C "$r" merge -q --no-ff -m "Merge A.1.1" A.1.1
[ "$(state A.1.1)" = completed ] && pass || fail "post-merge did not complete A.1.1: $err"
git -C "$r" log -1 --format=%s | grep -q "complete A.1.1 (merged)" && pass || fail "direct_commit on main did not commit: $(git -C "$r" log -1 --format=%s)"
curl -s -X PUT -H "Authorization: token x" "$upstream/repos/acme/widgets/pulls/2/merge" >/dev/null
expect_exit 0 "sync after the hook" -- "$kb" -C "$r" sync --json
[ "$(grep -c 'event: completed' "$(ls "$r"/.kodebase/artifacts/*/*/A.1.1.*.yml)")" = 1 ] && pass || fail "hook + sync completed twice"
expect_exit 0 "start in progress, not on its branch" -- "$kb" -C "$r" start A.2.1 --json
contains "$out" '"skipped":"not on branch A.2.1' "no push of a branch that is not checked out"

# background sync: the daemon notices a merge without a hook or a command
stop_daemon
sleep 0.2
export KODEBASE_GITHUB_SYNC_INTERVAL=1
r3="$work/repo3"
new_repo "$r3"
git -C "$r3" checkout -q -b feature && git -C "$r3" checkout -q main
state3() { "$kb" -C "$r3" show "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['state'])"; }
expect_exit 0 "start in repo3" -- "$kb" -C "$r3" start A.2.2 --json
n3=$(jq_ "$out" 'd["pull_request"]["number"]')
expect_exit 0 "submit in repo3" -- "$kb" -C "$r3" submit A.2.2
curl -s -X PUT -H "Authorization: token x" "$upstream/repos/acme/widgets/pulls/$n3/merge" >/dev/null
wait_until '[ "$(state3 A.2.2)" = completed ]' && pass || fail "the background sync did not notice the merge of #$n3"
unset KODEBASE_GITHUB_SYNC_INTERVAL
stop_daemon
sleep 0.2

# no token and no stored login: auto mode skips quietly; draft mode refuses before starting
r4="$work/repo4"
new_repo "$r4"
expect_exit 0 "start without a token (auto)" -- env -u GH_TOKEN "$kb" -C "$r4" start A.2.2 --json
contains "$(jq_ "$out" 'd["pull_request"]["skipped"]')" "no GitHub token" "auto without a token skips"
"$kb" -C "$r4" config set github.pull_requests draft >/dev/null
git -C "$r4" checkout -q -b A.2.1
expect_exit 1 "start without a token (draft)" -- env -u GH_TOKEN "$kb" -C "$r4" start A.2.1
contains "$err" "there is no GitHub token" "draft without a token refuses"
"$kb" -C "$r4" config set github.pull_requests off >/dev/null
expect_exit 0 "start with pull requests off" -- "$kb" -C "$r4" start A.2.1 --json
[ "$(jq_ "$out" 'd["pull_request"]["skipped"]')" = "github.pull_requests is off" ] && pass || fail "off: $out"
expect_exit 2 "a bad mode is refused" -- "$kb" -C "$r4" config set github.pull_requests sometimes
"$kb" -C "$r4" config set github.pull_requests draft >/dev/null
git -C "$r4" add -A && git -C "$r4" commit -qm "work so far"
expect_exit 1 "submit without a pull request" -- "$kb" -C "$r4" submit A.2.1
contains "$err" "has no open pull request from branch A.2.1" "no-PR refusal says why"
contains "$err" "kodebase start A.2.1" "no-PR refusal says what to do"
[ "$("$kb" -C "$r4" show A.2.1 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['state'])")" = in_progress ] && pass || fail "a refused submit changed the state"

# a push that fails is reported with git's words; the start stands
r5="$work/repo5"
new_repo "$r5"
git -C "$r5" remote set-url --push origin "$work/nowhere.git"
expect_exit 0 "start with a failing push" -- "$kb" -C "$r5" start A.2.2
contains "$err" "git push origin A.2.2 failed" "push failure reported"
contains "$err" "hint:" "push failure has a hint"

# submit keeps the pull request mergeable: a teammate's sibling start on main appended cascade
# events to the same parents, which GitHub's button (lines, no driver) cannot merge; submit
# merges main in with the driver first. origin cannot be fetched here (its URL names GitHub),
# so this also covers the fallback to origin/main as last fetched.
r6="$work/repo6"
git init -q --bare -b main "$r6.origin.git"
git -C "$work" init -q -b main "$r6" && git -C "$r6" config user.name "Ada Lovelace" &&
  git -C "$r6" config user.email ada@example.com
git -C "$r6" remote add origin https://github.com/acme/widgets.git
git -C "$r6" config "url.$r6.origin.git.pushInsteadOf" https://github.com/acme/widgets.git
(
  cd "$r6" && "$kb" init -q && "$kb" add --title "Shop" --vision "Sell" --in-scope x \
    --out-of-scope y --success z -q && "$kb" add A --title "Payments" --deliverable "Client" -q &&
    for t in "Provider client" "Payment tables"; do "$kb" add A.1 --title "$t" --criterion "Works" -q; done &&
    for id in A A.1 A.1.1 A.1.2; do "$kb" ready "$id" -q; done
) >/dev/null && pass || fail "setting up repo6"
git -C "$r6" add -A && git -C "$r6" commit -qm artifacts && git -C "$r6" push -q origin main
expect_exit 0 "start A.1.1 in repo6" -- "$kb" -C "$r6" start A.1.1 --json
git clone -q "$r6.origin.git" "$work/mate" && git -C "$work/mate" config user.name "Bo" &&
  git -C "$work/mate" config user.email bo@example.com
sleep 1.1
"$kb" -C "$work/mate" start A.1.2 --no-branch -q >/dev/null && git -C "$work/mate" commit -qam "start A.1.2" &&
  git -C "$work/mate" push -q origin main && pass || fail "the teammate's start on main"
git -C "$r6" fetch -q "$r6.origin.git" main:refs/remotes/origin/main
! git -C "$r6.origin.git" merge-tree --write-tree main A.1.1 >/dev/null 2>&1 && pass ||
  fail "the scenario has no line conflict to fix"
expect_exit 0 "submit A.1.1 behind main" -- "$kb" -C "$r6" submit A.1.1
contains "$out" "merged origin/main in first" "submit says it merged main in"
[ "$(git -C "$r6" rev-list --parents -1 HEAD | wc -w)" = 3 ] && pass || fail "HEAD is not a merge commit"
[ "$(git -C "$r6.origin.git" rev-parse A.1.1)" = "$(git -C "$r6" rev-parse HEAD)" ] && pass ||
  fail "the merged branch was not pushed"
git -C "$r6.origin.git" merge-tree --write-tree main A.1.1 >/dev/null && pass ||
  fail "GitHub's merge of lines still conflicts after submit"
[ "$("$kb" -C "$r6" show A.1.2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = in_progress ] &&
  pass || fail "the teammate's start is missing from the branch"
expect_exit 0 "valid after the merge" -- "$kb" -C "$r6" validate --strict
[ "$(grep -c "event: in_progress" "$(ls "$r6"/.kodebase/artifacts/A.*/A.1.*/A.1.yml)")" = 1 ] && pass ||
  fail "A.1 is in_progress more or less than once"

# sync keeps an open pull request mergeable too: the teammate changes A.1's priority on main,
# the branch its title (adjacent lines: a conflict for git's merge of lines, none for the
# driver); `kodebase sync` on the branch merges main in and pushes.
git -C "$work/mate" pull -q --no-rebase origin main && "$kb" -C "$work/mate" edit A.1 --priority critical -q >/dev/null &&
  git -C "$work/mate" commit -qam "A.1 critical" && git -C "$work/mate" push -q origin main && pass ||
  fail "the teammate's edit on main"
"$kb" -C "$r6" edit A.1 --title "Payments, first part" -q >/dev/null && git -C "$r6" commit -qam "A.1 title" &&
  git -C "$r6" push -q origin A.1.1 && pass || fail "the title on the branch"
git -C "$r6" fetch -q "$r6.origin.git" main:refs/remotes/origin/main
! git -C "$r6.origin.git" merge-tree --write-tree main A.1.1 >/dev/null 2>&1 && pass ||
  fail "the sync scenario has no line conflict to fix"
git -C "$r6" switch -q -c stacked # a branch on top of A.1.1's: its tree has A.1.1 in review
expect_exit 0 "sync off the branch" -- "$kb" -C "$r6" sync A.1.1
contains "$err" "git switch A.1.1" "sync off the branch names the switch"
[ "$(git -C "$r6" rev-parse A.1.1)" = "$(git -C "$r6.origin.git" rev-parse A.1.1)" ] && pass ||
  fail "sync off the branch changed the branch"
git -C "$r6" switch -q A.1.1
expect_exit 0 "sync on the branch" -- "$kb" -C "$r6" sync A.1.1
contains "$out" "A.1.1: merged origin/main in first" "sync says it merged main in"
[ "$(git -C "$r6.origin.git" rev-parse A.1.1)" = "$(git -C "$r6" rev-parse HEAD)" ] && pass ||
  fail "sync did not push the merged branch"
git -C "$r6.origin.git" merge-tree --write-tree main A.1.1 >/dev/null && pass ||
  fail "GitHub's merge of lines still conflicts after sync"
a1=$("$kb" -C "$r6" show A.1 --json)
[ "$(jq_ "$a1" 'd["title"] + "/" + d["priority"]')" = "Payments, first part/critical" ] && pass ||
  fail "sync's merge lost a side of A.1: $a1"

# a token never reaches a file
! grep -rq "$GH_TOKEN" "$work/state" "$work/cache" "$work/config" "$r" 2>/dev/null && pass || fail "the token was written somewhere"

finish
