#!/usr/bin/env bash
# End-to-end tests of the writing commands in real git repositories.
# usage: lifecycle_test.sh <bin-dir> <fixtures-dir>
set -uo pipefail
bin=$1 fixtures=$2
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"
repo() { # repo DIR: a git repository with a user
  mkdir -p "$1" && git -C "$1" init -q && git -C "$1" config user.name "Ada Lovelace" &&
    git -C "$1" config user.email ada@example.com
}

# start on a real fixture: git diff shows only the four added event lines
r="$work/loader"
repo "$r"
mkdir -p "$r/.kodebase" && cp -r "$fixtures/kodebase-core/loader-tree" "$r/.kodebase/artifacts" && chmod -R u+w "$r"
git -C "$r" add -A && git -C "$r" commit -qm init
expect_exit 0 "start A.2.2" -- "$kb" -C "$r" start A.2.2 --no-branch
contains "$out" "A.2.2: ready → in_progress" "start output"
numstat=$(git -C "$r" diff --numstat)
[ "$numstat" = $'4\t0\t.kodebase/artifacts/A.cascade-initiative/A.2.operations-phase/A.2.2.deployment.yml' ] && pass || fail "start diff is not 4 added lines: $numstat"
git -C "$r" diff | grep '^+ ' | grep -q 'event: in_progress' && pass || fail "added lines hold the event"
# Besides the artifact, only the ignore file that keeps the lock out of git appears.
[ "$(git -C "$r" status --porcelain | grep -v 'A.2.2.deployment.yml')" = "?? .kodebase/.gitignore" ] && pass || fail "stray files: $(git -C "$r" status --porcelain)"
expect_exit 0 "start again is a no-op" -- "$kb" -C "$r" start A.2.2
contains "$out" "already in progress" "no-op message"
expect_exit 1 "start a blocked issue" -- "$kb" -C "$r" start A.1.3
contains "$err" "cannot start A.1.3: it is blocked" "refusal reason"
before=$(git -C "$r" diff | md5sum)
expect_exit 0 "dry run" -- "$kb" -C "$r" submit A.2.2 --dry-run
contains "$out" "dry run" "dry run says so"
[ "$before" = "$(git -C "$r" diff | md5sum)" ] && pass || fail "dry run wrote files"
expect_exit 2 "malformed ID" -- "$kb" -C "$r" start a.1
expect_exit 1 "unknown ID" -- "$kb" -C "$r" start A.7.7

# start works on the branch named by the ID, and --commit commits just the artifact change:
# what the user had staged stays staged and out of the commit
git -C "$r" checkout -q -- . && git -C "$r" checkout -q -b base
echo "work in progress" >"$r/notes.txt"
git -C "$r" add notes.txt
expect_exit 0 "start on a branch with a commit" -- "$kb" -C "$r" start A.2.2 --commit
[ -z "$(git -C "$r" show --format= --name-only HEAD | grep notes.txt)" ] && pass ||
  fail "--commit committed a file the user had staged: $(git -C "$r" show --stat --format= HEAD)"
[ "$(git -C "$r" diff --cached --name-only)" = "notes.txt" ] && pass ||
  fail "the user's staged file is no longer staged (alone): $(git -C "$r" status --porcelain)"
[ -z "$(git -C "$r" status --porcelain --untracked-files=no .kodebase)" ] && pass ||
  fail "the committed artifact file is not clean in the index: $(git -C "$r" status --porcelain)"
git -C "$r" reset -q notes.txt && rm "$r/notes.txt"
contains "$out" "created branch A.2.2 from base" "branch reported"
[ "$(git -C "$r" branch --show-current)" = "A.2.2" ] && pass || fail "HEAD is on A.2.2"
[ "$(git -C "$r" log -1 --format=%s)" = "chore(artifacts): start A.2.2" ] && pass || fail "commit message: $(git -C "$r" log -1 --format=%s)"
[ "$(git -C "$r" show --stat --format= HEAD | grep -c '|')" -eq 1 ] && pass || fail "commit holds one file"
git -C "$r" switch -q base
f=.kodebase/artifacts/A.cascade-initiative/A.2.operations-phase/A.2.2.deployment.yml
echo "# local note" >>"$r/$f"
before=$(md5sum "$r/$f")
expect_exit 1 "start refuses conflicting local changes" -- "$kb" -C "$r" start A.2.2
contains "$err" "local changes conflict" "conflict reason"
[ "$(git -C "$r" branch --show-current)" = "base" ] && [ "$before" = "$(md5sum "$r/$f")" ] && pass || fail "a refused start changed something"
git -C "$r" checkout -q -- .
expect_exit 0 "start --no-branch" -- "$kb" -C "$r" start A.2.2 --no-branch
[ "$(git -C "$r" branch --show-current)" = "base" ] && pass || fail "--no-branch stays"
git -C "$r" checkout -q -- .

# a whole lifecycle from scratch
p="$work/proj"
repo "$p"
"$kb" -C "$p" init -q >/dev/null
expect_exit 0 "add initiative" -- "$kb" -C "$p" add --title "Checkout revamp" --vision "Pay fast" --in-scope Web --out-of-scope Apps --success "Conversion up"
[ "$out" = "A" ] && pass || fail "add prints the new ID: $out"
"$kb" -C "$p" add A --title "Payments" --deliverable "Client" >/dev/null 2>&1
"$kb" -C "$p" add A.1 --title "Provider client" --criterion "Charges work" >/dev/null 2>&1
expect_exit 0 "add with a blocker" -- "$kb" -C "$p" add A.1 --title "Payment tables" --criterion "Migrations" --blocked-by A.1.1 --json
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j['id']=='A.1.2' and j['blocked_by']==['A.1.1'] and len(j['files'])==2 else 1)" "$out" && pass || fail "add --json: $out"
grep -q 'blocks: \[A.1.2\]' "$p"/.kodebase/artifacts/A.*/A.1.*/A.1.1.*.yml && pass || fail "blocker lists the new issue in blocks"
expect_exit 0 "add with placeholders" -- "$kb" -C "$p" add A.1 --title "Later"
contains "$err" "fill in content.acceptance_criteria" "placeholder hint"
expect_exit 2 "add without a title" -- "$kb" -C "$p" add A.1
contains "$err" "--edit for a template" "no-title hint names --edit"
# Text rules as upstream counts them: two CJK characters are too short, sixty are fine; a title
# is one line; a criterion of only a no-break space is empty. A bad value is exit 2.
expect_exit 2 "a two-character CJK title" -- "$kb" -C "$p" add A.1 --title "日本" --criterion x --dry-run
contains "$err" "the title must have at least 3 characters (has 2)" "the short title is named"
expect_exit 0 "a 60-character CJK title" -- "$kb" -C "$p" add A.1 --title "$(printf '日%.0s' $(seq 60))" --criterion x --dry-run
expect_exit 2 "a title with a tab" -- "$kb" -C "$p" add A.1 --title $'Two\tcolumns' --criterion x
contains "$err" "a tab" "the tab is named"
expect_exit 2 "an edit to a title with a line break" -- "$kb" -C "$p" edit A.1.1 --title $'Two\nlines'
expect_exit 2 "a criterion of a no-break space" -- "$kb" -C "$p" add A.1 --title "Blank criterion" --criterion $'\xc2\xa0' --dry-run
contains "$err" "acceptance criterion 1 must not be empty" "the blank criterion is named"
# A YAML body from a file or stdin, and the $EDITOR template; blank template fields are skipped.
expect_exit 0 "add --from-file YAML" -- "$kb" -C "$p" add A.1 --dry-run --json --from-file <(printf 'title: "From YAML"\npriority: high\nacceptance_criteria:\n  - "Parses"\n  - ""\n')
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j['title']=='From YAML' and j['placeholders']==[] else 1)" "$out" && pass || fail "YAML body used: $out"
expect_exit 2 "add with a misspelt body field" -- "$kb" -C "$p" add A.1 --from-file <(printf 'titel: x\n')
contains "$err" "in the body: unknown field 'titel'" "body field named"
editor="$work/editor.sh"
printf '#!/bin/sh\nsed -i "s/^title: \\"\\"/title: \\"Edited issue\\"/" "$1"\n' >"$editor" && chmod +x "$editor"
expect_exit 0 "add --edit" -- env EDITOR="$editor" TMPDIR="$work" "$kb" -C "$p" add A.1 --edit --dry-run --json
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j['title']=='Edited issue' and j['placeholders']==['content.acceptance_criteria'] else 1)" "$out" && pass || fail "edited template used: $out"
expect_exit 2 "add --edit saved unchanged" -- env EDITOR=true TMPDIR="$work" "$kb" -C "$p" add A.1 --edit
contains "$err" "aborted" "unchanged template aborts"
[ -z "$(ls "$work"/kodebase-*.yml 2>/dev/null)" ] && pass || fail "template files left behind"
expect_exit 2 "add under an issue" -- "$kb" -C "$p" add A.1.1 --title "Nope"
expect_exit 1 "add with an unknown blocker" -- "$kb" -C "$p" add A.1 --title "Nope" --blocked-by A.1.9
for id in A A.1 A.1.1; do "$kb" -C "$p" ready "$id" >/dev/null; done
expect_exit 0 "ready with an unfinished blocker" -- "$kb" -C "$p" ready A.1.2
contains "$out" "draft → blocked" "ready becomes blocked"
expect_exit 0 "start cascades" -- "$kb" -C "$p" start A.1.1
contains "$out" "no branch: the repository has no commit yet" "unborn HEAD"
contains "$out" "cascade A.1: ready → in_progress" "milestone cascade"
contains "$out" "cascade A: ready → in_progress" "initiative cascade"
"$kb" -C "$p" submit A.1.1 >/dev/null
expect_exit 1 "complete needs the completion block" -- "$kb" -C "$p" complete A.1.1
contains "$err" "implementation_notes" "completion block named"
expect_exit 0 "complete" -- "$kb" -C "$p" complete A.1.1 --result "Client shipped" --tag payments
contains "$out" "cascade A.1.2: blocked → ready" "readiness cascade"
expect_exit 1 "submit a milestone with open children" -- "$kb" -C "$p" submit A.1
contains "$err" "A.1.2 (ready)" "the open child is named"
expect_exit 1 "submit an initiative with open children" -- "$kb" -C "$p" submit A
contains "$err" "A.1 (in_progress)" "the open milestone is named"
expect_exit 0 "cancel reports impact" -- "$kb" -C "$p" cancel A.1.3 --reason "Not needed"
expect_exit 1 "archive an open artifact" -- "$kb" -C "$p" archive A.1.2
contains "$err" "cancel it first: kodebase cancel A.1.2" "archive refusal hint"
expect_exit 0 "archive a cancelled issue" -- "$kb" -C "$p" archive A.1.3 --reason "Superseded"
contains "$out" "A.1.3: cancelled → archived" "archive output"
expect_exit 0 "archive again is a no-op" -- "$kb" -C "$p" archive A.1.3
contains "$out" "already archived" "archive no-op"
expect_exit 1 "block without open blockers" -- "$kb" -C "$p" block A.1.1
expect_exit 0 "strictly valid after all that" -- "$kb" -C "$p" validate --strict
expect_exit 0 "states" -- "$kb" -C "$p" list --format ids --state ready
[ "$out" = "A.1.2" ] && pass || fail "A.1.2 is ready: $out"

# edit, link and unlink change only the lines they must, on both sides
"$kb" -C "$p" add A.1 --title "Rollout" --criterion "Live" >/dev/null 2>&1 # A.1.4
git -C "$p" add -A && git -C "$p" commit -qm lifecycle
expect_exit 0 "edit" -- "$kb" -C "$p" edit A.1.2 --title "Payment tables v2" --priority high
[ "$(git -C "$p" diff --numstat | awk '{print $1 "/" $2}')" = "2/2" ] && pass || fail "edit diff: $(git -C "$p" diff --numstat)"
expect_exit 2 "edit with a bad priority" -- "$kb" -C "$p" edit A.1.2 --priority urgent
expect_exit 2 "edit with nothing to change" -- "$kb" -C "$p" edit A.1.2
expect_exit 0 "link" -- "$kb" -C "$p" link A.1.4 --blocked-by A.1.2
[ "$(git -C "$p" diff --numstat | wc -l)" -eq 2 ] && pass || fail "link edits both files"
expect_exit 1 "link closing a cycle" -- "$kb" -C "$p" link A.1.2 --blocked-by A.1.4
contains "$err" "cycle: A.1.2 -> A.1.4 -> A.1.2" "cycle shown"
expect_exit 1 "link across levels" -- "$kb" -C "$p" link A.1.4 --blocked-by A
contains "$err" "an issue and A an initiative" "cross-level refusal"
expect_exit 0 "unlink" -- "$kb" -C "$p" unlink A.1.4 --blocked-by A.1.2
expect_exit 0 "valid after edits" -- "$kb" -C "$p" validate --strict

# validate --fix repairs one-sided pairs and unambiguous timestamps, and nothing else
fx="$work/fix"
mkdir -p "$fx/.kodebase" && cp -r "$fixtures/kodebase-core/loader-tree" "$fx/.kodebase/artifacts" && chmod -R u+w "$fx"
g="$fx/.kodebase/artifacts/A.cascade-initiative/A.1.development-phase/A.1.1.backend-api.yml"
sed -i 's/blocks: \[A.1.3\]/blocks: []/; s/"2025-10-23T10:00:00Z"/"2025-10-23 10:00:00.5+00:00"/' "$g"
h="$fx/.kodebase/artifacts/A.cascade-initiative/A.2.operations-phase/A.2.2.deployment.yml"
# content (and its lines, byte for byte) moved above metadata
python3 - "$h" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
i = t.index("\ncontent:") + 1
j = re.search(r"\n[a-z_]+:", t[i:])
end = i + j.start() + 1 if j else len(t)
open(sys.argv[1], "w").write(t[i:end] + t[:i] + t[end:])
PY
sorted_before=$(sort "$h" | md5sum)
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)"
expect_exit 1 "broken before the fix" -- "$kb" -C "$fx" validate
before=$(md5sum "$g")
expect_exit 1 "fix --dry-run" -- "$kb" -C "$fx" validate --fix --dry-run
contains "$out" "would fix [RELATIONSHIP_INCONSISTENT_PAIR]" "dry-run lists the repair"
[ "$before" = "$(md5sum "$g")" ] && pass || fail "--dry-run wrote"
expect_exit 0 "fix" -- "$kb" -C "$fx" validate --fix
contains "$out" "fixed [TIMESTAMP_INVALID]" "timestamp repaired"
grep -q 'blocks: \[A.1.3\]' "$g" && grep -q '"2025-10-23T10:00:00Z"' "$g" && pass || fail "file not repaired"
contains "$out" "fixed [KEY_ORDER]" "key order repaired"
head -1 "$h" | grep -q '^metadata:' && pass || fail "metadata is not first again: $(head -1 "$h")"
[ "$sorted_before" = "$(sort "$h" | md5sum)" ] && pass || fail "reordering changed lines, not just their order"
unset KODEBASE_ACTOR

# bad input: unknown fields and a read-only project are clear errors that change nothing
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)"
echo '{"title": "From a file", "acceptance_criteria": ["x"], "colour": "blue"}' >"$work/body.json"
expect_exit 2 "unknown field in --from-file" -- "$kb" -C "$p" add A.1 --from-file "$work/body.json"
contains "$err" "unknown field 'colour'" "unknown field named"
echo '{"title": "From a file", "acceptance_criteria": ["x"]}' | expect_exit 0 "add --from-file -" -- "$kb" -C "$p" add A.1 --from-file -
# A read-only file system: the project on a tmpfs remounted read-only (when this machine lets
# the test mount one), else a folder without write permission (not for root).
ro="$work/ro"
mkdir -p "$ro"
if mount -t tmpfs -o size=16m tmpfs "$ro" 2>/dev/null; then
  cp -r "$p/." "$ro/" && mount -o remount,ro "$ro"
  readonly_project="$ro"
elif [ "$(id -u)" -ne 0 ]; then
  cp -r "$p/." "$ro/" && chmod -R a-w "$ro/.kodebase"
  readonly_project="$ro"
else
  readonly_project=""
  echo "SKIP: read-only project (cannot mount a tmpfs here)"
fi
if [ -n "$readonly_project" ]; then
  before=$(find "$ro/.kodebase" -type f -exec md5sum {} + | sort)
  expect_exit 3 "edit on a read-only file system" -- "$kb" -C "$ro" edit A.1.2 --priority low
  contains "$err" "Read-only file system" "read-only error says why"
  [ "$before" = "$(find "$ro/.kodebase" -type f -exec md5sum {} + | sort)" ] && pass || fail "read-only: files changed"
  umount "$ro" 2>/dev/null || chmod -R u+w "$ro"
fi
unset KODEBASE_ACTOR

# no actor: refused with a hint, nothing written
n="$work/noactor"
mkdir -p "$n" && git -C "$n" init -q && "$kb" -C "$n" init -q >/dev/null
expect_exit 1 "no actor" -- "$kb" -C "$n" add --title "Initiative"
contains "$err" "KODEBASE_ACTOR" "actor hint"
[ -z "$(ls "$n/.kodebase/artifacts")" ] && pass || fail "nothing written without an actor"
KODEBASE_ACTOR="Grace Hopper (grace@example.com)" expect_exit 0 "actor from the environment" -- "$kb" -C "$n" add --title "Initiative"
grep -q 'created_by: "Grace Hopper (grace@example.com)"' "$n"/.kodebase/artifacts/A.*/A.yml && pass || fail "KODEBASE_ACTOR recorded"
KODEBASE_ACTOR="Grace" expect_exit 2 "bad actor" -- "$kb" -C "$n" add --title "Another"

# config: settings are read and changed in place; the user's actor is used before git's
expect_exit 0 "config list" -- "$kb" -C "$n" config list --json
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if {e['key'] for e in j} >= {'actor','hooks.post_merge_complete'} else 1)" "$out" && pass || fail "config list: $out"
expect_exit 0 "config set" -- "$kb" -C "$n" config set hooks.post_merge_complete true
grep -q '^  post_merge_complete: true$' "$n/.kodebase/config/settings.yml" && grep -q '^version: "1.0"$' "$n/.kodebase/config/settings.yml" && pass || fail "settings file: $(cat "$n/.kodebase/config/settings.yml")"
expect_exit 0 "config get" -- "$kb" -C "$n" config get hooks.post_merge_complete
[ "$out" = "true" ] && pass || fail "config get: $out"
expect_exit 2 "config set an unknown key" -- "$kb" -C "$n" config set colour blue
expect_exit 2 "config set a bad boolean" -- "$kb" -C "$n" config set hooks.post_merge_complete maybe
expect_exit 2 "config set a bad actor" -- "$kb" -C "$n" config set actor Grace
expect_exit 0 "config set actor" -- "$kb" -C "$n" config set actor "Linus Chen (linus@example.com)"
expect_exit 0 "add as the configured actor" -- "$kb" -C "$n" add --title "Configured actor"
grep -q 'created_by: "Linus Chen (linus@example.com)"' "$n"/.kodebase/artifacts/B.*/B.yml && pass || fail "user config actor not used"

# concurrent writers: 12 parallel adds get distinct IDs and lose nothing
for i in $(seq 1 12); do
  "$kb" -C "$p" add A.1 --title "Parallel $i" --criterion "x" >"$work/par.$i" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
ids=$(cat "$work"/par.* | grep -E '^A\.1\.[0-9]+$' | sort -u | wc -l)
[ "$ids" -eq 12 ] && pass || fail "12 distinct new IDs, got $ids: $(cat "$work"/par.*)"
expect_exit 0 "valid after concurrent adds" -- "$kb" -C "$p" validate --strict

# SIGKILL at random points: every file is old or new, the project stays valid
for i in $(seq 1 15); do
  "$kb" -C "$p" add A.1 --title "Killed $i" --criterion "x" >/dev/null 2>&1 &
  victim=$!
  sleep "0.0$((RANDOM % 9))"
  pkill -9 -P "$victim" kodebased 2>/dev/null
  kill -9 "$victim" 2>/dev/null
  wait "$victim" 2>/dev/null
done
expect_exit 0 "valid after killed writers" -- "$kb" -C "$p" validate --strict --json
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j['valid'] and not j['errors'] else 1)" "$out" && pass || fail "killed writers left invalid files: ${out:0:300}"

# A cancelled blocker counts as done: its blocked dependent gets the dependency resolved, becomes
# ready and starts; a cancel needs a reason.
c="$work/cancel"
repo "$c"
(
  cd "$c" && "$kb" init -q && "$kb" add --title "Shop" --vision v --in-scope x --out-of-scope y --success z -q &&
    "$kb" add A --title "Payments" --deliverable d -q && "$kb" add A.1 --title "Old provider" --criterion x -q &&
    "$kb" add A.1 --title "New provider" --criterion x --blocked-by A.1.1 -q &&
    for id in A A.1 A.1.1 A.1.2; do "$kb" ready "$id" -q; done
) >/dev/null && pass || fail "setting up the cancel project"
[ "$("$kb" -C "$c" list --format ids --state blocked)" = "A.1.2" ] && pass || fail "A.1.2 starts blocked"
expect_exit 2 "cancel without a reason" -- "$kb" -C "$c" cancel A.1.1
contains "$err" "needs a reason" "the missing reason is named"
expect_exit 0 "cancel the blocker" -- "$kb" -C "$c" cancel A.1.1 --reason "Provider dropped"
contains "$out" "A.1.2: blocked → ready" "the dependent becomes ready"
grep -q "resolved: true" "$(ls "$c"/.kodebase/artifacts/A.*/A.1.*/A.1.2.*.yml)" && pass || fail "the dependency is not resolved in A.1.2's blocked event"
expect_exit 0 "the dependent starts" -- "$kb" -C "$c" start A.1.2 --no-branch
expect_exit 0 "unlink the cancelled blocker" -- "$kb" -C "$c" unlink A.1.2 --blocked-by A.1.1
expect_exit 0 "valid after the cancel" -- "$kb" -C "$c" validate --strict

# cancel --cascade: the open dependents (and theirs) are cancelled with it, each saying why.
(
  cd "$c" && "$kb" add A.1 --title "Refunds" --criterion x -q && "$kb" ready A.1.3 -q &&
    "$kb" add A.1 --title "Refund report" --criterion x --blocked-by A.1.3 -q && "$kb" ready A.1.4 -q &&
    "$kb" add A.1 --title "Refund audit" --criterion x --blocked-by A.1.4 -q && "$kb" ready A.1.5 -q
) >/dev/null && pass || fail "setting up the cascade chain"
expect_exit 0 "cancel with --cascade" -- "$kb" -C "$c" cancel A.1.3 --cascade --reason "No refunds"
contains "$out" "cascade A.1.4: blocked → cancelled" "the direct dependent is cancelled"
contains "$out" "cascade A.1.5: blocked → cancelled" "the dependent's dependent is cancelled"
grep -q "A.1.4 was cancelled with A.1.3: No refunds" "$(ls "$c"/.kodebase/artifacts/A.*/A.1.*/A.1.5.*.yml)" && pass || fail "A.1.5's cancel does not say why"
expect_exit 0 "valid after the cascade" -- "$kb" -C "$c" validate --strict

# Linking a ready issue to an unfinished blocker blocks it (has_dependencies); every view
# agrees it is not ready; unlinking the last open blocker makes it ready again.
(cd "$c" && "$kb" add A.1 --title "Payouts" --criterion x -q && "$kb" ready A.1.6 -q &&
  "$kb" add A.1 --title "Payout mails" --criterion x -q && "$kb" ready A.1.7 -q) >/dev/null &&
  pass || fail "setting up the link case"
expect_exit 0 "link a ready issue to an open blocker" -- "$kb" -C "$c" link A.1.7 --blocked-by A.1.6
contains "$out" "A.1.7: ready → blocked" "the link blocks the ready issue"
[ "$("$kb" -C "$c" list --format ids --state ready)" = "$("$kb" -C "$c" list --format ids --ready)" ] &&
  pass || fail "list --state ready and list --ready disagree"
expect_exit 0 "show the linked issue" -- "$kb" -C "$c" show A.1.7
contains "$out" "blocked" "show says blocked"
expect_exit 0 "unlink the open blocker" -- "$kb" -C "$c" unlink A.1.7 --blocked-by A.1.6
contains "$out" "A.1.7: blocked → ready" "unlinking readies it"
expect_exit 0 "valid after link and unlink" -- "$kb" -C "$c" validate --strict

# Misfiled files and content of another type are flagged; edit refuses another type's field.
expect_exit 2 "edit --vision on an issue" -- "$kb" -C "$c" edit A.1.7 --vision "Lost upstream"
contains "$err" "has no vision" "the refusal names the field"
issue_file=$(ls "$c"/.kodebase/artifacts/A.*/A.1.*/A.1.7.*.yml)
sed -i 's/^content:$/content:\n  vision: "Lost upstream"/' "$issue_file"
expect_exit 0 "foreign content key is a warning" -- "$kb" -C "$c" validate
contains "$out$err" "CONTENT_KEY_OF_OTHER_TYPE" "validate names the foreign key"
expect_exit 1 "foreign content key fails --strict" -- "$kb" -C "$c" validate --strict
sed -i '/^  vision: "Lost upstream"$/d' "$issue_file"
"$kb" -C "$c" add --title "Ops" --vision v --in-scope x --out-of-scope y --success z -q >/dev/null
mkdir -p "$c/.kodebase/artifacts/B.ops/B.1.misc"
git -C "$c" mv -q "$issue_file" "$c/.kodebase/artifacts/B.ops/B.1.misc/" 2>/dev/null ||
  mv "$issue_file" "$c/.kodebase/artifacts/B.ops/B.1.misc/"
expect_exit 1 "a file in the wrong folder fails validate" -- "$kb" -C "$c" validate
contains "$out$err" "PATH_ID_MISMATCH" "validate names the misfiled file"
contains "$out$err" "lies in the folder of B" "the message names the folder"

finish
