#!/usr/bin/env python3
"""Hostile and careless clients against a real daemon: every door stays up, answers its owner
and keeps its memory bounded. Deep JSON and malformed params on daemon.sock and through
`kodebase mcp`; a client that pipelines requests without reading the replies; frames just under
the size cap; hundreds of idle connections on the loopback GitHub port and the webhook port
while `kodebase list` still answers; unsigned and unfinished webhook bodies; a pre-placed link
where the log goes. Prints the daemon's memory after each. Usage: resources_test.py BIN_DIR
EXAMPLE_PROJECT_DIR"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbtest import Checks, free_port, private_env  # noqa: E402

bin_dir, example = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
kb = os.path.join(bin_dir, "kodebase")
work = tempfile.mkdtemp(prefix="kb-res-")
env = private_env(work, KODEBASE_WEBHOOK_SECRET="s3cret", KODEBASE_HTTP_TIMEOUT="2",
                  KODEBASE_GITHUB_PORT="0", KODEBASE_GITHUB_API_URL="http://127.0.0.1:9")
check = Checks()
started = []


def memory(pid, field="VmRSS"):
    """The daemon's resident (or peak, VmHWM) memory in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


project = f"{work}/webshop"
shutil.copytree(example, project)

# The log's place holds a link to another file: the daemon must not write through it.
victim = f"{work}/victim.txt"
with open(victim, "w") as f:
    f.write("untouched\n")
os.makedirs(f"{work}/state/kodebase", mode=0o755)
os.symlink(victim, f"{work}/state/kodebase/daemon.log")

webhook_port = free_port()
daemon = subprocess.Popen([os.path.join(bin_dir, "kodebased"), "--webhook-listen",
                           str(webhook_port)], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
started.append(daemon)
sock_path = f"{work}/run/daemon.sock"
for _ in range(100):
    if os.path.exists(sock_path):
        break
    time.sleep(0.05)


def connect():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock_path)
    return s


class Client:
    """A daemon.sock connection speaking newline-delimited JSON-RPC."""

    def __init__(self):
        self.s = connect()
        self.buffer = b""

    def send_raw(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def call(self, method, params, id_=1):
        self.send_raw(json.dumps({"jsonrpc": "2.0", "id": id_, "method": method,
                                  "params": params}) + "\n")
        return self.read()

    def read(self):
        while b"\n" not in self.buffer:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def lists(timeout=20):
    r = subprocess.run([kb, "-C", project, "list", "--format", "ids"], env=env,
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode == 0 and "A.1" in r.stdout


try:
    check(alive(daemon.pid), "the daemon started")
    c = Client()
    r = c.call("artifacts.list", {"directory": project})
    check(r and "result" in r, f"a plain list answers: {r}")
    baseline = memory(daemon.pid)
    print(f"daemon RSS with the project loaded: {baseline:.1f} MB")

    # 10. A 150,000-deep array in one request: an error reply, and the connection goes on.
    deep = '{"jsonrpc":"2.0","id":2,"method":"artifacts.list","params":{"directory":"%s","x":%s%s}}\n' % (
        project, "[" * 150000, "]" * 150000)
    started_at = time.time()
    c.send_raw(deep)
    r = c.read()
    print(f"150,000-deep request refused in {1000 * (time.time() - started_at):.1f} ms")
    check(r and "error" in r and "nesting deeper" in r["error"]["message"], f"deep JSON: {r}")
    r = c.call("artifacts.list", {"directory": project}, 3)
    check(r and "result" in r, "the connection serves on after deep JSON")
    check(alive(daemon.pid), "the daemon survives deep JSON")

    # 11. Malformed params get error replies; the connection goes on.
    for params in ({"directory": 5}, {"directory": project, "id": ["A"]},
                   {"directory": project, "dry_run": "yes"}, {"directory": None}):
        r = c.call("artifacts.get", params, 4)
        check(r and "error" in r and r["error"]["code"] != -32603,
              f"malformed params {params} get a usage error: {r}")
    r = c.call("team.claim", {"directory": 7, "id": "A.1"}, 5)
    check(r and "error" in r, f"a daemon method with a bad directory: {r}")
    r = c.call("artifacts.list", {"directory": project}, 6)
    check(r and "result" in r, "the connection serves on after malformed params")

    # 14. Frames just under the 16 MiB cap: parsed without multiplying their size, and the
    #     memory given back.
    peak_before = memory(daemon.pid, "VmHWM")
    big = '{"jsonrpc":"2.0","id":7,"method":"artifacts.list","params":{"directory":"%s","x":"%s"}}\n' % (
        project, "a" * (16 * 1024 * 1024 - 300))
    c.send_raw(big)
    r = c.read()
    check(r is not None, "a frame under the cap is answered")
    values = '{"jsonrpc":"2.0","id":8,"method":"artifacts.list","params":{"directory":"%s","x":[%s1]}}\n' % (
        project, "1," * (8 * 1024 * 1024 - 200))
    c.send_raw(values)
    r = c.read()
    check(r and "error" in r and "more than" in r["error"]["message"],
          f"a frame of 8 million values is refused before parsing: {str(r)[:200]}")
    time.sleep(0.5)
    peak = memory(daemon.pid, "VmHWM") - peak_before
    after = memory(daemon.pid)
    print(f"16 MiB frames: peak +{peak:.1f} MB over the earlier peak, RSS after {after:.1f} MB")
    check(peak < 150, f"a 16 MiB frame took {peak:.0f} MB")
    check(after < baseline + 48, f"memory was not given back after the big frames: {after:.0f} MB")

    # 12. A client that pipelines 3,000 requests and never reads a reply.
    flood = connect()
    flood.settimeout(0.2)
    line = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "artifacts.list",
                        "params": {"directory": project}}) + "\n").encode()
    sent = 0
    deadline = time.time() + 20
    while sent < 3000 and time.time() < deadline:
        try:
            flood.send(line)
            sent += 1
        except (socket.timeout, BlockingIOError):
            break  # the daemon stopped reading from it: the point
    time.sleep(1)
    flooded = memory(daemon.pid)
    print(f"a client that sent {sent} requests without reading: RSS {flooded:.1f} MB "
          f"(+{flooded - baseline:.1f} MB)")
    check(flooded < baseline + 64, f"the daemon grew by {flooded - baseline:.0f} MB for an unread client")
    check(lists(), "the owner's list answers while a client does not read")
    flood.close()

    # 13. 250 idle connections on each HTTP door: the owner's commands still answer, the
    #     accept loops do not spin, the idle ones are closed at their deadline.
    status = subprocess.run([kb, "github", "status", "--json"], env=env, capture_output=True,
                            text=True, timeout=20)
    loopback = json.loads(status.stdout).get("loopback") or ""
    gh_port = int(loopback.rsplit(":", 1)[1]) if loopback else 0
    check(gh_port > 0, f"the loopback GitHub port is open: {status.stdout[:200]}")
    idle = []
    for port in (gh_port, webhook_port):
        for _ in range(250):
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", port))
                idle.append(s)
            except OSError:
                s.close()
    cpu0 = cpu_seconds(daemon.pid)
    time.sleep(1)
    cpu = cpu_seconds(daemon.pid) - cpu0
    print(f"500 idle connections: daemon CPU {100 * cpu:.0f} % over 1 s, RSS {memory(daemon.pid):.1f} MB")
    check(cpu < 0.5, f"the daemon spins with idle connections: {cpu:.2f} s of CPU in 1 s")
    check(lists(), "the owner's list answers with 500 idle connections open")
    closed = 0
    deadline = time.time() + 10
    for s in idle:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            if s.recv(1) == b"":
                closed += 1
        except OSError:
            closed += 1  # reset: closed too
        s.close()
    check(closed == len(idle), f"idle connections closed at their deadline: {closed} of {len(idle)}")
    time.sleep(1)  # the doors notice the last closes and free their slots

    # Webhooks: unsigned bodies are never buffered; unfinished signed ones only within the
    # door's budget, the rest refused with 503.
    def post_head(length, signature="sha256=" + "0" * 64):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", webhook_port))
        head = (f"POST /hook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                f"X-GitHub-Delivery: d-{time.time()}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n")
        if signature:
            head += f"X-Hub-Signature-256: {signature}\r\n"
        s.sendall((head + "\r\n").encode())
        return s

    s = post_head(24 << 20, signature=None)
    answer = s.recv(200).decode(errors="replace")
    check(answer.startswith("HTTP/1.1 401"), f"an unsigned delivery is refused at once: {answer[:60]}")
    s.close()
    before = memory(daemon.pid)
    unfinished, refused = [], 0
    for _ in range(20):
        s = post_head(24 << 20)
        s.sendall(b"{" + b" " * (1 << 20))
        unfinished.append(s)
    time.sleep(0.5)
    for s in unfinished:
        s.setblocking(False)
        try:
            if s.recv(200).startswith(b"HTTP/1.1 503"):
                refused += 1
        except BlockingIOError:
            pass
    held = memory(daemon.pid)
    print(f"20 unfinished 24 MB webhook bodies: RSS {held:.1f} MB (+{held - before:.1f}), "
          f"{refused} refused with 503")
    check(held < before + 100, f"unfinished bodies hold {held - before:.0f} MB")
    check(refused >= 17, f"deliveries beyond the budget are refused: {refused} of 20")
    for s in unfinished:
        s.close()

    # The same through `kodebase mcp`: deep JSON is an error reply, the adapter goes on.
    mcp = subprocess.Popen([kb, "mcp"], cwd=project, env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    started.append(mcp)
    mcp.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":' + b"[" * 150000 +
                    b"]" * 150000 + b"}}\n")
    mcp.stdin.write(b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n')
    mcp.stdin.flush()
    first = json.loads(mcp.stdout.readline())
    second = json.loads(mcp.stdout.readline())
    check("error" in first and first["id"] is None, f"mcp: deep JSON gets an error: {first}")
    check(second.get("id") == 2 and "result" in second, f"mcp answers after deep JSON: {second}")
    mcp.stdin.close()
    mcp.wait(timeout=20)

    # 15. Private state: folders 0700, files 0600, the log never written through a link.
    with open(victim) as f:
        check(f.read() == "untouched\n", "the daemon wrote through a pre-placed daemon.log link")
    mode = os.stat(f"{work}/state/kodebase").st_mode & 0o777
    check(mode == 0o700, f"the state folder is {oct(mode)}")
    for root, dirs, files in os.walk(f"{work}/state/kodebase"):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                m = os.stat(path).st_mode & 0o777
                check(m & 0o077 == 0, f"{path} is {oct(m)}")
    check(alive(daemon.pid), "the daemon is still up after all of it")
finally:
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)

sys.exit(check.finish())
