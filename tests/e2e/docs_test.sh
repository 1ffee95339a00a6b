#!/usr/bin/env bash
# The man page and the committed completion scripts agree with the CLI's command table.
# usage: docs_test.sh <bin-dir> <source-dir> [<build-dir> to also check `cmake --install`]
set -uo pipefail
kb="$1/kodebase" src=$2 build=${3:-}
failures=0 passes=0
# Completion asks the daemon for IDs: a private runtime directory, and its daemon ended on exit.
work=$(mktemp -d)
export KODEBASE_RUNTIME_DIR="$work/run" XDG_STATE_HOME="$work/state"
trap 'pid=$(cat "$work/run/daemon.lock" 2>/dev/null) && [ -n "$pid" ] && kill -9 "$pid"; rm -rf "$work"' EXIT
check() { if eval "$1"; then passes=$((passes + 1)); else echo "FAIL: $2"; failures=$((failures + 1)); fi; }

for pair in bash:kodebase.bash zsh:_kodebase fish:kodebase.fish; do
  shell=${pair%%:*} file=${pair#*:}
  check "diff -q <('$kb' completion $shell) '$src/completions/$file' >/dev/null" \
    "completions/$file is stale: regenerate with \`kodebase completion $shell > completions/$file\`"
done

# Every command and every long option of the table appears in the man page.
man_text=$(sed 's/\\//g' "$src/man/kodebase.1")
fish_script=$("$kb" completion fish)
commands=$(grep -oE "__fish_use_subcommand' -a [a-z]+" <<<"$fish_script" | awk '{print $3}')
[ -n "$commands" ] || { echo "FAIL: no commands found in the table"; exit 1; }
for c in $commands; do
  check "grep -qE '^\\.(B|BR|BI) \"?$c\\b' <<<\"\$man_text\"" "man page lacks command '$c'"
done
for opt in $(grep -oE ' -l [a-z-]+' <<<"$fish_script" | awk '{print $2}' | sort -u); do
  check "grep -q -- '--$opt' <<<\"\$man_text\"" "man page lacks option --$opt"
done

# The bash completion really completes.
source "$src/completions/kodebase.bash"
COMP_WORDS=(kodebase li) COMP_CWORD=1
_kodebase
check '[[ " ${COMPREPLY[*]} " == *" list "* ]]' "bash completion offers 'list'"
COMP_WORDS=(kodebase list --state bl) COMP_CWORD=3
_kodebase
check '[[ "${COMPREPLY[*]}" == "blocked" ]]' "bash completion offers state values"
# Artifact IDs come from the project named by -C, only those the command applies to.
PATH="$1:$PATH"
COMP_WORDS=(kodebase -C "$src/examples/webshop" start A.2.) COMP_CWORD=4
_kodebase
check '[[ "${COMPREPLY[*]}" == "A.2.5 A.2.7" ]]' "bash completion offers the ready A.2 issues: ${COMPREPLY[*]}"
COMP_WORDS=(kodebase -C "$src/examples/webshop" show A.2.) COMP_CWORD=4
_kodebase
check '[ "${#COMPREPLY[@]}" -gt 2 ]' "bash completion offers every A.2 issue to show: ${COMPREPLY[*]}"
ids=$("$kb" -C "$src/examples/webshop" __complete ids --for complete)
check '[ -n "$ids" ] && ! grep -qv "$(printf "\t")" <<<"$ids"' "__complete prints ID<TAB>title lines: $ids"
check '[ -z "$("$kb" -C / __complete ids 2>&1)" ]' "__complete is silent outside a project"
check '! "$kb" --help | grep -q __complete' "__complete is hidden from --help"

# Every server method is in kodebased(8).
for m in $(grep -oE '"(project|artifacts|hooks)\.[a-z]+"' "$src/core/protocol/methods.hpp" | tr -d '"'); do
  check "grep -q -- '$m' '$src/man/kodebased.8'" "kodebased(8) lacks method $m"
done

# `cmake --install` puts binaries, man pages and completions under GNUInstallDirs.
if [ -n "$build" ]; then
  prefix=$(mktemp -d)
  if cmake --install "$build" --prefix "$prefix" >/dev/null; then
    for f in bin/kodebase bin/kodebased share/man/man1/kodebase.1 share/man/man8/kodebased.8 \
      share/bash-completion/completions/kodebase share/zsh/site-functions/_kodebase \
      share/fish/vendor_completions.d/kodebase.fish lib/systemd/user/kodebase.socket \
      lib/systemd/user/kodebase.service; do
      check "[ -e '$prefix/$f' ]" "cmake --install lacks $f"
    done
  else
    check false "cmake --install failed"
  fi
  check "grep -q '^ExecStart=/.*/kodebased --foreground$' '$prefix/lib/systemd/user/kodebase.service'" \
    "the service unit runs kodebased from the configured bindir"
  rm -rf "$prefix"
fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
