#!/usr/bin/env python3
"""Figures for `kodebase mcp` (printed, never asserted): the time from starting the process to
the initialize reply and to the first tool answer (daemon connect included, the daemon warm),
tools/call list_artifacts through the adapter (p50/p99 over one session) on generated trees of
100 and 10,000 artifacts, and the size of tools/list in bytes and tokens (about bytes/4).
usage: bench/mcp.py BIN_DIR [--quick]   (the daemon's runtime dir comes from the environment)"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

bin_dir = sys.argv[1]
quick = "--quick" in sys.argv
kb = os.path.join(bin_dir, "kodebase")
work = tempfile.mkdtemp(prefix="kb-mcp-bench-")
env = dict(os.environ, KODEBASE_ACTOR="Bench Runner (bench@example.com)")


class Session:
    def __init__(self, project):
        self.p = subprocess.Popen([kb, "mcp", "--project", project], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0

    def ask(self, method, params):
        self.next_id += 1
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                       "params": params}).encode() + b"\n")
        self.p.stdin.flush()
        for _ in range(1000):  # notifications may come first
            m = json.loads(self.p.stdout.readline())
            if m.get("id") == self.next_id:
                return m
        raise RuntimeError("no answer")

    def notify(self, method):
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


INIT = {"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}
LIST = {"name": "list_artifacts", "arguments": {"limit": 20}}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


sizes = [100] if quick else [100, 10000]
calls = 50 if quick else 1000
print(f"kodebase mcp benchmarks ({os.cpu_count()} cores, {bin_dir})")
for n in sizes:
    project = f"{work}/p{n}"
    subprocess.run([os.path.join(bin_dir, "kb_gen_tree"), project, str(n)], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([kb, "-C", project, "list", "--format", "ids"], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # loads it into the daemon
    starts, firsts = [], []
    for _ in range(5 if quick else 20):
        t = time.perf_counter()
        s = Session(project)
        s.ask("initialize", INIT)
        starts.append((time.perf_counter() - t) * 1000)
        s.notify("notifications/initialized")
        s.ask("tools/call", LIST)
        firsts.append((time.perf_counter() - t) * 1000)
        s.close()
    print(f"start → initialize reply  {n:6d}   median {statistics.median(starts):7.2f} ms")
    print(f"start → first tool answer {n:6d}   median {statistics.median(firsts):7.2f} ms"
          "   (process start, handshake, daemon connect, list_artifacts)")
    s = Session(project)
    s.ask("initialize", INIT)
    s.notify("notifications/initialized")
    s.ask("tools/call", LIST)
    for name, params in (("list_artifacts limit 20", LIST),
                         ("get_artifact", {"name": "get_artifact", "arguments": {"id": "A.1.1"}})):
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            r = s.ask("tools/call", params)
            times.append((time.perf_counter() - t) * 1000)
            assert "result" in r and not r["result"].get("isError"), r
        print(f"tools/call {name:24s} {n:6d}   p50 {pct(times, 0.5):6.3f} ms   "
              f"p99 {pct(times, 0.99):6.3f} ms   ({calls} calls)")
    listing = json.dumps(s.ask("tools/list", {})["result"], separators=(",", ":"))
    s.close()
print(f"tools/list: {len(listing)} bytes, about {len(listing) // 4} tokens (10 tools)")
subprocess.run(["rm", "-rf", work])
