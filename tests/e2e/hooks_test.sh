#!/usr/bin/env bash
# End-to-end tests of the git hooks in real repositories: git checkout, commit, merge, push.
# usage: hooks_test.sh <bin-dir> <fixtures-dir>
set -uo pipefail
bin=$1 fixtures=$2
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"

r="$work/repo"
mkdir -p "$r" && git -C "$r" init -q -b main && git -C "$r" config user.name "Ada Lovelace" &&
  git -C "$r" config user.email ada@example.com
mkdir -p "$r/.kodebase" && cp -r "$fixtures/kodebase-core/loader-tree" "$r/.kodebase/artifacts" && chmod -R u+w "$r"
printf '/.lock\n/.journal\n*.kb-tmp\n.*.tmp-*\n' >"$r/.kodebase/.gitignore"
printf 'hooks:\n  post_merge_complete: true\n' >"$r/.kodebase/config.yml.tmp"
mkdir -p "$r/.kodebase/config" && mv "$r/.kodebase/config.yml.tmp" "$r/.kodebase/config/settings.yml"
printf '#!/bin/sh\necho "their hook ran" >> "%s"\nexit 0\n' "$work/theirs.log" >"$r/.git/hooks/post-checkout"
chmod +x "$r/.git/hooks/post-checkout"
git -C "$r" add -A && git -C "$r" commit -qm init

expect_exit 0 "install" -- "$kb" -C "$r" hooks install
contains "$out" "post-checkout  installed (with other commands)" "existing hook kept"
contains "$out" "merge driver   installed" "install sets up the merge driver"
grep -q "merge=kodebase" "$r/.gitattributes" && pass || fail "no .gitattributes line for the driver"
git -C "$r" add .gitattributes && git -C "$r" commit -qm "merge driver" --no-verify
cp "$r/.git/hooks/post-checkout" "$work/first"
expect_exit 0 "install again" -- "$kb" -C "$r" hooks install
cmp -s "$r/.git/hooks/post-checkout" "$work/first" && pass || fail "install is not idempotent"
expect_exit 0 "status --json" -- "$kb" -C "$r" hooks status --json
python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if all(h['installed'] for h in j['hooks']) and len(j['hooks'])==4 else 1)" "$out" && pass || fail "status: $out"

# post-checkout of a branch named by a ready issue starts it; the parent milestone is already
# in progress, so nothing cascades there
git -C "$r" checkout -q -b A.2.2 2>"$work/err"
state() { "$kb" -C "$r" show "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['state'])"; }
[ "$(state A.2.2)" = "in_progress" ] && pass || fail "checkout -b A.2.2 did not start it: $(cat "$work/err")"
grep -q "their hook ran" "$work/theirs.log" && pass || fail "the existing hook no longer runs"
git -C "$r" checkout -q -b feature/x 2>/dev/null && git -C "$r" checkout -q A.2.2
[ -z "$(git -C "$r" status --porcelain | grep -v A.2.2.deployment)" ] && pass || fail "non-artifact branch changed files"

# pre-commit: invalid staged artifacts are refused, valid ones pass
f="$r/.kodebase/artifacts/A.cascade-initiative/A.2.operations-phase/A.2.2.deployment.yml"
git -C "$r" add -A
expect_exit 0 "valid commit" -- git -C "$r" commit -qm "start A.2.2"
cp "$f" "$work/good.yml"
sed -i 's/priority: high/priority: urgent/' "$f"
git -C "$r" add -A
expect_exit 1 "invalid commit refused" -- git -C "$r" commit -qm "bad"
contains "$err" "invalid_enum_value" "pre-commit shows the finding"
cp "$work/good.yml" "$f" && git -C "$r" add -A

# post-merge completes the merged artifact branch (policy on) and readies its dependents
"$kb" -C "$r" submit A.2.2 >/dev/null 2>&1 || true
"$kb" -C "$r" start A.1.1 >/dev/null 2>&1 || true
cat >>"$f" <<'YAML'
implementation_notes:
  result: "Pipeline live"
YAML
git -C "$r" add -A && git -C "$r" commit -qm "A.2.2 ready for review"
git -C "$r" checkout -q main
expect_exit 0 "merge" -- git -C "$r" merge -q --no-ff -m "Merge A.2.2" A.2.2
[ "$(state A.2.2)" = "completed" ] && pass || fail "merge did not complete A.2.2: $err"
contains "$err" "staged the artifact changes (gitOps.post_merge.strategy: manual)" "manual strategy stages"
git -C "$r" diff --cached --name-only | grep -q A.2.2.deployment && pass || fail "completion not staged"
expect_exit 0 "valid after merge" -- "$kb" -C "$r" validate

# pre-push warns about drafts going to main
"$kb" -C "$r" add A.2 --title "A draft issue" --criterion x >/dev/null 2>&1 || KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" "$kb" -C "$r" add A.2 --title "A draft issue" --criterion x >/dev/null
git -C "$r" add -A && git -C "$r" commit -qm "draft" --no-verify
git init -q --bare "$work/remote.git"
git -C "$r" remote add origin "$work/remote.git"
# A draft only in the work tree is not pushed, so it is not reported.
KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" "$kb" -C "$r" add A.1 --title "Uncommitted draft" --criterion x >/dev/null 2>&1
expect_exit 0 "push with drafts warns" -- git -C "$r" push -q origin main
contains "$err" "draft artifacts would reach main: A.2.3" "pre-push warning names the pushed draft"
[[ "$err" != *A.1.5* ]] && pass || fail "an uncommitted draft was reported: $err"
rm -f "$r"/.kodebase/artifacts/A.*/A.1.*/A.1.5.*.yml
printf 'hooks:\n  post_merge_complete: true\n  pre_push_block_drafts: true\n' >"$r/.kodebase/config/settings.yml"
git -C "$r" commit -qam "block drafts" --no-verify
expect_exit 1 "push with drafts blocked by policy" -- git -C "$r" push -q origin main

# direct_commit: a merge's completion is committed on the branch merged into
expect_exit 0 "strategy direct_commit" -- "$kb" -C "$r" config set gitOps.post_merge.strategy direct_commit
git -C "$r" commit -qam "commit merges directly" --no-verify
git -C "$r" checkout -q -b A.2.1
f21=$(ls "$r"/.kodebase/artifacts/A.*/A.2.*/A.2.1.*.yml)
printf 'implementation_notes:\n  result: "Docs written"\n' >>"$f21"
git -C "$r" commit -qam "A.2.1 done" --no-verify && git -C "$r" checkout -q main
expect_exit 0 "merge with direct_commit" -- git -C "$r" merge -q --no-ff -m "Merge A.2.1" A.2.1
[ "$(state A.2.1)" = "completed" ] && pass || fail "merge did not complete A.2.1: $err"
[ "$(git -C "$r" log -1 --format=%s)" = "chore(cascade): complete A.2.1 (merged)" ] && pass ||
  fail "no cascade commit: $(git -C "$r" log -1 --format=%s) $err"
[ -z "$(git -C "$r" status --porcelain -- .kodebase/artifacts)" ] && pass || fail "changes left: $(git -C "$r" status --porcelain)"
# hooks can be switched off for a project
"$kb" -C "$r" config set gitOps.hooks.enabled false -q
expect_exit 0 "hooks off" -- "$kb" -C "$r" hooks run pre-push --json
contains "$out" "hooks are off" "disabled hooks do nothing"

# core.hooksPath is honoured; uninstall removes only our block
mkdir -p "$r/.githooks"
git -C "$r" config core.hooksPath .githooks
expect_exit 0 "install into core.hooksPath" -- "$kb" -C "$r" hooks install
[ -x "$r/.githooks/pre-commit" ] && pass || fail "hooks written to core.hooksPath"
git -C "$r" config --unset core.hooksPath
expect_exit 0 "uninstall" -- "$kb" -C "$r" hooks uninstall
[ "$(cat "$r/.git/hooks/post-checkout")" = "$(printf '#!/bin/sh\necho "their hook ran" >> "%s"\nexit 0' "$work/theirs.log")" ] && pass || fail "uninstall did not restore their hook"
[ ! -e "$r/.git/hooks/pre-commit" ] && pass || fail "our own hook files are removed"

# a hook never breaks git for an internal reason
expect_exit 0 "run outside a project" -- bash -c "cd '$work' && '$kb' hooks run post-checkout a b 1"
contains "$err" "git goes on" "internal failure is a warning"
expect_exit 2 "unknown hook" -- "$kb" -C "$r" hooks run post-rewrite

finish
