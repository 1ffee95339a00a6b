#!/usr/bin/env python3
"""The webhook relay against @octokit/webhooks-examples (real recorded deliveries, pinned in
package.json): every push and pull_request example is accepted when signed with the test
secret and refused (401, nothing else) when the signature is wrong, missing or the body was
altered; pings are answered, other events ignored (202), redeliveries taken once, oversized
and malformed bodies refused. Then a push touching .kodebase/ and a merged pull request reach a
teammate's `watch` through a real redis-server, and the merge's update makes the teammate's
daemon complete the artifact, once.

usage: webhooks_examples.py BIN_DIR SOURCE_DIR
"""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

bin_dir, src = sys.argv[1], sys.argv[2]
examples_file = os.path.join(src, "tests/external/node_modules/@octokit/webhooks-examples/"
                             "api.github.com/index.json")
if not os.path.exists(examples_file):
    print(f"missing {examples_file}: run scripts/external.sh")
    sys.exit(1)
examples = {e["name"]: e["examples"] for e in json.load(open(examples_file))}

work = tempfile.mkdtemp()
procs = []
failures = []
passes = 0


def check(ok, what):
    global passes
    if ok:
        passes += 1
    else:
        failures.append(what)
        print("FAIL:", what)


def cleanup():
    # the teammate's daemon, started by its first command, holds its pid in its lock file
    for lock in [f"{work}/{d}/run/daemon.lock" for d in os.listdir(work)] if os.path.isdir(work) else []:
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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(condition, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    return None


def env_for(name, **extra):
    home = os.path.join(work, name)
    env = dict(os.environ)
    for k in ("GH_TOKEN", "GITHUB_TOKEN", "KODEBASE_ACTOR"):
        env.pop(k, None)
    env.update({
        "HOME": home, "XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state",
        "XDG_CACHE_HOME": f"{home}/cache", "KODEBASE_RUNTIME_DIR": f"{home}/run",
        "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1",
        "KODEBASE_GITHUB_API_URL": upstream, "KODEBASE_REDIS_URL": f"redis://127.0.0.1:{redis_port}",
        "KODEBASE_TEAM_SECRET": "team-secret-for-the-webhook-test-0001",
        "KODEBASE_REALTIME_BACKOFF_MS": "50", "KODEBASE_REALTIME_BACKOFF_CAP_MS": "400",
    })
    os.makedirs(home, exist_ok=True)
    env.update(extra)
    return env


def sign(body, secret):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


delivery_number = 0


def post(event, body, signature=None, delivery=None, secret="webhook-secret-for-the-tests"):
    global delivery_number
    delivery_number += 1
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or f"delivery-{delivery_number}",
               "User-Agent": "GitHub-Hookshot/test"}
    if signature is None:
        signature = sign(body, secret)
    if signature:
        headers["X-Hub-Signature-256"] = signature
    c = http.client.HTTPConnection("127.0.0.1", relay_port, timeout=30)
    try:
        c.request("POST", "/webhook", body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    except (ConnectionResetError, BrokenPipeError) as e:
        return 0, str(e).encode()
    finally:
        c.close()


try:
    redis_port = free_port()
    procs.append(subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", work, "--logfile", os.path.join(work, "redis.log")]))
    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(redis_port), "ping"],
                                    capture_output=True, text=True).stdout.strip() == "PONG")
    port_file = os.path.join(work, "github.port")
    procs.append(subprocess.Popen([sys.executable, os.path.join(src, "tests/e2e/fake_pulls.py"),
                                   port_file]))
    wait_for(lambda: os.path.exists(port_file))
    upstream = f"http://127.0.0.1:{open(port_file).read()}"

    # the hosted relay: no socket, no repository
    relay_log = os.path.join(work, "relay.log")
    procs.append(subprocess.Popen(
        [os.path.join(bin_dir, "kodebased"), "--foreground", "--no-socket", "--webhook-listen",
         "127.0.0.1:0"],
        env=env_for("relay", KODEBASE_WEBHOOK_SECRET="webhook-secret-for-the-tests",
                    KODEBASE_WEBHOOK_GITHUB_TOKEN="ghp_relayReadsContentsWithThis0000000001"),
        stderr=open(relay_log, "w")))

    def relay_port_of():
        for line in open(relay_log):
            if "GitHub webhooks on" in line:
                return int(line.rsplit("port ", 1)[1].rstrip(")\n"))
        return None
    relay_port = wait_for(relay_port_of)
    check(relay_port, "the relay did not say where it listens: " + open(relay_log).read())
    check(not os.path.exists(os.path.join(work, "relay/run/daemon.sock")), "--no-socket made a socket")

    # every push and pull_request example: accepted when signed, 401 when not
    counted = 0
    for event in ("push", "pull_request"):
        for i, example in enumerate(examples[event]):
            body = json.dumps(example).encode()
            status, _ = post(event, body)
            check(status in (200, 202), f"{event} example {i} ({example.get('action')}) signed: {status}")
            status, answer = post(event, body, signature=sign(body, "another-secret"))
            check(status == 401 and answer == b"", f"{event} example {i} wrong secret: {status} {answer!r}")
            status, answer = post(event, body, signature="")
            check(status == 401 and answer == b"", f"{event} example {i} unsigned: {status}")
            altered = body.replace(b'"', b"'", 1) if i % 2 else body + b" "
            status, answer = post(event, altered, signature=sign(body, "webhook-secret-for-the-tests"))
            check(status == 401 and answer == b"", f"{event} example {i} altered body: {status}")
            status, _ = post(event, body, signature=sign(body, "webhook-secret-for-the-tests")[:-1] + "0"
                             if not sign(body, "webhook-secret-for-the-tests").endswith("0") else
                             sign(body, "webhook-secret-for-the-tests")[:-1] + "1")
            check(status == 401, f"{event} example {i} one digit off: {status}")
            counted += 1
    check(counted == len(examples["push"]) + len(examples["pull_request"]) and counted >= 30,
          f"examples tried: {counted}")
    for example in examples["ping"]:
        status, answer = post("ping", json.dumps(example).encode())
        check(status == 200 and b"pong" in answer, f"ping: {status} {answer!r}")
    status, answer = post("issues", json.dumps(examples["issues"][0]).encode())
    check(status == 202, f"another event is ignored with 202: {status}")
    status, answer = post("push", b"{not json")
    check(status == 400, f"a malformed body is refused: {status} {answer!r}")
    status, answer = post("push", b'{"ref": 5}')
    check(status == 400, f"a push without its fields is refused: {status} {answer!r}")
    status, _ = post("push", b" " * (26 << 20))
    check(status in (413, 0), f"an oversized body is refused: {status}")
    c = http.client.HTTPConnection("127.0.0.1", relay_port, timeout=10)
    c.request("GET", "/healthz")
    check(c.getresponse().status == 200, "GET /healthz")
    c.close()

    # a teammate: a clone of acme/widgets, its daemon on the same Redis, watching
    repo = os.path.join(work, "repo")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    subprocess.run(["git", "-C", repo, "remote", "add", "origin",
                    "https://github.com/acme/widgets.git"], check=True)
    shutil.copytree(os.path.join(src, "tests/fixtures/kodebase-core/loader-tree"),
                    os.path.join(repo, ".kodebase/artifacts"))
    mate = env_for("mate")
    kb = os.path.join(bin_dir, "kodebase")
    # gh's stored login, which the teammate's daemon uses for its own GitHub reads (for the
    # host its API address names: the stand-in's)
    os.makedirs(os.path.join(work, "mate/config/gh"), exist_ok=True)
    with open(os.path.join(work, "mate/config/gh/hosts.yml"), "w") as f:
        for host in ("github.com", "127.0.0.1"):
            f.write(host + ":\n    oauth_token: ghp_teammateStoredLogin00000000000000001\n"
                    "    user: grace\n    git_protocol: https\n")
    # A.2.2 in review on the teammate's side (moved there without the daemon, so without pull
    # requests of its own: the merge is the one someone else's relay reports)
    for args in (["start", "A.2.2", "--no-branch"], ["submit", "A.2.2"]):
        r = subprocess.run([kb, "--no-daemon", "-C", repo] + args, env=dict(mate, KODEBASE_ACTOR="Grace Hopper (grace@example.com)"),
                           capture_output=True, text=True)
        check(r.returncode == 0, f"teammate's {args}: {r.stderr}")
    watch = subprocess.Popen([kb, "-C", repo, "watch", "--json"], env=mate,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(watch)

    def team_live():
        out = subprocess.run([kb, "-C", repo, "team", "status", "--json"], env=mate,
                             capture_output=True, text=True).stdout
        try:
            s = json.loads(out)
        except ValueError:
            return False
        return s.get("state") == "live" and any(t.get("team") == "acme/widgets"
                                                for t in s.get("teams", []))
    check(wait_for(team_live, 15), "the teammate's daemon did not follow acme/widgets live")
    os.set_blocking(watch.stdout.fileno(), False)
    seen = []

    def line_about(predicate):
        while True:
            line = watch.stdout.readline()
            if not line:
                break
            seen.append(json.loads(line))
        return next((e for e in seen if predicate(e)), None)

    path = ".kodebase/artifacts/A.cascade-initiative/A.2.operations-phase/A.2.2.deployment.yml"
    before_text = open(os.path.join(src, "tests/fixtures/kodebase-core/loader-tree",
                                    path.split("/", 2)[2])).read()
    after_text = before_text.replace(
        "content:\n",
        '    - event: in_progress\n      timestamp: "2026-11-29T12:00:00Z"\n'
        '      actor: "Ada Lovelace (ada@example.com)"\n      trigger: branch_created\ncontent:\n', 1)
    before, after = "b" * 40, "a" * 40
    for ref, text in ((before, before_text), (after, after_text)):
        urllib.request.urlopen(urllib.request.Request(
            upstream + "/_file", data=json.dumps({"path": path, "text": text, "ref": ref}).encode(),
            method="POST"))
    push = dict(examples["push"][0])
    push.update(ref="refs/heads/main", before=before, after=after,
                repository=dict(push["repository"], full_name="acme/widgets"),
                sender=dict(push["sender"], login="ada"),
                commits=[{"id": after, "message": "start A.2.2", "added": [], "removed": [],
                          "modified": [path, "README.md"]}])
    body = json.dumps(push).encode()
    status, answer = post("push", body, delivery="push-with-an-artifact")
    check(status == 200 and json.loads(answer).get("artifacts") == 1, f"artifact push: {status} {answer!r}")
    event = wait_for(lambda: line_about(lambda e: e["event"] == "team.changed"
                                        and e["data"].get("id") == "A.2.2"))
    check(event, f"the push did not reach the teammate's watch: {seen}")
    if event:
        d = event["data"]
        check(d.get("old_state") == "ready" and d.get("new_state") == "in_progress",
              f"states read through the cache: {d}")
        check(d.get("title") == "Production Deployment Setup", f"title: {d}")
        check(d.get("actor") == "ada" and d.get("source") == "webhook" and d.get("commit") == after,
              f"who and where: {d}")
    # a redelivery is acted on once
    status, answer = post("push", body, delivery="push-with-an-artifact")
    check(status == 200 and b"duplicate" in answer, f"redelivery: {status} {answer!r}")

    # GitHub has the pull request of branch A.2.2, merged
    def fake(method, path, body=None):
        urllib.request.urlopen(urllib.request.Request(
            upstream + path, method=method, headers={"Authorization": "token x"},
            data=json.dumps(body).encode() if body is not None else None))
    fake("POST", "/repos/acme/widgets/pulls", {"title": "A.2.2: Production Deployment Setup",
                                                "head": "A.2.2", "base": "main", "draft": False})
    fake("PUT", "/repos/acme/widgets/pulls/1/merge", {})
    merged = dict(next(e for e in examples["pull_request"] if e.get("action") == "closed"))
    merged["repository"] = dict(merged["repository"], full_name="acme/widgets")
    merged["pull_request"] = dict(merged["pull_request"], merged=True, number=7,
                                  title="A.2.2: Production Deployment Setup",
                                  head=dict(merged["pull_request"]["head"], ref="A.2.2"))
    status, _ = post("pull_request", json.dumps(merged).encode())
    check(status == 200, f"merged pull request: {status}")
    event = wait_for(lambda: line_about(lambda e: e["event"] == "team.changed"
                                        and e["data"].get("kind") == "pull_request"))
    check(event and event["data"].get("merged") and event["data"].get("id") == "A.2.2"
          and event["data"].get("number") == 7, f"the merge did not reach the watch: {seen}")

    def state_of(artifact):
        out = subprocess.run([kb, "-C", repo, "show", artifact, "--json"], env=mate,
                             capture_output=True, text=True).stdout
        return json.loads(out or "{}").get("state")
    check(wait_for(lambda: state_of("A.2.2") == "completed"),
          f"the teammate's daemon did not complete A.2.2 on the relayed merge: {state_of('A.2.2')}")
    text = open(os.path.join(repo, path)).read()
    check(text.count("event: completed") == 1 and "trigger: pr_merged" in text,
          "the relayed merge completed A.2.2 once, trigger pr_merged")
    status, _ = post("pull_request", json.dumps(merged).encode())  # a second delivery
    time.sleep(0.5)
    check(open(os.path.join(repo, path)).read().count("event: completed") == 1,
          "a second merged delivery completed it again")
    time.sleep(0.3)
    line_about(lambda e: False)
    check(sum(1 for e in seen if e["event"] == "team.changed" and e["data"].get("id") == "A.2.2"
              and e["data"].get("kind") != "pull_request") == 1, f"the redelivery was published: {seen}")
    relay_text = open(relay_log).read()
    check("webhook-secret-for-the-tests" not in relay_text, "the secret was logged")
    check(len(relay_text) < 100000 and "accept failed" not in relay_text,
          f"the relay's log grew to {len(relay_text)} bytes: {relay_text[-500:]}")
finally:
    cleanup()

print(f"{passes} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
