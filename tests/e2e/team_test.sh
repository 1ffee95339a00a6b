#!/usr/bin/env bash
# The daemon's link to a team's Redis, against real redis-servers (started here, ended by pid):
# off by default, connect (bad URLs refused, a wrong password fails and is never shown), live,
# a server killed and restarted (backing off, then live again), TLS with a private CA, and
# disconnect.
# Then two daemons (separate runtime, state and settings; two clones of one repository) share
# artifact changes through it: signed, in order, caught up from the stream after a lost
# connection, forged envelopes dropped.
# usage: team_test.sh <bin-dir> <source-dir>
set -uo pipefail
source "$(dirname "$0")/lib.sh"
kb="$1/kodebase" src=$2
export KODEBASE_REALTIME_PING_MS=200 KODEBASE_REALTIME_BACKOFF_MS=50 \
  KODEBASE_REALTIME_BACKOFF_CAP_MS=400 KODEBASE_REALTIME_TIMEOUT_MS=1000 \
  KODEBASE_REALTIME_PRESENCE_MS=300
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis_pid=
start_redis() { # start_redis [extra args...]: a server on $port (and a Unix socket), ready
  redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$work/r.sock" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" \
    --enable-debug-command local "$@" &
  redis_pid=$!
  disown "$redis_pid" # ended by pid here and on exit, without job-control noise
  pids+=("$redis_pid")
  for _ in $(seq 100); do # up to 5 s
    redis-cli -s "$work/r.sock" ${REDISCLI_AUTH:+-a "$REDISCLI_AUTH"} ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "redis-server did not start"; cat "$work/redis.log"; exit 1
}
state() { "$kb" team status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_state() { # wait_state STATE: up to 10 s
  for _ in $(seq 200); do [ "$(state)" = "$1" ] && return 0; sleep 0.05; done
  return 1
}

expect_exit 0 "team status without configuration" -- "$kb" team status
contains "$out" "disabled" "the relay is off by default"
expect_exit 0 "daemon status" -- "$kb" daemon status
contains "$out" "team relay   disabled" "daemon status shows the relay"
expect_exit 2 "a URL that is not one" -- "$kb" team connect "localhost:6379"
contains "$err" "is not a Redis URL" "a bad URL is explained"
expect_exit 1 "nobody listens" -- "$kb" team connect "redis://127.0.0.1:$port"
contains "$out" "backing_off" "an unreachable server: backing off"

export REDISCLI_AUTH=s3cret-pw
start_redis --requirepass s3cret-pw
expect_exit 1 "no password for a server that needs one" -- "$kb" team connect "redis://127.0.0.1:$port"
contains "$out" "failed" "NOAUTH fails the link"
expect_exit 1 "a wrong password" -- "$kb" team connect "redis://:wrong-pw@127.0.0.1:$port"
contains "$out" "refused the credentials" "a wrong password is reported"
[[ "$out$err" != *wrong-pw* ]] && pass || fail "the password is never printed: $out $err"
expect_exit 0 "the right password" -- "$kb" team connect "redis://:s3cret-pw@127.0.0.1:$port"
contains "$out" "live" "connected"
[[ "$out" != *s3cret-pw* ]] && pass || fail "the password is never printed: $out"
[ "$(stat -c %a "$XDG_CONFIG_HOME/kodebase/config.yml")" = 600 ] && pass || fail "the settings file holding the URL is 0600"
grep -q "s3cret-pw" "$XDG_CONFIG_HOME/kodebase/config.yml" && pass || fail "the URL is kept in the settings"
! grep -q "s3cret-pw" "$XDG_STATE_HOME/kodebase/daemon.log" 2>/dev/null && pass || fail "the password is not logged"
sleep 0.6
pings=$("$kb" team status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pings"])')
[ "$pings" -ge 1 ] && pass || fail "an idle link is PINGed: $pings"

redis-cli -s "$work/r.sock" client kill type pubsub >/dev/null
redis-cli -s "$work/r.sock" client kill type normal >/dev/null
wait_state live && pass || fail "a killed connection is made again"
kill -9 "$redis_pid"
wait_state backing_off && pass || fail "a dead server: backing off ($(state))"
"$kb" list >/dev/null 2>&1 || true # the daemon keeps serving meanwhile
expect_exit 0 "the daemon answers while the relay is down" -- "$kb" daemon status
start_redis --requirepass s3cret-pw
wait_state live && pass || fail "the restarted server is reached again ($(state))"
reconnects=$("$kb" team status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["reconnects"])')
[ "$reconnects" -ge 1 ] && pass || fail "reconnects are counted: $reconnects"
kill -9 "$redis_pid"
unset REDISCLI_AUTH

# TLS: a private CA; the name in the certificate is verified.
(cd "$work" && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.crt &&
  openssl req -newkey rsa:2048 -nodes -subj /CN=redis.test -keyout server.key -out server.csr &&
  printf 'subjectAltName=DNS:localhost\n' >san.ext &&
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt) >/dev/null 2>&1
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_redis --tls-port "$tls_port" --tls-cert-file "$work/server.crt" --tls-key-file "$work/server.key" \
  --tls-ca-cert-file "$work/ca.crt" --tls-auth-clients no
expect_exit 0 "TLS with the private CA" -- "$kb" team connect "rediss://localhost:$tls_port" --ca-file "$work/ca.crt"
contains "$out" "live" "TLS link live"
expect_exit 1 "TLS to a name not in the certificate" -- "$kb" team connect "rediss://127.0.0.1:$tls_port" --ca-file "$work/ca.crt"
contains "$out" "failed" "a certificate that does not match fails"
expect_exit 1 "TLS without trusting the CA" -- "$kb" team connect "rediss://localhost:$tls_port"
contains "$out" "certificate verify failed" "an untrusted certificate fails"
expect_exit 2 "a CA file that is not there" -- "$kb" team connect "rediss://localhost:$tls_port" --ca-file "$work/none.pem"
contains "$err" "no CA file" "a missing CA file is named"

expect_exit 0 "unix socket" -- "$kb" team connect "unix://$work/r.sock"
contains "$out" "live" "unix socket link live"
expect_exit 0 "disconnect" -- "$kb" team disconnect
contains "$out" "disabled" "disconnected"
expect_exit 0 "still off after a daemon restart" -- "$kb" daemon restart
[ "$(state)" = disabled ] && pass || fail "the setting is cleared"
"$kb" daemon stop -q >/dev/null 2>&1

# --- two teammates --------------------------------------------------------------------------
openssl rand -hex 32 >"$work/secret" && chmod 600 "$work/secret"
as() { # as A|B command...: the kodebase of teammate A or B
  local who=$1
  shift
  KODEBASE_RUNTIME_DIR="$work/run$who" XDG_STATE_HOME="$work/state$who" \
    XDG_CONFIG_HOME="$work/config$who" "$kb" "$@"
}
for who in A B; do
  cp -r "$src/examples/webshop" "$work/shop$who"
  git -C "$work/shop$who" init -q -b main && git -C "$work/shop$who" add -A &&
    git -C "$work/shop$who" -c user.name=T -c user.email=t@example.com commit -qm shop
done
git -C "$work/shopA" remote add origin https://github.com/Acme/Shop.git
git -C "$work/shopB" remote add origin git@github.com:acme/shop.git
for who in A B; do
  expect_exit 0 "$who connects" -- as $who team connect "unix://$work/r.sock" --secret-file "$work/secret"
done
as B -C "$work/shopB" watch --json >"$work/watchB" 2>/dev/null &
watch_pid=$!
disown "$watch_pid"
pids+=("$watch_pid")
as A -C "$work/shopA" list >/dev/null
following() { as "$1" team status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if any(t["team"]=="acme/shop" and t["subscribed"] for t in s.get("teams",[])) else 1)'; }
for who in A B; do
  for _ in $(seq 100); do following $who && break; sleep 0.05; done
  following $who && pass || fail "$who follows acme/shop: $(as $who team status --json)"
done
seen_by_b() { # seen_by_b ID NEW_STATE: up to 10 s for B's watch to show the teammate's change
  for _ in $(seq 200); do
    python3 -c 'import json,sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "team.changed" and e["data"]["id"] == sys.argv[2] and e["data"]["new_state"] == sys.argv[3]:
        sys.exit(0)
sys.exit(1)' "$work/watchB" "$1" "$2" && return 0
    sleep 0.05
  done
  return 1
}
t0=$(date +%s%N)
KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" as A -C "$work/shopA" start A.2.7 -q --no-branch
seen_by_b A.2.7 in_progress && pass || fail "B's watch shows A's start: $(cat "$work/watchB")"
echo "A's start -> B's watch: $((($(date +%s%N) - t0) / 1000000)) ms (includes the write and its settle time)"
grep -q '"sig"' "$work/watchB" && fail "signatures are not passed on" || pass
out=$(as A team status --json)
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["published"]>=1 and s["echoes"]>=1 and s["received"]==0 else 1)' "$out" && pass || fail "A published, heard its echo, received nothing: $out"

# B loses its subscription; A's next change comes from the stream when B is back.
redis-cli -s "$work/r.sock" client kill type pubsub >/dev/null
as A -C "$work/shopA" edit A.2.7 --priority low -q
KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" as A -C "$work/shopA" submit A.2.7 -q
seen_by_b A.2.7 in_review && pass || fail "B catches up from the stream: $(tail -3 "$work/watchB")"
# A forged frame (wrong signature) with the next sequence number, then a real change.
epoch=$(redis-cli -s "$work/r.sock" hget 'kodebase:{acme/shop}:meta' epoch)
seq=$(redis-cli -s "$work/r.sock" hget 'kodebase:{acme/shop}:meta' seq)
forged=$(printf '{"id":"A.2.7","kind":"changed","msg":"f00","new_state":"completed","old_state":"in_review","sender":"x","sig":"00","team":"acme/shop","title":"\033[31mowned","ts":%s,"v":1}' "$(date +%s000)")
redis-cli -s "$work/r.sock" publish 'kodebase:{acme/shop}:ev' "$epoch:$((seq + 1)):$forged" >/dev/null
as A -C "$work/shopA" edit A.3.1 --priority low -q
for _ in $(seq 200); do grep -q '"A.3.1"' "$work/watchB" && break; sleep 0.05; done
grep -q '"A.3.1"' "$work/watchB" && pass || fail "a forged frame does not hide the next real change"
grep -q 'owned' "$work/watchB" && fail "a forged envelope is delivered" || pass
out=$(as B team status --json)
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["dropped"]>=1 and s["received"]>=3 else 1)' "$out" && pass || fail "B dropped the forgery: $out"

# IDs reserved through the team's Redis: A and B adding under one parent at the same moment
# get different IDs, though neither tree has the other's file.
add_as() { KODEBASE_ACTOR="$2" as "$1" -C "$work/shop$1" add A.2 --title "$3" --criterion x --json; }
add_as A "Ada Lovelace (ada@example.com)" "Wallets" >"$work/addA" 2>&1 &
adder_a=$!
add_as B "Grace Hopper (grace@example.com)" "Gift cards" >"$work/addB" 2>&1 &
adder_b=$!
pids+=("$adder_a" "$adder_b")
wait "$adder_a" && wait "$adder_b" && pass || fail "parallel adds failed: $(cat "$work/addA" "$work/addB")"
id_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$1"; }
[ "$(id_of "$work/addA")" != "$(id_of "$work/addB")" ] && pass ||
  fail "two teammates got one ID: $(id_of "$work/addA")"
grep -q '"reserved":true' "$work/addA" && grep -q '"reserved":true' "$work/addB" && pass ||
  fail "the IDs were not reserved through Redis: $(cat "$work/addA" "$work/addB")"
t0=$(date +%s%N)
add_as A "Ada Lovelace (ada@example.com)" "Vouchers" >"$work/addA2"
echo "add with an ID reserved through Redis: $((($(date +%s%N) - t0) / 1000000)) ms (process included)"
[ "$(id_of "$work/addA2")" = "A.2.10" ] && pass || fail "the next add is not after both: $(cat "$work/addA2")"
# the reservation is a team update: B's watch shows A.2.10 taken by Ada
for _ in $(seq 200); do grep -q '"kind":"reservation"' "$work/watchB" && grep -q '"A.2.10"' "$work/watchB" && break; sleep 0.05; done
grep '"kind":"reservation"' "$work/watchB" | grep '"A.2.10"' | grep -q 'Ada Lovelace' && pass ||
  fail "B's watch does not show A's reservation: $(grep reservation "$work/watchB")"

# --- presence and claims ------------------------------------------------------------------------
as A config set actor "Ada Lovelace (ada@example.com)" >/dev/null
as B config set actor "Grace Hopper (grace@example.com)" >/dev/null
members_of() { # members_of A|B: the names in that teammate's `team` listing
  as "$1" -C "$work/shop$1" team --json |
    python3 -c 'import json,sys; print(",".join(sorted(m["name"] for m in json.load(sys.stdin)["members"])))'
}
for _ in $(seq 200); do [ "$(members_of B)" = "Ada Lovelace,Grace Hopper" ] && break; sleep 0.05; done
[ "$(members_of B)" = "Ada Lovelace,Grace Hopper" ] && pass || fail "B sees both teammates: $(members_of B)"
claims_of() { # claims_of A|B ID: "ID=email" when the team's claims hold ID
  as "$1" -C "$work/shop$1" claims --json |
    python3 -c 'import json,sys; print(" ".join(c["id"] + "=" + c["email"] for c in json.load(sys.stdin)["claims"] if c["id"] == sys.argv[1]))' "$2"
}
# A's start of A.2.7 above claimed it for Ada.
[ "$(claims_of B A.2.7)" = "A.2.7=ada@example.com" ] && pass || fail "start claimed A.2.7 for Ada: $(claims_of B A.2.7)"
expect_exit 0 "A claims B.1.1" -- as A -C "$work/shopA" claim B.1.1 --ttl 1h
contains "$out" "claimed B.1.1" "the claim is confirmed"
contains "$out" "token" "with its fencing token"
[ "$(claims_of B B.1.1)" = "B.1.1=ada@example.com" ] && pass || fail "B lists A's claim: $(claims_of B B.1.1)"
expect_exit 1 "B's start of A's claim is refused" -- as B -C "$work/shopB" start B.1.1 --no-branch
contains "$err" "B.1.1 is claimed by Ada Lovelace <ada@example.com> until" "the refusal says who and until when"
contains "$err" "--force" "and how to take it over"
expect_exit 1 "a dry run says so too" -- as B -C "$work/shopB" start B.1.1 --dry-run
expect_exit 1 "B cannot release A's claim" -- as B -C "$work/shopB" release B.1.1
contains "$err" "not by you" "only the holder releases"
expect_exit 2 "a bad --ttl" -- as A -C "$work/shopA" claim B.2.2 --ttl soon
contains "$err" "not a duration" "a malformed duration is explained"
expect_exit 1 "no such artifact" -- as A -C "$work/shopA" claim Z.9.9
[ "$(claims_of A B.1.1)" = "B.1.1=ada@example.com" ] && [ -z "$(claims_of A B.2.2)" ] && pass ||
  fail "a refused claim changes nothing: $(claims_of A B.1.1) / $(claims_of A B.2.2)"
for _ in $(seq 100); do
  as B -C "$work/shopB" team --json | grep -q '"id":"B.1.1"' && break
  sleep 0.05
done
as B -C "$work/shopB" team --json | python3 -c 'import json,sys
r = json.load(sys.stdin)
ada = [m for m in r["members"] if m["name"] == "Ada Lovelace"][0]
assert "B.1.1" in [w["id"] for w in ada["working_on"]], ada
assert "B.1.1" in [c["id"] for c in r["claims"]], r' && pass || fail "the roster shows what Ada works on, and the claims"
expect_exit 0 "A releases" -- as A -C "$work/shopA" release B.1.1
expect_exit 0 "B starts it now, claiming it" -- as B -C "$work/shopB" start B.1.1 --no-branch
contains "$out" "claimed for the team" "start reports its claim"
[ "$(claims_of A B.1.1)" = "B.1.1=grace@example.com" ] && pass || fail "start claimed for B: $(claims_of A B.1.1)"
expect_exit 1 "A's start is refused now" -- as A -C "$work/shopA" start B.1.1 --no-branch
contains "$err" "claimed by Grace Hopper" "names B"
expect_exit 0 "the team listing" -- as B -C "$work/shopB" team
contains "$out" "Ada Lovelace <ada@example.com>" "lists Ada"
contains "$out" "Grace Hopper <grace@example.com>" "lists Grace"
expect_exit 0 "status shows the team" -- as B -C "$work/shopB" status
contains "$out" "Team acme/shop" "status has a team section"
# An agent through MCP: claim_artifact and team_status, attributed to the person it works for.
KODEBASE_RUNTIME_DIR="$work/runB" XDG_STATE_HOME="$work/stateB" XDG_CONFIG_HOME="$work/configB" \
  python3 - "$kb" "$work/shopB" <<'PY' && pass || fail "MCP claim_artifact and team_status"
import json, subprocess, sys
p = subprocess.Popen([sys.argv[1], "mcp", "--project", sys.argv[2]], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)
def ask(id, method, params):
    p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params}) + "\n")
    p.stdin.flush()
    while True:
        m = json.loads(p.stdout.readline())
        if m.get("id") == id:
            return m["result"]
ask(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                      "clientInfo": {"name": "test-agent", "title": "Test Agent"}})
r = ask(2, "tools/call", {"name": "claim_artifact", "arguments": {"id": "B.2.2", "ttl_minutes": 5}})
assert not r.get("isError") and r["structuredContent"]["claim"]["email"] == "grace@example.com", r
r = ask(3, "tools/call", {"name": "claim_artifact", "arguments": {"id": "A.2.7"}})
assert r.get("isError") and "claimed by Ada Lovelace" in r["content"][0]["text"], r
r = ask(4, "tools/call", {"name": "team_status", "arguments": {}})
sc = r["structuredContent"]
assert sc["team"] == "acme/shop" and "B.2.2" in [c["id"] for c in sc["claims"]], sc
grace = [m for m in sc["members"] if m["you"]][0]
assert "B.2.2" in [w["id"] for w in grace["working_on"]], grace
r = ask(5, "tools/call", {"name": "claim_artifact", "arguments": {"id": "B.2.2", "release": True}})
assert not r.get("isError") and r["structuredContent"]["released"], r
p.stdin.close()
p.wait(timeout=10)
PY
for _ in $(seq 100); do as B -C "$work/shopB" team --json | grep -q '"Test Agent"' && break; sleep 0.05; done
as B -C "$work/shopB" team --json | grep -q '"Test Agent"' && pass || fail "the agent shows in B's presence"
# A lease renews while its holder's daemon runs, and lapses once it stops.
expect_exit 0 "A claims with a 1 s lease" -- as A -C "$work/shopA" claim A.3.4 --ttl 1s
sleep 2.5
[ "$(claims_of B A.3.4)" = "A.3.4=ada@example.com" ] && pass || fail "a running daemon renews its lease: $(claims_of B A.3.4)"
as A daemon stop -q >/dev/null 2>&1
for _ in $(seq 100); do grep -q '"kind":"leave"' "$work/watchB" && break; sleep 0.05; done
grep '"team.presence"' "$work/watchB" | grep '"kind":"leave"' | grep -q 'Ada Lovelace' && pass ||
  fail "B's watch shows Ada leaving: $(grep presence "$work/watchB" | tail -3)"
sleep 1.5
[ -z "$(claims_of B A.3.4)" ] && pass || fail "a lease outlives its daemon: $(claims_of B A.3.4)"
as A -C "$work/shopA" list >/dev/null # A's daemon is back, and with it Ada
for _ in $(seq 200); do grep '"kind":"join"' "$work/watchB" | grep -q 'Ada Lovelace' && break; sleep 0.05; done
grep '"kind":"join"' "$work/watchB" | grep -q 'Ada Lovelace' && pass || fail "B's watch shows Ada joining again"
for _ in $(seq 100); do following A && break; sleep 0.05; done

# A server that stops answering for a while: the link notices (a PING without an answer within
# the deadline) and comes back; the daemon answers other requests meanwhile; nothing is lost.
state_of() { as "$1" team status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
reconnects_of() { as "$1" team status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["reconnects"])'; }
before=$(reconnects_of B)
redis-cli -s "$work/r.sock" debug sleep 2.5 >/dev/null &
sleep 0.3
expect_exit 0 "the daemon answers while Redis sleeps" -- as B -C "$work/shopB" list --format ids
for _ in $(seq 200); do [ "$(reconnects_of B)" -gt "$before" ] && break; sleep 0.05; done
[ "$(reconnects_of B)" -gt "$before" ] && pass || fail "a silent server is noticed and the link made again"
grep -q "did not answer PING" "$work/stateB/kodebase/daemon.log" && pass || fail "the missed PING is logged"
for _ in $(seq 200); do [ "$(state_of B)" = live ] && [ "$(state_of A)" = live ] && break; sleep 0.05; done
[ "$(state_of B)" = live ] && pass || fail "the link comes back after the server wakes ($(state_of B))"
KODEBASE_ACTOR="Ada Lovelace (ada@example.com)" as A -C "$work/shopA" ready A.2.6 -q
seen_by_b A.2.6 ready && pass || fail "a change after the stall arrives"

# A proxy between A and Redis that stalls, then cuts: A's changes wait in its outbox and arrive
# once, in order; the daemon serves meanwhile.
python3 "$src/tests/e2e/tcp_proxy.py" "$port" "$work/proxy.port" &
proxy_pid=$!
disown "$proxy_pid"
pids+=("$proxy_pid")
for _ in $(seq 100); do [ -s "$work/proxy.port" ] && break; sleep 0.05; done
as A team connect "redis://127.0.0.1:$(cat "$work/proxy.port")" --secret-file "$work/secret" >/dev/null
for _ in $(seq 200); do following A && break; sleep 0.05; done
following A && pass || fail "A connects through the proxy: $(as A team status)"
kill -USR1 "$proxy_pid" # stall
as A -C "$work/shopA" edit A.3.1 --title "Saved carts, stalled" -q
for _ in $(seq 200); do [ "$(state_of A)" != live ] && break; sleep 0.05; done
[ "$(state_of A)" != live ] && pass || fail "a stalled connection is noticed ($(state_of A))"
expect_exit 0 "the daemon answers while the link is stalled" -- as A -C "$work/shopA" list --format ids
outbox=$(as A team status --json | python3 -c 'import json,sys; print(sum(t["outbox"] for t in json.load(sys.stdin)["teams"]))')
[ "$outbox" -ge 1 ] && pass || fail "the change waits in the outbox: $outbox"
grep -q 'Saved carts, stalled' "$work/watchB" && fail "nothing passes a stalled proxy" || pass
kill -USR2 "$proxy_pid" # flowing again
for _ in $(seq 200); do grep -q 'Saved carts, stalled' "$work/watchB" && break; sleep 0.05; done
grep -q 'Saved carts, stalled' "$work/watchB" && pass || fail "the change held during the stall arrives"
before=$(reconnects_of A)
kill -HUP "$proxy_pid" # cut
for _ in $(seq 200); do [ "$(reconnects_of A)" -gt "$before" ] && [ "$(state_of A)" = live ] && break; sleep 0.05; done
[ "$(reconnects_of A)" -gt "$before" ] && pass || fail "a cut connection is made again"
as A -C "$work/shopA" edit A.3.1 --title "Saved carts, after the cut" -q
for _ in $(seq 200); do grep -q 'Saved carts, after the cut' "$work/watchB" && break; sleep 0.05; done
grep -q 'Saved carts, after the cut' "$work/watchB" && pass || fail "a change after the cut arrives"
[ "$(grep -c 'Saved carts, stalled' "$work/watchB")" = 1 ] && pass || fail "delivered once: $(grep -c 'Saved carts, stalled' "$work/watchB")"
grep '"team.state"' "$work/watchB" >/dev/null && pass || fail "watch reports the link's state changes"
grep 'Saved carts, stalled' "$work/watchB" | grep -q '"actor":"Ada Lovelace (ada@example.com)"' && pass ||
  fail "a teammate's change names who made it: $(grep 'Saved carts, stalled' "$work/watchB")"

# A clone without a GitHub origin joins the team through the team.id setting.
cp -r "$src/examples/webshop" "$work/shopC" && git -C "$work/shopC" init -q -b main
expect_exit 1 "no team without an origin" -- as B -C "$work/shopC" team
contains "$err" "team.id" "the error says how to name the team"
expect_exit 0 "team.id set" -- as B -C "$work/shopC" config set team.id Acme/Shop
expect_exit 0 "the team by its id" -- as B -C "$work/shopC" team --json
contains "$out" '"team":"acme/shop"' "the configured team is used"

# A slow watch client (subscribed, never reading) holds nobody up.
KODEBASE_RUNTIME_DIR="$work/runB" python3 -c '
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                      "params": {"topics": ["artifacts"], "directory": sys.argv[2]}}).encode() + b"\n")
time.sleep(60)' "$work/runB/daemon.sock" "$work/shopB" &
slow_pid=$!
disown "$slow_pid"
pids+=("$slow_pid")
for i in $(seq 12); do as A -C "$work/shopA" edit A.3.1 --title "Saved carts, round $i" -q; done
for _ in $(seq 200); do grep -q 'Saved carts, round 12' "$work/watchB" && break; sleep 0.05; done
[ "$(grep -c 'Saved carts, round' "$work/watchB")" = 12 ] && pass || fail "every change reaches the reading watch: $(grep -c 'Saved carts, round' "$work/watchB")"
expect_exit 0 "B answers with a client that does not read" -- as B daemon status
kill "$slow_pid" 2>/dev/null

# Redis restarts. Without persistence the history is gone: the next update starts a new epoch,
# reported as a resync. With an append-only file it comes back as it was: no resync, no repeats.
resyncs() { grep -c '"team.resync"' "$work/watchB"; }
before=$(resyncs)
kill -9 "$redis_pid"
start_redis --appendonly yes --appendfsync always
for who in A B; do
  expect_exit 0 "$who connects again" -- as $who team connect "unix://$work/r.sock" --secret-file "$work/secret"
done
for who in A B; do for _ in $(seq 100); do following $who && break; sleep 0.05; done; done
as A -C "$work/shopA" edit A.3.1 --title "Saved carts, new history" -q
for _ in $(seq 200); do grep -q 'Saved carts, new history' "$work/watchB" && break; sleep 0.05; done
grep -q 'Saved carts, new history' "$work/watchB" && pass || fail "updates flow on a fresh server"
[ "$(resyncs)" -gt "$before" ] && pass || fail "a lost history is reported as a resync"
before=$(resyncs)
kill -9 "$redis_pid"
start_redis --appendonly yes --appendfsync always
for who in A B; do for _ in $(seq 200); do [ "$(state_of $who)" = live ] && break; sleep 0.05; done; done
as A -C "$work/shopA" edit A.3.1 --title "Saved carts, kept history" -q
for _ in $(seq 200); do grep -q 'Saved carts, kept history' "$work/watchB" && break; sleep 0.05; done
grep -q 'Saved carts, kept history' "$work/watchB" && pass || fail "updates flow after a persistent restart"
[ "$(resyncs)" = "$before" ] && pass || fail "a kept history needs no resync"
[ "$(grep -c 'Saved carts, new history' "$work/watchB")" = 1 ] && pass || fail "nothing is delivered twice after the restart"

# A team ACL user, limited to kodebase's keys and channels.
redis-cli -s "$work/r.sock" acl setuser kbteam on '>team-pw' '~kodebase:*' '&kodebase:*' '+@all' >/dev/null
for who in A B; do
  expect_exit 0 "$who connects as the ACL user" -- as $who team connect "redis://kbteam:team-pw@127.0.0.1:$port" --secret-file "$work/secret"
done
for who in A B; do
  for _ in $(seq 100); do following $who && break; sleep 0.05; done
done
as A -C "$work/shopA" edit A.2.6 --title "Guest checkout, v2" -q
for _ in $(seq 200); do grep -q 'Guest checkout, v2' "$work/watchB" && break; sleep 0.05; done
grep -q 'Guest checkout, v2' "$work/watchB" && pass || fail "updates flow for an ACL user limited to kodebase:*"
[ "$failures" -eq 0 ] || for who in A B; do echo "--- daemon $who log"; tail -20 "$work/state$who/kodebase/daemon.log"; done
for who in A B; do as $who daemon stop -q >/dev/null 2>&1; done
finish
