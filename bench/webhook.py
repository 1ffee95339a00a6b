#!/usr/bin/env python3
"""The webhook relay: a hosted kodebased (--no-socket --webhook-listen) and a teammate's daemon
on one redis-server, all on loopback, each with its own directories (ended by pid).
  latency     webhook POSTed (signed, keep-alive) → the teammate's `watch --json` line, and
              the relay's answer (it publishes before it answers, so the line may come first):
              pull_request deliveries (no file reads) and pushes touching one artifact file
              (its text read before and after through the relay's GitHub proxy, from a local
              stand-in for the contents API)
  throughput  signed pull_request deliveries POSTed by 4 keep-alive clients: accepted per
              second, and all of them seen by the watch
Figures only.
usage: bench/webhook.py <bin-dir> [--quick]
"""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

bin_dir = sys.argv[1]
quick = "--quick" in sys.argv
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = 50 if quick else 300
burst = 500 if quick else 4000
work = tempfile.mkdtemp()
procs = []
secret = "bench-webhook-secret"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(condition, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        r = condition()
        if r:
            return r
        time.sleep(0.02)
    raise SystemExit("timed out")


def env_for(name, **extra):
    home = f"{work}/{name}"
    os.makedirs(home, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env.update(HOME=home, XDG_CONFIG_HOME=f"{home}/config", XDG_STATE_HOME=f"{home}/state",
               XDG_CACHE_HOME=f"{home}/cache", KODEBASE_RUNTIME_DIR=f"{home}/run",
               KODEBASE_GITHUB_API_URL=upstream, KODEBASE_REDIS_URL=f"redis://127.0.0.1:{redis_port}",
               KODEBASE_TEAM_SECRET="bench-team-secret-0123456789abcdef",
               KODEBASE_DAEMON_IDLE_TIMEOUT="600", GIT_CONFIG_NOSYSTEM="1", **extra)
    return env


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


try:
    redis_port = free_port()
    procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", work,
                                   "--logfile", f"{work}/redis.log"]))
    procs.append(subprocess.Popen([sys.executable, f"{src}/tests/e2e/fake_pulls.py", f"{work}/port"]))
    wait_for(lambda: os.path.exists(f"{work}/port"))
    upstream = f"http://127.0.0.1:{open(f'{work}/port').read()}"
    log = open(f"{work}/relay.log", "w")
    procs.append(subprocess.Popen(
        [f"{bin_dir}/kodebased", "--foreground", "--no-socket", "--webhook-listen", "127.0.0.1:0"],
        env=env_for("relay", KODEBASE_WEBHOOK_SECRET=secret,
                    KODEBASE_WEBHOOK_GITHUB_TOKEN="ghp_benchRelayToken000000000000000000001"),
        stderr=log))

    def relay_port():
        for line in open(f"{work}/relay.log"):
            if "GitHub webhooks on" in line:
                return int(line.rsplit("port ", 1)[1].rstrip(")\n"))
    port = wait_for(relay_port)

    repo = f"{work}/repo"
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    subprocess.run(["git", "-C", repo, "remote", "add", "origin", "https://github.com/acme/widgets.git"],
                   check=True)
    shutil.copytree(f"{src}/tests/fixtures/kodebase-core/loader-tree", f"{repo}/.kodebase/artifacts")
    mate = env_for("mate", KODEBASE_DAEMON_QUEUE="100000")  # the burst is not dropped for a resync
    kb = f"{bin_dir}/kodebase"
    watch = subprocess.Popen([kb, "-C", repo, "watch", "--json"], env=mate, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, bufsize=0)
    procs.append(watch)

    def live():
        out = subprocess.run([kb, "-C", repo, "team", "status", "--json"], env=mate,
                             capture_output=True, text=True).stdout
        s = json.loads(out or "{}")
        return s.get("state") == "live" and any(t.get("team") == "acme/widgets" for t in s.get("teams", []))
    wait_for(live)

    fd = watch.stdout.fileno()
    pending = [b""]  # bytes read from the watch and not yet a whole line

    def read_until(predicate, seconds=60):
        deadline = time.time() + seconds
        while True:
            while b"\n" in pending[0]:
                line, pending[0] = pending[0].split(b"\n", 1)
                e = json.loads(line)
                if e.get("event") == "team.changed" and predicate(e["data"]):
                    return e["data"]
            if not select.select([fd], [], [], max(0, deadline - time.time()))[0]:
                raise SystemExit("the watch saw nothing for a while")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise SystemExit("watch ended")
            pending[0] += chunk

    def deliver(conn, event, body, delivery):
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        conn.request("POST", "/", body=body, headers={
            "X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sig,
            "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status

    def pull_request(n):
        return json.dumps({"action": "opened", "number": n, "repository": {"full_name": "acme/widgets"},
                           "sender": {"login": "ada"},
                           "pull_request": {"number": n, "title": f"change {n}", "draft": True,
                                            "merged": False, "head": {"ref": "A.2.2"},
                                            "base": {"ref": "main"}}}).encode()

    path = ".kodebase/artifacts/A.cascade-initiative/A.2.operations-phase/A.2.2.deployment.yml"
    text = open(f"{repo}/{path}").read()
    urllib.request.urlopen(urllib.request.Request(f"{upstream}/_file", method="POST",
                                                  data=json.dumps({"path": path, "text": text}).encode()))

    def push(n):
        sha = f"{n:040x}"
        return json.dumps({"ref": "refs/heads/main", "before": f"{n + 10**6:040x}", "after": sha,
                           "repository": {"full_name": "acme/widgets"}, "sender": {"login": "ada"},
                           "commits": [{"added": [], "removed": [], "modified": [path]}]}).encode()

    conn = http.client.HTTPConnection("127.0.0.1", port)
    figures = {}
    for kind, make, match in (("pull_request", pull_request, lambda n: lambda d: d.get("number") == n),
                              ("push", push, lambda n: lambda d: d.get("commit") == f"{n:040x}")):
        samples, answers = [], []
        for i in range(rounds):
            n = (100000 if kind == "push" else 0) + i + 1
            body = make(n)
            t0 = time.perf_counter()
            status = deliver(conn, kind, body, f"{kind}-{n}")
            answers.append((time.perf_counter() - t0) * 1000)
            assert status == 200, status
            read_until(match(n))
            samples.append((time.perf_counter() - t0) * 1000)
        figures[kind] = samples
        print(f"webhook {kind:12} POSTed → teammate's watch line: p50 {statistics.median(samples):.2f} ms, "
              f"p99 {percentile(samples, 0.99):.2f} ms, max {max(samples):.2f} ms; the relay's answer "
              f"p50 {statistics.median(answers):.2f} ms ({rounds} deliveries)")

    # throughput: 4 clients, keep-alive, each POSTing its share
    clients = 4
    done = [0] * clients

    def client(k):
        c = http.client.HTTPConnection("127.0.0.1", port)
        for j in range(k, burst, clients):
            if deliver(c, "pull_request", pull_request(200000 + j), f"burst-{j}") == 200:
                done[k] += 1
        c.close()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted_s = time.perf_counter() - t0
    seen = set()
    read_until(lambda d: (seen.add(d.get("number")) or len([x for x in seen if x and x >= 200000]) >= burst))
    all_s = time.perf_counter() - t0
    print(f"webhook throughput: {sum(done)} of {burst} accepted in {accepted_s:.2f} s = "
          f"{sum(done) / accepted_s:,.0f} webhooks/s (4 keep-alive clients); all {burst} in the "
          f"teammate's watch after {all_s:.2f} s = {burst / all_s:,.0f}/s end to end")
finally:
    # the teammate's daemon, started by its first command, holds its pid in its lock file
    for lock in [f"{work}/{d}/run/daemon.lock" for d in os.listdir(work)]:
        try:
            os.kill(int(open(lock).read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for p in procs:
        try:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    shutil.rmtree(work, ignore_errors=True)
