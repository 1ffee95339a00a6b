#!/usr/bin/env bash
# End-to-end tests of the kodebase binaries in temporary projects.
# usage: cli_test.sh <bin-dir> <fixtures-dir> <source-dir>
set -uo pipefail
bin=$1 fixtures=$2 src=$3
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"
json_check() { # json_check DESCRIPTION PYTHON-EXPR (over variable j)
  if printf '%s' "$out" | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($2) else 1)"; then
    pass
  else
    fail "$1: JSON check '$2' failed on: ${out:0:400}"
  fi
}

proj="$work/proj"
mkdir -p "$proj/.kodebase"
cp -r "$fixtures/kodebase-core/loader-tree" "$proj/.kodebase/artifacts"
chmod -R u+w "$proj"

# version and help
expect_exit 0 "version" -- "$kb" version
contains "$out" "kodebase " "version output"
expect_exit 0 "--help" -- "$kb" --help
contains "$out" "Exit status" "help teaches exit codes"
expect_exit 0 "list --help" -- "$kb" list --help
contains "$out" "--state" "list help shows its filters"

# list --json contract, from a subdirectory (root found by walking up)
mkdir -p "$proj/src/deep"
cd "$proj/src/deep"
expect_exit 0 "list --json" -- "$kb" list --json
json_check "list is an array in natural ID order" \
  "isinstance(j, list) and [a['id'] for a in j] == ['A','A.1','A.1.1','A.1.2','A.1.3','A.1.4','A.2','A.2.1','A.2.2','B','B.1','B.1.1']"
json_check "list objects carry the documented keys" \
  "all(set(['id','type','title','state','priority','estimation','assignee','parent','path','blocked_by','blocks']) <= set(a) for a in j)"
json_check "list reports states and parents" \
  "j[4]['state'] == 'blocked' and j[4]['parent'] == 'A.1' and j[4]['blocked_by'] == ['A.1.1']"
cd "$work"

expect_exit 0 "list filters" -- "$kb" -C "$proj" list --state blocked,ready --format ids
[ "$out" = $'A.1.3\nA.1.4\nA.2.2' ] && pass || fail "list --state blocked,ready --format ids gave: $out"
expect_exit 0 "list piped has no colour" -- "$kb" -C "$proj" list
[[ "$out" != *$'\x1b['* ]] && pass || fail "piped list contains ANSI escapes"
contains "$out" "ID     STATE" "list table header"
expect_exit 0 "list as tree" -- "$kb" -C "$proj" list --format tree --parent A
contains "$out" "├── A.1.2 Database Schema Design (completed)" "list tree"

# show
expect_exit 0 "show --json" -- "$kb" -C "$proj" show A.1.3 --json
json_check "show has readiness and the document" \
  "j['state'] == 'blocked' and j['ready'] is False and j['blocking_reasons'][0]['related'] == ['A.1.1'] and j['content']['summary'].startswith('Integrate')"
expect_exit 0 "show human" -- "$kb" -C "$proj" show A.1.3
contains "$out" "waiting on A.1.1 (in_progress)" "show explains readiness"
expect_exit 1 "show unknown ID" -- "$kb" -C "$proj" show A.9.9
contains "$err" "kodebase: artifact A.9.9 not found" "unknown ID message"
contains "$err" "kodebase list" "unknown ID hint"
expect_exit 2 "show malformed ID" -- "$kb" -C "$proj" show a.1
contains "$err" "is not an artifact ID" "malformed ID message"

# usage errors
expect_exit 2 "bad flag" -- "$kb" -C "$proj" list --bogus
contains "$err" "kodebase:" "bad flag message"
expect_exit 2 "bad choice" -- "$kb" -C "$proj" list --state done
expect_exit 2 "unknown command" -- "$kb" frobnicate
expect_exit 2 "missing argument" -- "$kb" show

# tree, log, next, context, status
expect_exit 0 "tree" -- "$kb" -C "$proj" tree
contains "$out" "└── B.1 Loader Performance & Reliability (in_review)" "tree drawing"
expect_exit 0 "tree --json subtree" -- "$kb" -C "$proj" tree A.2 --json
json_check "subtree" "j[0]['id'] == 'A.2' and len(j[0]['children']) == 2"
expect_exit 0 "log" -- "$kb" -C "$proj" log A.1.2
contains "$out" "pr_merged" "log lists events"
expect_exit 0 "next --json" -- "$kb" -C "$proj" next --json
json_check "next suggests A.2.2 first" "j[0]['id'] == 'A.2.2' and j[0]['startable'] is True"
expect_exit 0 "context to file" -- "$kb" -C "$proj" context A.1.3 --format detailed -o "$work/ctx.md"
contains "$(cat "$work/ctx.md")" "## Parent Hierarchy" "context file"
expect_exit 2 "context bad format" -- "$kb" -C "$proj" context A.1.3 --format huge
expect_exit 0 "status" -- "$kb" -C "$proj" status
contains "$out" "12 artifacts: 2 initiatives, 3 milestones, 7 issues" "status counts"
contains "$out" "A.1.3" "status lists blocked work"
expect_exit 0 "status --json" -- "$kb" -C "$proj" status --json
json_check "status JSON" "j['by_state']['blocked'] == 2 and j['next'][0]['id'] == 'A.2.2'"

# validate: lenient passes with warnings, strict fails on the older actor forms
expect_exit 0 "validate" -- "$kb" -C "$proj" validate
contains "$out" "12 artifacts checked: 0 errors" "validate summary"
expect_exit 1 "validate --strict" -- "$kb" -C "$proj" validate --strict --json
json_check "strict JSON contract" \
  "j['valid'] is False and j['artifacts'] == 12 and all(set(['id','path','code','message','field','line','column','fix']) <= set(e) for e in j['errors'])"
expect_exit 0 "validate one ID" -- "$kb" -C "$proj" validate A.1.2 --json
json_check "validate limits to the ID" "j['artifacts'] == 1"

# a malformed file: reported with file:line:col, everything else still listed
bad="$proj/.kodebase/artifacts/B.loader-enhancements/B.2.yml"
printf 'metadata:\n  title: "Broken"\n  events: [\n' >"$bad"
expect_exit 0 "list with a broken file" -- "$kb" -C "$proj" list --format ids
[ "$(printf '%s\n' "$out" | wc -l)" -eq 12 ] && pass || fail "other artifacts still listed: $out"
contains "$err" ".kodebase/artifacts/B.loader-enhancements/B.2.yml:4:1" "broken file location"
expect_exit 1 "validate with a broken file" -- "$kb" -C "$proj" validate --json
json_check "YAML_SYNTAX_ERROR reported" \
  "any(e['code'] == 'YAML_SYNTAX_ERROR' and e['id'] == 'B.2' and e['line'] == 4 for e in j['errors'])"
expect_exit 1 "show of the broken artifact" -- "$kb" -C "$proj" show B.2
contains "$err" "cannot be read" "show explains the broken file"
rm "$bad"

# no project
mkdir -p "$work/empty"
expect_exit 3 "no project" -- "$kb" -C "$work/empty" list
contains "$err" "kodebase init" "no-project hint"
expect_exit 3 "missing -C directory" -- "$kb" -C "$work/nope" list

# init
expect_exit 0 "init" -- "$kb" -C "$work/empty" init
contains "$out" "Initialized kodebase project" "init message"
[ -f "$work/empty/.kodebase/config/settings.yml" ] && pass || fail "init wrote settings.yml"
before=$(find "$work/empty/.kodebase" -type f -exec md5sum {} + | sort)
expect_exit 0 "init again" -- "$kb" -C "$work/empty" init
contains "$out" "already a kodebase project" "second init"
[ "$before" = "$(find "$work/empty/.kodebase" -type f -exec md5sum {} + | sort)" ] && pass || fail "second init changed files"
expect_exit 0 "list of an empty project" -- "$kb" -C "$work/empty" list --json
json_check "empty list" "j == []"

# the server: one-shot protocol errors are JSON-RPC errors, not crashes
expect_exit 0 "oneshot garbage" -- bash -c "printf 'not json\n' | '$bin/kodebased' --oneshot"
contains "$out" '"code":-32700' "parse error reply"
expect_exit 0 "oneshot unknown method" -- bash -c "printf '%s\n' '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}' | '$bin/kodebased' --oneshot"
contains "$out" '"code":-32601' "method not found reply"
expect_exit 0 "oneshot oversized frame" -- bash -c "head -c 17000000 /dev/zero | tr '\\0' 'x' | '$bin/kodebased' --oneshot"
contains "$out" "size limit" "oversized frame reply"
KODEBASE_DAEMON_BIN="$work/no-such-kodebased" expect_exit 3 "missing server binary" -- "$kb" -C "$proj" list --no-daemon
contains "$err" "cannot run" "missing server binary message"
KODEBASE_RUNTIME_DIR="$work/run-missing" KODEBASE_DAEMON_BIN="$work/no-such-kodebased" expect_exit 3 "missing daemon binary" -- "$kb" -C "$proj" list
contains "$err" "cannot run" "missing daemon binary message"

# the bundled example project is valid in strict mode and covers every state
expect_exit 0 "example validates strictly" -- "$kb" -C "$src/examples/webshop" validate --strict
expect_exit 0 "example states" -- "$kb" -C "$src/examples/webshop" status --json
json_check "every state present" "all(n > 0 for n in j['by_state'].values()) and 25 <= j['artifacts'] <= 35"

# the CLI stays thin: no heavy library linked, dynamically or (release build) statically
if ldd "$kb" >/dev/null 2>&1; then
  heavy=$(ldd "$kb" | grep -oE 'lib(git2|curl|sqlite3|yaml-cpp|hiredis)[^ ]*' || true)
else
  heavy=$(nm "$kb" | grep -oE ' T (git_repository_open|curl_easy_init|sqlite3_open|redisReaderCreate|_ZN4YAML4Load.*)$' || true)
fi
[ -z "$heavy" ] && pass || fail "kodebase links heavy libraries: $heavy"

finish
