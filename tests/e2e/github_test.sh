#!/usr/bin/env bash
# End-to-end tests of the daemon's GitHub proxy against a stand-in upstream (fake_github.py,
# which logs every request it gets, so "answered without asking GitHub" is checked, not
# assumed): cache hits inside the fresh window, 304 revalidation, per-token partitions,
# coalescing of identical concurrent GETs, invalidation by a mutation, Link rewriting and
# pagination, stale answers when GitHub fails, gzip, github.sock for curl, the cache surviving a
# restart, and no token anywhere on disk or in replies.
# usage: github_test.sh <bin-dir> <source-dir>
set -uo pipefail
bin=$1 src=$2
kb="$bin/kodebase"
source "$(dirname "$0")/lib.sh"
rt="$work/run"

python3 "$src/tests/e2e/fake_github.py" "$work/port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
upstream="http://127.0.0.1:$port"
export KODEBASE_GITHUB_API_URL="$upstream"
token1="ghp_kodebaseTestTokenNumberOne000000000001"
token2="ghp_kodebaseTestTokenNumberTwo000000000002"
# requests_to PATH: how many requests for PATH (exactly, query included) reached upstream.
requests_to() {
  curl -s "$upstream/_log" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"] == sys.argv[1]))' "$1"
}
# last_request PATH FIELD: FIELD of the newest request for PATH.
last_request() {
  curl -s "$upstream/_log" | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin) if r["path"] == sys.argv[1]][-1][sys.argv[2]])' "$1" "$2"
}
# wait_until CONDITION: polls for up to 10 s.
wait_until() { local i; for i in $(seq 1 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
# gh's stored login, used when a request brings no token (the daemon asks `gh auth token
# --hostname` the host of its API address: the stand-in's, never github.com's for another)
stored="ghp_kodebaseTestStoredLogin0000000000000009"
mkdir -p "$XDG_CONFIG_HOME/gh"
printf '127.0.0.1:\n    oauth_token: %s\n    user: ada\n    git_protocol: https\n' "$stored" >"$XDG_CONFIG_HOME/gh/hosts.yml"
printf 'github.com:\n    oauth_token: ghp_kodebaseTestGithubComLogin000000000008\n    user: ada\n' >>"$XDG_CONFIG_HOME/gh/hosts.yml"
status_of() { grep -m1 '^HTTP/1.1' <<<"$1" | cut -d' ' -f2; }
cache_mode() { grep -i -m1 '^Cache-Status:' <<<"$1" | sed 's/.*detail=//' | tr -d '\r'; }

# a miss, then a hit inside the fresh window: one upstream request
expect_exit 0 "first GET" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i
[ "$(status_of "$out")" = 200 ] && pass || fail "first GET status: $out"
[ "$(cache_mode "$out")" = miss ] && pass || fail "first GET should be a miss: $out"
contains "$out" '"full_name": "o/r"' "first GET body"
[[ "$out" != *Set-Cookie* ]] && pass || fail "Set-Cookie passed on: $out"
first_body=$(sed -n '/^{/,$p' <<<"$out")
expect_exit 0 "second GET" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = hit ] && pass || fail "second GET should be a hit: $out"
[ "$(requests_to /repos/o/r)" = 1 ] && pass || fail "a hit reached upstream: $(requests_to /repos/o/r)"

# no-cache revalidates: If-None-Match goes up, a 304 comes back, the stored body is served
expect_exit 0 "revalidating GET" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i -H "Cache-Control: no-cache"
[ "$(cache_mode "$out")" = revalidated ] && pass || fail "no-cache should revalidate: $out"
[ "$(status_of "$out")" = 200 ] && pass || fail "a revalidated answer is a 200 to the caller: $out"
[ -n "$(last_request /repos/o/r if_none_match)" ] && pass || fail "no If-None-Match sent upstream"
[ "$(sed -n '/^{/,$p' <<<"$out")" = "$first_body" ] && pass || fail "revalidated body differs"

# another token is another partition: never the first token's body
expect_exit 0 "GET with a second token" -- env GH_TOKEN="$token2" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = miss ] && pass || fail "a second token must not hit the first's entry: $out"
[ "$(sed -n '/^{/,$p' <<<"$out")" != "$first_body" ] && pass || fail "two tokens shared a body"
[ "$(requests_to /repos/o/r)" = 3 ] && pass || fail "upstream requests after two tokens: $(requests_to /repos/o/r)"

# github.sock: plain HTTP/1.1 for curl and gh, from the same cache
out=$(curl -s -i --unix-socket "$rt/github.sock" "http://api.github.com/repos/o/r" \
  -H "Authorization: token $token1" -H "Accept: application/vnd.github+json")
[ "$(cache_mode "$out")" = hit ] && pass || fail "github.sock should share the cache: $out"
[ "$(tr -d '\r' <<<"$out" | sed -n '/^{/,$p')" = "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])))' "$first_body")" ] && pass ||
  fail "github.sock body differs: $out"
out=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$rt/github.sock" -X BREW "http://x/")
[ "$out" = 501 ] && pass || fail "an odd method is passed through (the stand-in answers 501): $out"
[ "$(stat -c %a "$rt/github.sock")" = 600 ] && pass || fail "github.sock mode $(stat -c %a "$rt/github.sock")"

# unmodified gh through github.sock: its second identical call is answered from the cache, and a
# GraphQL call (gh repo view) passes through
ghc="$work/gh" # gh's own configuration for these calls
expect_exit 0 "gh config" -- env GH_CONFIG_DIR="$ghc" gh config set http_unix_socket "$rt/github.sock"
before=$(requests_to /repos/o/r)
expect_exit 0 "gh api" -- env GH_CONFIG_DIR="$ghc" GH_TOKEN="$token1" gh api repos/o/r
contains "$out" '"full_name": "o/r"' "gh api through the daemon"
expect_exit 0 "gh api again" -- env GH_CONFIG_DIR="$ghc" GH_TOKEN="$token1" gh api repos/o/r -i
contains "$out" "detail=hit" "gh's second call is a cache hit"
[ "$(requests_to /repos/o/r)" -le $((before + 1)) ] && pass || fail "gh's calls went upstream twice"
expect_exit 0 "gh repo view" -- env GH_CONFIG_DIR="$ghc" GH_TOKEN="$token1" gh repo view o/r --json name,description
contains "$out" "through kodebase" "gh repo view through the daemon"

# GraphQL: passed through, unless the caller names a time to live for the answer
gql='{"query":"{ repository(owner: \"o\", name: \"r\") { name } }"}'
before=$(requests_to /graphql)
for i in 1 2; do
  curl -s --unix-socket "$rt/github.sock" -X POST http://api.github.com/graphql -H "Authorization: token $token1" \
    -H "X-Kodebase-Cache-TTL: 60" -d "$gql" >"$work/gql.$i"
done
[ "$(requests_to /graphql)" = $((before + 1)) ] && pass || fail "a GraphQL answer with a TTL was asked twice"
cmp -s "$work/gql.1" "$work/gql.2" && pass || fail "the cached GraphQL answer differs"
curl -s --unix-socket "$rt/github.sock" -X POST http://api.github.com/graphql -H "Authorization: token $token1" -d "$gql" >/dev/null
[ "$(requests_to /graphql)" = $((before + 2)) ] && pass || fail "GraphQL without a TTL was answered from the cache"
# GraphQL's primary limit is a 200 saying RATE_LIMITED: the token's graphql quota is then held
token8="ghp_kodebaseTestTokenNumberEight0000000008"
curl -s --unix-socket "$rt/github.sock" -X POST http://api.github.com/graphql -H "Authorization: token $token8" \
  -d '{"query":"{ rateLimited }"}' >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$rt/github.sock" -X POST http://api.github.com/graphql \
  -H "Authorization: token $token8" -d "$gql")
[ "$code" = 403 ] && pass || fail "GraphQL after RATE_LIMITED got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$rt/github.sock" http://api.github.com/gzip \
  -H "Authorization: token $token8")
[ "$code" = 200 ] && pass || fail "REST (another quota) was held by GraphQL's limit: $code"

# identical concurrent GETs coalesce into one upstream request
for i in $(seq 1 50); do
  curl -s --unix-socket "$rt/github.sock" "http://api.github.com/slow/one" -H "Authorization: token $token1" \
    >"$work/slow.$i" &
  pids+=($!)
done
for i in $(seq 1 50); do
  for _ in $(seq 1 100); do [ -s "$work/slow.$i" ] && break; sleep 0.1; done
done
[ "$(requests_to /slow/one)" = 1 ] && pass || fail "50 identical GETs made $(requests_to /slow/one) upstream requests"
[ "$(cat "$work"/slow.* | sort -u | wc -l)" = 1 ] && pass || fail "coalesced callers got different bodies"

# a mutation makes the repository's cached reads due: the next read revalidates and sees it
expect_exit 0 "POST" -- env GH_TOKEN="$token1" "$kb" api repos/o/r/issues -f title=Hello -i
[ "$(status_of "$out")" = 201 ] && pass || fail "POST status: $out"
[ "$(last_request /repos/o/r/issues body)" = '{"title":"Hello"}' ] && pass || fail "POST body: $(last_request /repos/o/r/issues body)"
expect_exit 0 "GET after POST" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = miss ] && pass || fail "a read after a change should go upstream: $out"
contains "$out" '"version": 2' "the change is seen"

# Link headers point back at api.github.com; --paginate follows them and joins the pages
expect_exit 0 "Link rewritten" -- env GH_TOKEN="$token1" "$kb" api "repos/o/r/issues?page=1" -i
contains "$out" "<https://api.github.com/repos/o/r/issues?page=2>; rel=\"next\"" "Link rewritten to the public API"
expect_exit 0 "paginate" -- env GH_TOKEN="$token1" "$kb" api "repos/o/r/issues?page=1" --paginate
[ "$(python3 -c 'import json,sys; print([i["number"] for i in json.loads(sys.argv[1])])' "$out")" = "[10, 11, 20, 21, 30, 31]" ] && pass ||
  fail "paginate: $out"

# GitHub failing: the last good answer, marked stale
expect_exit 0 "flaky first" -- env GH_TOKEN="$token1" "$kb" api flaky
expect_exit 0 "flaky, GitHub failing" -- env GH_TOKEN="$token1" "$kb" api flaky -i -H "Cache-Control: no-cache"
[ "$(cache_mode "$out")" = stale ] && pass || fail "a 5xx with a stored answer should serve it stale: $out"
contains "$out" '"flaky": "good"' "stale body"

# errors: exit 1, GitHub's message on stderr, the body on stdout, nothing stored
expect_exit 1 "404" -- env GH_TOKEN="$token1" "$kb" api repos/o/nothing
contains "$err" "HTTP 404: Not Found" "404 message"
expect_exit 1 "404 again" -- env GH_TOKEN="$token1" "$kb" api repos/o/nothing -i
[ "$(cache_mode "$out")" = miss ] && pass || fail "an error answer was cached: $out"

# gzip from upstream is undone before the answer is kept and served
expect_exit 0 "gzip" -- env GH_TOKEN="$token1" "$kb" api gzip
contains "$out" '"compressed": true' "gzip body decoded"

# no token given: gh's stored login is used, never written anywhere
expect_exit 0 "GET with gh's stored login" -- env -u GH_TOKEN -u GITHUB_TOKEN "$kb" api repos/o/r -H "Cache-Control: no-store"
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["viewer"])' "$out")" = \
  "$(python3 -c 'import hashlib,sys; print(hashlib.sha256(("token " + sys.argv[1]).encode()).hexdigest()[:12])' "$stored")" ] &&
  pass || fail "gh's stored login was not used: $out"

# a batch: every request settled on its own, in order; one bad request spoils nothing else
printf '[{"path":"/repos/o/r"},{"path":"/repos/o/nothing"},{"method":"GET"},{"path":"/gzip"}]' >"$work/batch.json"
expect_exit 1 "batch with a failure" -- env GH_TOKEN="$token1" "$kb" api --batch "$work/batch.json"
python3 - "$out" <<'PY' && pass || fail "batch results: $out"
import json, sys
r = json.loads(sys.argv[1])["results"]
assert [x.get("status") for x in r] == [200, 404, None, 200], r
assert "path" in r[2]["error"], r[2]
assert json.loads(r[0]["body"])["full_name"] == "o/r", r[0]
PY
contains "$err" "2 of 4 requests failed" "batch failure summary"
expect_exit 0 "batch from stdin" -- bash -c "echo '{\"requests\": [{\"path\": \"/gzip\"}]}' | GH_TOKEN=$token1 '$kb' api --batch -"
contains "$out" '"status":200' "batch from stdin"
expect_exit 2 "batch and endpoint" -- "$kb" api repos/o/r --batch "$work/batch.json"
expect_exit 2 "no endpoint" -- "$kb" api

# bad usage
expect_exit 2 "bad header" -- "$kb" api repos/o/r -H "no colon"
expect_exit 2 "no-daemon" -- "$kb" api repos/o/r --no-daemon
contains "$err" "needs the daemon" "no-daemon message"
expect_exit 2 "bad repo for cache clear" -- "$kb" cache clear --repo nonsense

# the primary limit: once GitHub says a token's quota is spent, nothing more goes upstream for
# it until the reset; callers get a GitHub-shaped 403 with Retry-After at once
token3="ghp_kodebaseTestTokenNumberThree0000000003"
spent_at=$(date +%s) # the fake resets the quota 10 s later (room for a slow machine)
expect_exit 1 "spent quota" -- env GH_TOKEN="$token3" "$kb" api limited/primary
before=$(requests_to /gzip)
expect_exit 1 "held while spent" -- env GH_TOKEN="$token3" "$kb" api gzip -i
[ "$(status_of "$out")" = 403 ] && [ "$(cache_mode "$out")" = limited ] && pass || fail "a spent token was not held: $out"
contains "$out" "Retry-After:" "a local refusal says when to retry"
[ "$(requests_to /gzip)" = "$before" ] && pass || fail "a request went upstream while the quota was spent"
expect_exit 0 "other tokens pass meanwhile" -- env GH_TOKEN="$token1" "$kb" api gzip -H "Cache-Control: no-cache"
while [ "$(date +%s)" -le $((spent_at + 11)) ]; do sleep 0.2; done
expect_exit 0 "after the reset" -- env GH_TOKEN="$token3" "$kb" api gzip

# a secondary limit with Retry-After: the token's next call waits that long, then goes
token4="ghp_kodebaseTestTokenNumberFour00000000004"
expect_exit 1 "secondary limit" -- env GH_TOKEN="$token4" "$kb" api limited/secondary
expect_exit 0 "held, then sent" -- env GH_TOKEN="$token4" "$kb" api low
python3 - "$(curl -s "$upstream/_log")" <<'PY' && pass || fail "the call after Retry-After was not held"
import json, sys
log = json.loads(sys.argv[1])
limited = [r["time"] for r in log if r["path"] == "/limited/secondary"][-1]
after = [r["time"] for r in log if r["path"] == "/low"][-1]
assert after - limited >= 1.9, after - limited
PY

# a secondary limit without Retry-After: a minute at least, so the next call is refused at once
# (longer than any caller is held), saying when to come back
token6="ghp_kodebaseTestTokenNumberSix000000000006"
expect_exit 1 "bare secondary limit" -- env GH_TOKEN="$token6" "$kb" api limited/bare
before=$(requests_to /low)
expect_exit 1 "refused after a bare secondary limit" -- env GH_TOKEN="$token6" "$kb" api low -i
[ "$(status_of "$out")" = 429 ] && [ "$(cache_mode "$out")" = limited ] && pass || fail "not held after a secondary limit: $out"
[ "$(grep -i -m1 '^Retry-After:' <<<"$out" | tr -dc 0-9)" -ge 50 ] && pass || fail "Retry-After after a bare secondary limit: $out"
[ "$(requests_to /low)" = "$before" ] && pass || fail "a request went upstream during the backoff"

# a redirect to another host is handed back as it came: the daemon never follows it, so the
# token never travels to that host
expect_exit 0 "redirect" -- env GH_TOKEN="$token1" "$kb" api redirect -i
[ "$(status_of "$out")" = 302 ] && pass || fail "redirect status: $out"
contains "$out" "Location: https://codeload.example.com/o/r/legacy.tar.gz/main" "foreign Location untouched"

# the reserve: below it, background callers are refused, interactive ones pass
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$rt/github.sock" "http://api.github.com/repos/o/r" \
  -H "Authorization: token $token4" -H "X-Kodebase-Background: 1" -H "Cache-Control: no-store")
[ "$code" = 429 ] && pass || fail "a background call below the reserve got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$rt/github.sock" "http://api.github.com/repos/o/r" \
  -H "Authorization: token $token4" -H "Cache-Control: no-store")
[ "$code" = 200 ] && pass || fail "an interactive call below the reserve got $code"

# mutations of one token are spaced by a second
token5="ghp_kodebaseTestTokenNumberFive00000000005"
for i in 1 2; do
  env GH_TOKEN="$token5" "$kb" api repos/o/r/issues -f title="spaced $i" --silent &
  pids+=($!)
done
wait_until '[ "$(curl -s "$upstream/_log" | grep -o "spaced" | wc -l)" -ge 2 ]'
python3 - "$(curl -s "$upstream/_log")" <<'PY' && pass || fail "two mutations were not spaced"
import json, sys
times = sorted(r["time"] for r in json.loads(sys.argv[1]) if "spaced" in r["body"])
assert len(times) == 2 and times[1] - times[0] >= 0.95, times
PY

# at most 10 requests of one token upstream at once; the rest wait their turn
for i in $(seq 1 15); do
  curl -s --unix-socket "$rt/github.sock" "http://api.github.com/slow/n$i" -H "Authorization: token $token5" \
    >"$work/many.$i" &
  pids+=($!)
done
wait_until '[ "$(cat "$work"/many.* 2>/dev/null | grep -o /slow/ | wc -l)" = 15 ]' && pass || fail "not every queued request was answered"
[ "$(curl -s "$upstream/_max_active")" -le 10 ] && pass || fail "more than 10 upstream at once: $(curl -s "$upstream/_max_active")"

# every client that came and went is gone: nothing a request held outlives its answer
expect_exit 0 "daemon status" -- "$kb" daemon status --json
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["clients"])' "$out")" = 1 ] && pass ||
  fail "finished clients are still held by the daemon: $out"

# status: per-partition figures, named by fingerprint only
expect_exit 0 "github status" -- "$kb" github status --json
python3 - "$out" <<'PY' && pass || fail "github status: $out"
import json, sys
s = json.loads(sys.argv[1])
parts = s["partitions"]
assert len(parts) >= 2, parts
total = lambda k: sum(p[k] for p in parts)
assert total("hits") >= 2 and total("revalidated") >= 1 and total("coalesced") >= 1, parts
assert total("stale") == 1 and total("misses") >= 4, parts
assert total("limited") >= 2, parts
assert any(p["rate"].get("core", {}).get("limit") == 5000 for p in parts), parts
assert s["cache"]["entries"] >= 3, s["cache"]
PY
expect_exit 0 "github status text" -- "$kb" github status
contains "$out" "core" "status shows the quota"

# no token at all: it works, and says so
mv "$XDG_CONFIG_HOME/gh/hosts.yml" "$work/hosts.yml"
"$kb" daemon stop -q # forgets the stored login it knew
expect_exit 0 "GET without any token" -- env -u GH_TOKEN -u GITHUB_TOKEN "$kb" api repos/o/r -H "Cache-Control: no-store"
contains "$err" "no GitHub token" "an unauthenticated request is reported"
contains "$out" '"viewer": "anonymous"' "sent without a token"
mv "$work/hosts.yml" "$XDG_CONFIG_HOME/gh/hosts.yml"

# a GraphQL query that asks for its rateLimit tells the budget too
token9="ghp_kodebaseTestTokenNumberNine00000000009"
curl -s --unix-socket "$rt/github.sock" -X POST http://api.github.com/graphql -H "Authorization: token $token9" \
  -d '{"query":"{ rateLimit { limit remaining resetAt } }"}' >/dev/null
expect_exit 0 "status after a rateLimit query" -- "$kb" github status --json
python3 - "$out" <<'PY' && pass || fail "GraphQL's rateLimit did not reach the budget: $out"
import json, sys
parts = json.loads(sys.argv[1])["partitions"]
assert any(p["rate"].get("graphql", {}).get("remaining") == 4321 and p["rate"]["graphql"]["reset"] == 1893456000
           for p in parts), parts
PY

# the loopback port (off unless asked): a base URL for tools; requests there bring their own token
"$kb" daemon stop -q
KODEBASE_GITHUB_PORT=0 "$kb" daemon start -q
expect_exit 0 "status with a loopback port" -- "$kb" github status --json
loopback=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["loopback"] or "")' "$out")
[[ "$loopback" == http://127.0.0.1:* ]] && pass || fail "no loopback address: $out"
out=$(curl -s -i "$loopback/repos/o/r" -H "Authorization: token $token1" -H "Accept: application/vnd.github+json")
[ "$(cache_mode "$out")" = hit ] && pass || fail "the loopback port does not share the cache: $out"
out=$(curl -s "$loopback/repos/o/r" -H "Cache-Control: no-store")
contains "$out" '"viewer": "anonymous"' "the loopback port never lends gh's stored login"
"$kb" daemon stop -q

# the cache survives a restart; clearing one repository forgets its answers
"$kb" daemon stop -q
before=$(requests_to /repos/o/r)
expect_exit 0 "GET after a restart" -- env GH_TOKEN="$token2" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = hit ] && pass || fail "the cache did not survive a restart: $out"
[ "$(requests_to /repos/o/r)" = "$before" ] && pass || fail "a hit after a restart reached upstream"
expect_exit 0 "cache clear" -- "$kb" cache clear --repo o/r
contains "$out" "removed" "clear says what it removed"
expect_exit 0 "GET after clear" -- env GH_TOKEN="$token2" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = miss ] && pass || fail "a cleared entry was served: $out"
expect_exit 0 "cache stats" -- "$kb" cache stats --json
contains "$out" "github.sqlite" "stats name the file"
[ "$(stat -c %a "$XDG_CACHE_HOME/kodebase/github.sqlite")" = 600 ] && pass || fail "cache file mode"

# the fresh windows are settings: with none for a repository's record, every read revalidates
expect_exit 0 "set a fresh window" -- "$kb" config set github.fresh.repository 0 -q
"$kb" daemon stop -q
expect_exit 0 "GET with no fresh window" -- env GH_TOKEN="$token2" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = revalidated ] && pass || fail "github.fresh.repository 0 should revalidate: $out"
expect_exit 2 "a bad cache size" -- "$kb" config set github.cache_mb lots

# github.api_url takes effect with the next request, without a restart: requests and the token
# go to the new host, and answers cached from the old one are not served for it
python3 "$src/tests/e2e/fake_github.py" "$work/port2" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/port2" ] && break; sleep 0.1; done
second="http://127.0.0.1:$(cat "$work/port2")"
"$kb" daemon stop -q
unset KODEBASE_GITHUB_API_URL
expect_exit 0 "set the API address" -- "$kb" config set github.api_url "$upstream" -q
expect_exit 0 "GET from the first host" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i
expect_exit 0 "set another API address while the daemon runs" -- "$kb" config set github.api_url "$second" -q
expect_exit 0 "GET after the change" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i
[ "$(cache_mode "$out")" = miss ] && pass || fail "the old host's answer was served for the new one: $out"
[ "$(curl -s "$second/_log" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"] == "/repos/o/r"))')" = 1 ] &&
  pass || fail "the request did not go to the new host"
[ "$(curl -s "$second/_log" | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin) if r["path"] == "/repos/o/r"][-1]["authorized"])')" = True ] &&
  pass || fail "the token did not go with the request to the new host"
before=$(requests_to /repos/o/r)
expect_exit 0 "GET again" -- env GH_TOKEN="$token1" "$kb" api repos/o/r -i -H "Cache-Control: no-cache"
[ "$(requests_to /repos/o/r)" = "$before" ] && pass || fail "a request still went to the old host"
expect_exit 0 "github status names the new host" -- "$kb" github status --json
contains "$out" "$second" "status shows the new API address"
export KODEBASE_GITHUB_API_URL="$upstream"
"$kb" config set github.api_url "https://api.github.com" -q

# no token anywhere: state, cache, logs
"$kb" daemon stop -q
if grep -r -a -l -e "$token1" -e "$token2" -e "kodebaseTestToken" -e "$stored" -e "GithubComLogin" "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$rt" 2>/dev/null; then
  fail "a token was written to disk"
else
  pass
fi
finish
