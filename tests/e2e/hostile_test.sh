#!/usr/bin/env bash
# A repository crafted by someone hostile, read through every door (the daemon, --no-daemon,
# MCP, validate, the pre-commit hook): links out of the tree, devices, FIFOs, link loops, bytes
# that are not UTF-8, binary files, repeated keys, an alias bomb, huge files. Each bad file is
# reported and skipped, nothing hangs or leaks, the rest of the project works. Prints the time
# each kind of bad file costs a full read.
# usage: hostile_test.sh <bin-dir> <source-dir>
set -uo pipefail
bin=$1 src=$2
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"
export KODEBASE_ACTOR="Ada Lovelace (ada@example.com)"

p="$work/shop"
cp -r "$src/examples/webshop" "$p"
git -C "$p" init -q -b main && git -C "$p" config user.name Ada && git -C "$p" config user.email ada@example.com
git -C "$p" add -A && git -C "$p" commit -qm example
mi=$(dirname "$(ls "$p"/.kodebase/artifacts/A.*/A.1.*/A.1.yml)")
count() { "$kb" -C "$p" list --format ids "$@" 2>/dev/null | wc -l; }
total=$(count)
[ "$total" -gt 10 ] && pass || fail "the example lists: $total"

# The time a full read takes with a bad file in the tree (one-shot: nothing warm).
timed() {
  local what=$1 t0
  t0=$(date +%s%N)
  timeout 20 "$kb" -C "$p" list --format ids --no-daemon >/dev/null 2>&1
  local rc=$?
  echo "$what: full read in $((($(date +%s%N) - t0) / 1000000)) ms (exit $rc)"
  return $rc
}
timed "clean tree" || fail "a clean full read failed"

# 2. A link to gh's token file outside the repository is never read, through any door.
mkdir -p "$HOME/.config/gh"
printf 'github.com:\n    oauth_token: gho_SECRETTOKEN000000000000000000000000\n    user: ada\n' >"$HOME/.config/gh/hosts.yml"
ln -s "$HOME/.config/gh/hosts.yml" "$mi/A.1.11.notes.yml"
timed "link out of the tree" || fail "a link out of the tree broke the read"
expect_exit 1 "show of the linked artifact" -- "$kb" -C "$p" show A.1.11 --json
[[ "$out$err" != *SECRETTOKEN* ]] && pass || fail "show leaked the linked file: $out$err"
expect_exit 0 "list --json with the link" -- "$kb" -C "$p" list --json
[[ "$out" != *SECRETTOKEN* ]] && pass || fail "list leaked the linked file"
expect_exit 1 "validate reports the link" -- "$kb" -C "$p" validate --json
contains "$out" "UNSAFE_FILE" "validate names the unsafe file"
[[ "$out" != *SECRETTOKEN* ]] && pass || fail "validate leaked the linked file"
mcp_out=$(printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"kodebase://artifact/A.1.11"}}' \
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_artifact","arguments":{"id":"A.1.11"}}}' |
  (cd "$p" && timeout 30 "$kb" mcp 2>/dev/null))
[ "$(grep -c '"id":[23]' <<<"$mcp_out")" -eq 2 ] && pass || fail "MCP did not answer both reads: $mcp_out"
[[ "$mcp_out" != *SECRETTOKEN* ]] && pass || fail "MCP leaked the linked file: $mcp_out"
git -C "$p" add "$mi/A.1.11.notes.yml"
expect_exit 1 "pre-commit refuses a staged link" -- "$kb" -C "$p" hooks run pre-commit
contains "$out$err" "symbolic link" "pre-commit says why"
git -C "$p" reset -q
rm "$mi/A.1.11.notes.yml"

# 8. Devices, FIFOs and link loops: nothing hangs, the daemon stays up.
ln -s /dev/zero "$mi/A.1.12.yml"
ln -s /dev/urandom "$mi/A.1.13.yml"
mkfifo "$work/fifo" && ln -s "$work/fifo" "$mi/A.1.14.yml"
mkfifo "$mi/A.1.15.yml"
ln -s . "$mi/loop" && ln -s . "$mi/loop2"
timed "devices, FIFOs and link loops" || fail "devices, FIFOs or loops broke the read"
expect_exit 0 "the daemon lists with devices, FIFOs and loops" -- timeout 20 "$kb" -C "$p" list --format ids
[ "$(wc -l <<<"$out")" -eq "$total" ] && pass || fail "the rest of the project did not list: $out"
expect_exit 1 "validate names them" -- timeout 20 "$kb" -C "$p" validate
[ "$(grep -c UNSAFE_FILE <<<"$out")" -ge 6 ] && pass || fail "validate missed some: $out"
expect_exit 0 "the daemon still answers" -- timeout 20 "$kb" -C "$p" show A.1 --json
rss=$(ps -o rss= -p "$(cat "$work/run/daemon.lock")" 2>/dev/null)
echo "daemon RSS after devices, FIFOs and loops: $((${rss:-0} / 1024)) MB"
KODEBASE_DAEMON_WATCH=poll KODEBASE_RUNTIME_DIR="$work/run-poll" timeout 20 "$kb" -C "$p" list -q >/dev/null &&
  pass || fail "the polling daemon cannot list with link loops"
rss=$(ps -o rss= -p "$(cat "$work/run-poll/daemon.lock")" 2>/dev/null)
echo "polling daemon RSS with two link loops: $((${rss:-0} / 1024)) MB"
[ "${rss:-0}" -lt 500000 ] && pass || fail "the polling daemon grew to $rss kB"
KODEBASE_RUNTIME_DIR="$work/run-poll" "$kb" daemon stop -q
rm -f "$mi/A.1.12.yml" "$mi/A.1.13.yml" "$mi/A.1.14.yml" "$mi/A.1.15.yml" "$mi/loop" "$mi/loop2"

# 5. One byte that is not UTF-8 in a title, a folder name that is not UTF-8, a binary file:
#    each reported with its place, everything else lists, in every door.
f=$(ls "$mi"/A.1.1.*.yml)
cp "$f" "$work/saved.yml"
sed -i '0,/title: /s/title: /title: \xff/' "$f"
mkdir "$mi/bad-$(printf '\xe9')-folder"
cp "$work/saved.yml" "$mi/bad-$(printf '\xe9')-folder/A.1.16.yml"
{ printf 'metadata:\n  title: x\n'; head -c 4096 /dev/zero; } >"$mi/A.1.17.yml"
timed "invalid UTF-8 and binary files" || fail "bad bytes broke the read"
for mode in "" "--no-daemon"; do
  expect_exit 0 "list ${mode:-through the daemon} with bad bytes" -- "$kb" -C "$p" list --json $mode
  python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out" && pass || fail "list --json $mode is not JSON"
  [ "$(count $mode)" -eq $((total - 1)) ] && pass || fail "list $mode lost more than the broken file"
done
expect_exit 1 "validate flags the bytes" -- "$kb" -C "$p" validate
contains "$out" "INVALID_UTF8" "validate names the invalid UTF-8"
contains "$out" "line 2, column 10" "validate says where"
contains "$out" "INVALID_PATH" "validate names the folder"
contains "$out" "BINARY_CONTENT" "validate names the binary file"
git -C "$p" add -A 2>/dev/null
expect_exit 1 "pre-commit refuses them" -- "$kb" -C "$p" hooks run pre-commit
git -C "$p" reset -q
cp "$work/saved.yml" "$f"
rm -rf "$mi"/bad-*-folder "$mi/A.1.17.yml"

# A byte order mark and CRLF line ends are read, and an edit keeps them.
printf '\xef\xbb\xbf' >"$work/crlf.yml" && sed 's/$/\r/' "$work/saved.yml" >>"$work/crlf.yml" && cp "$work/crlf.yml" "$f"
expect_exit 0 "a BOM and CRLF file reads" -- "$kb" -C "$p" show A.1.1 --json
expect_exit 0 "edit a BOM and CRLF file" -- "$kb" -C "$p" edit A.1.1 --priority low
[ "$(head -c 3 "$f" | od -An -tx1 | tr -d ' ')" = efbbbf ] && pass || fail "the BOM was dropped"
[ "$(grep -c $'\r$' "$f")" -eq "$(wc -l <"$f")" ] && pass || fail "CRLF line ends were not kept"
cp "$work/saved.yml" "$f"

# 6. A repeated key: an error naming both lines, and edits refuse the file.
sed -i '0,/^  priority: /s//  title: "Second title"\n  priority: /' "$f"
expect_exit 1 "validate flags the repeated key" -- "$kb" -C "$p" validate
contains "$out" "DUPLICATE_KEY" "the repeated key's code"
contains "$out" "first at line 2" "both lines named"
expect_exit 1 "edit refuses a file with a repeated key" -- "$kb" -C "$p" edit A.1.1 --priority low
cp "$work/saved.yml" "$f"

# 9. A 1 KB alias bomb is refused fast, in little memory.
{
  echo 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'
  prev=a
  for n in b c d e f g h i j; do
    echo "$n: &$n [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
    prev=$n
  done
  cat "$work/saved.yml"
} >"$mi/A.1.18.yml"
timed "alias bomb" || fail "the alias bomb broke the read"
expect_exit 1 "validate flags the alias bomb" -- "$kb" -C "$p" validate
contains "$out" "YAML_ALIAS_LIMIT" "the alias bomb's code"
rm "$mi/A.1.18.yml"

# Huge files are not read.
{ cat "$work/saved.yml"; head -c $((5 << 20)) /dev/zero | tr '\0' '#'; echo; } >"$mi/A.1.19.yml"
timed "5 MB file" || fail "a huge file broke the read"
expect_exit 1 "validate flags the huge file" -- "$kb" -C "$p" validate
contains "$out" "FILE_TOO_LARGE" "the huge file's code"
rm "$mi/A.1.19.yml"

# 7. add counts every file name: a broken A.2.20 is not minted again.
m2=$(dirname "$(ls "$p"/.kodebase/artifacts/A.*/A.2.*/A.2.yml)")
echo "metadata: [broken" >"$m2/A.2.20.yml"
expect_exit 0 "add next to a broken file" -- "$kb" -C "$p" add A.2 --title "New issue" --criterion x --json
contains "$out" '"id":"A.2.21"' "add skips the broken file's ID"
finish
