#!/usr/bin/env bash
# Installs the Debian 12 packages kodebase needs to build and test, when any are missing.
# Uses sudo when not root. Safe to run again: does nothing when everything is present.
set -euo pipefail
packages=(
  g++ cmake ninja-build ccache pkg-config git
  nlohmann-json3-dev libfmt-dev libcli11-dev libyaml-cpp-dev catch2 libgit2-dev libboost-dev
  libcurl4-openssl-dev libsqlite3-dev libssl-dev gh libhiredis-dev redis-server redis-tools
  clang clang-format clang-tidy libclang-rt-14-dev python3 procps curl strace
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "kodebase: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
