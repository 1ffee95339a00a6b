#!/usr/bin/env python3
"""Team updates through a real daemon: Redis → daemon → `watch` latency (p50/p99), with a
redis-server and a daemon of their own (ended by pid). A teammate is played here: each update
is signed with the team secret and sent as the publish script would (next sequence, stream
entry, PUBLISH); the clock starts just before PUBLISH and stops when the watch client (a
subscriber on the daemon's socket) reads its team.changed line. The other half, a daemon's
change into Redis, is kb_bench_relay's latency figure. Then `add` at 1,000 artifacts, whole
process, with the team live (the ID reserved through Redis) next to the same add in a tree no
team follows. Figures only.
usage: bench/team.py <bin-dir> [--quick]
"""
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

bin_dir = sys.argv[1]
quick = "--quick" in sys.argv
count = 50 if quick else 300
work = tempfile.mkdtemp()
secret = secrets.token_hex(32)
with open(f"{work}/secret", "w") as f:
    f.write(secret)
os.chmod(f"{work}/secret", 0o600)
env = dict(os.environ, KODEBASE_RUNTIME_DIR=f"{work}/run", XDG_STATE_HOME=f"{work}/state",
           XDG_CONFIG_HOME=f"{work}/config", KODEBASE_DAEMON_IDLE_TIMEOUT="600")
kb = f"{bin_dir}/kodebase"
redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", f"{work}/r.sock",
                          "--save", "", "--appendonly", "no", "--dir", work,
                          "--logfile", f"{work}/redis.log"])


class Resp:
    """Just enough RESP to send commands and read their replies."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest.decode()
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")


try:
    for _ in range(200):
        if os.path.exists(f"{work}/r.sock"):
            break
        time.sleep(0.01)
    project = f"{work}/shop"
    subprocess.run(["cp", "-r", os.path.join(os.path.dirname(__file__), "../examples/webshop"),
                    project], check=True)
    for args in (["init", "-q", "-b", "main"], ["remote", "add", "origin",
                                                "https://github.com/acme/shop.git"]):
        subprocess.run(["git", "-C", project] + args, check=True)
    subprocess.run([kb, "team", "connect", f"unix://{work}/r.sock", "--secret-file",
                    f"{work}/secret"], env=env, check=True, stdout=subprocess.DEVNULL)
    watch = socket.socket(socket.AF_UNIX)
    watch.connect(f"{work}/run/daemon.sock")
    wf = watch.makefile("rb")
    watch.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                              "params": {"topics": ["artifacts"], "directory": project}})
                  .encode() + b"\n")
    wf.readline()
    for _ in range(200):  # until the daemon follows the team
        status = json.loads(subprocess.run([kb, "team", "status", "--json"], env=env,
                                           capture_output=True, text=True).stdout)
        if any(t["subscribed"] for t in status.get("teams", [])):
            break
        time.sleep(0.05)
    r = Resp(f"{work}/r.sock")
    meta, log, ev = "kodebase:{acme/shop}:meta", "kodebase:{acme/shop}:log", "kodebase:{acme/shop}:ev"
    r.call("HSETNX", meta, "epoch", "bench0001")
    epoch = r.call("HGET", meta, "epoch")
    times = []
    for i in range(count):
        envelope = {"v": 1, "team": "acme/shop", "sender": "bench-teammate",
                    "msg": secrets.token_hex(16), "ts": int(time.time() * 1000),
                    "kind": "changed", "id": "A.2.7", "title": f"Bench update {i}",
                    "old_state": "ready", "new_state": "ready", "cause": "edit",
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        body = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        envelope["sig"] = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        payload = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        seq = r.call("HINCRBY", meta, "seq", 1)
        r.call("XADD", log, f"{seq}-0", "e", epoch, "p", payload)
        start = time.perf_counter()
        r.call("PUBLISH", ev, f"{epoch}:{seq}:{payload}")
        while True:
            m = json.loads(wf.readline())
            if m.get("method") == "team.changed" and m["params"].get("msg") == envelope["msg"]:
                break
        times.append((time.perf_counter() - start) * 1e6)
        time.sleep(0.003)
    times.sort()
    print(f"team update Redis → daemon → watch            p50 {statistics.median(times):7.0f} µs   "
          f"p99 {times[int(0.99 * (len(times) - 1))]:7.0f} µs   ({count} updates)")

    # `add` at 1,000 artifacts, warm: with the team live (the ID reserved through Redis, the
    # reservation announced) and in a copy of the tree whose origin no team follows.
    def tree(path, origin):
        subprocess.run([f"{bin_dir}/kb_gen_tree", path, "1000"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["git", "-C", path, "init", "-q", "-b", "main"], check=True)
        if origin:
            subprocess.run(["git", "-C", path, "remote", "add", "origin", origin], check=True)
        subprocess.run([kb, "-C", path, "list", "-q"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # warm

    def add_figure(label, path):
        out = subprocess.run([f"{bin_dir}/kb_bench_cmd", label, "40" if quick else "100", "--",
                              kb, "-C", path, "add", "A.1", "--title", "Bench add",
                              "--criterion", "x", "-q"], env=dict(env, KODEBASE_ACTOR=
                                                                   "Bench (bench@example.com)"),
                             capture_output=True, text=True, check=True).stdout
        print(out.rstrip())
        return float(out.split("median")[1].split()[0])

    tree(f"{work}/team-tree", "https://github.com/acme/shop.git")
    tree(f"{work}/solo-tree", None)
    with_team = add_figure("add, 1,000 artifacts, team live", f"{work}/team-tree")
    alone = add_figure("add, 1,000 artifacts, no team", f"{work}/solo-tree")
    probe = json.loads(subprocess.run(
        [kb, "-C", f"{work}/team-tree", "--json", "add", "A.1", "--title", "Probe",
         "--criterion", "x"], env=dict(env, KODEBASE_ACTOR="Bench (bench@example.com)"),
        capture_output=True, text=True, check=True).stdout)
    if not probe.get("reservation"):
        print("  (the team tree's adds were not reserved through Redis: the figure is void)")
    print(f"  the reservation through Redis adds {with_team - alone:.1f} ms to an add "
          f"({with_team / alone:.2f}x)")
finally:
    subprocess.run([kb, "daemon", "stop", "-q"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    redis.kill()
    redis.wait()
    subprocess.run(["rm", "-rf", work])
