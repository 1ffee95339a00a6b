#!/usr/bin/env bash
# The daemon's link to a team's Redis, against real redis-servers (started here, ended by pid):
# off by default, connect (bad URLs refused, a wrong password fails and is never shown), live,
# a server killed and restarted (backing off, then live again), TLS with a private CA, and
# disconnect.
# usage: team_test.sh <bin-dir>
set -uo pipefail
source "$(dirname "$0")/lib.sh"
kb="$1/kodebase"
export KODEBASE_REALTIME_PING_MS=200 KODEBASE_REALTIME_BACKOFF_MS=50 \
  KODEBASE_REALTIME_BACKOFF_CAP_MS=400 KODEBASE_REALTIME_TIMEOUT_MS=1000
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis_pid=
start_redis() { # start_redis [extra args...]: a server on $port (and a Unix socket), ready
  redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$work/r.sock" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" "$@" &
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
finish
