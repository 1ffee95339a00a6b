#!/usr/bin/env python3
"""GitHub proxy benchmarks: prints figures, asserts nothing.

usage: bench/github.py BIN_DIR [--quick]

A stand-in upstream (loopback TCP and a Unix socket, 10 KB JSON bodies with ETags, 304 on a
matching If-None-Match) is started, then the release daemon in a private runtime directory:
  - cache-hit latency through github.sock (one warm key, keep-alive connection): p50 / p99
  - a miss through the daemon vs the same request straight to upstream: p50 each, and overhead
  - throughput of cache hits with 32 concurrent clients
  - a repeated-read workload (each read revalidated): share answered locally or by a 304
  - `gh api` straight to upstream vs through the daemon (both over a Unix socket)
  - daemon RSS with 50,000 cache entries (5,000 with --quick)
"""
import hashlib
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingUnixStreamServer

BIN = sys.argv[1]
QUICK = "--quick" in sys.argv
KB = os.path.join(BIN, "kodebase")
BODY = json.dumps({"full_name": "o/r", "padding": "x" * 10000}).encode()
ETAG = '"%s"' % hashlib.sha256(BODY).hexdigest()[:16]
counts = {"200": 0, "304": 0}
lock = threading.Lock()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        if self.request.family != socket.AF_UNIX:  # headers and body go out at once
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def address_string(self):
        return "local"

    def do_GET(self):
        if self.headers.get("If-None-Match") == ETAG:
            with lock:
                counts["304"] += 1
            self.send_response(304)
            self.send_header("ETag", ETAG)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with lock:
            counts["200"] += 1
        body = BODY if not self.path.startswith("/small/") else b'{"n":1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("ETag", ETAG)
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class UnixUpstream(ThreadingUnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("local", 0)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def request_bytes(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: api.github.com\r\nAccept: application/vnd.github+json\r\n"
            "Authorization: token bench-token\r\n%s\r\n" % (path, extra)).encode()


def read_reply(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        rest += chunk
    return head, rest[length:]


def timed(sock, req, n):
    times, buf = [], b""
    for _ in range(n):
        t = time.perf_counter()
        sock.sendall(req)
        _, buf = read_reply(sock, buf)
        times.append((time.perf_counter() - t) * 1000)
    return times


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def hammer(args):
    path, n = args
    s = connect(path)
    req, buf = request_bytes("/repos/o/r"), b""
    for _ in range(n):
        s.sendall(req)
        _, buf = read_reply(s, buf)
    s.close()
    return n


def rss_mb(env):
    out = subprocess.run([KB, "daemon", "status", "--json"], env=env, capture_output=True).stdout
    return json.loads(out)["rss_bytes"] / (1024 * 1024)


def main():
    work = tempfile.mkdtemp()
    tcp = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    tcp.daemon_threads = True
    unix_path = os.path.join(work, "upstream.sock")
    unix = UnixUpstream(unix_path, Upstream)
    for server in (tcp, unix):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = "http://127.0.0.1:%d" % tcp.server_address[1]
    env = dict(os.environ, KODEBASE_RUNTIME_DIR=os.path.join(work, "run"),
               XDG_STATE_HOME=os.path.join(work, "state"), XDG_CACHE_HOME=os.path.join(work, "cache"),
               XDG_CONFIG_HOME=os.path.join(work, "config"), HOME=work,
               KODEBASE_GITHUB_API_URL=upstream, KODEBASE_GITHUB_CONCURRENCY="64")
    sock_path = os.path.join(work, "run", "github.sock")
    print("kodebase GitHub proxy benchmarks (%d cores, %s)" % (os.cpu_count(), BIN))
    try:
        subprocess.run([KB, "daemon", "start", "-q"], env=env, check=True)
        n = 1000 if QUICK else 10000

        # cache hits through github.sock
        s = connect(sock_path)
        timed(s, request_bytes("/repos/o/r"), 50)  # warm: one miss, then hits
        hits = timed(s, request_bytes("/repos/o/r"), n)
        print("hit via github.sock (10 KB)   p50 %6.3f ms   p99 %6.3f ms   (%d requests)"
              % (pct(hits, 50), pct(hits, 99), n))

        # a miss (no-store: always upstream) vs straight to upstream
        m = 300 if QUICK else 2000
        via = timed(s, request_bytes("/repos/o/r", "Cache-Control: no-store\r\n"), m)
        d = socket.create_connection(tcp.server_address)
        direct = timed(d, request_bytes("/repos/o/r"), m)
        d.close()
        print("miss via daemon               p50 %6.3f ms   p99 %6.3f ms" % (pct(via, 50), pct(via, 99)))
        print("same, straight to upstream    p50 %6.3f ms   p99 %6.3f ms   overhead p50 %.3f ms"
              % (pct(direct, 50), pct(direct, 99), pct(via, 50) - pct(direct, 50)))
        s.close()

        # throughput with 32 concurrent clients (4 processes x 8 connections)
        per = 200 if QUICK else 1000
        with multiprocessing.Pool(4) as pool:
            t = time.perf_counter()
            done = sum(pool.map(hammer, [(sock_path, per)] * 32))
            elapsed = time.perf_counter() - t
        print("hits with 32 clients          %6.0f requests/s   (%d requests)" % (done / elapsed, done))

        # repeated reads, each revalidated: what reaches upstream as a full answer
        with lock:
            before = dict(counts)
        s = connect(sock_path)
        reads = 100
        timed(s, request_bytes("/repos/o/r", "Cache-Control: no-cache\r\n"), reads)
        s.close()
        with lock:
            full = counts["200"] - before["200"]
            not_modified = counts["304"] - before["304"]
        print("repeated reads (%d, each revalidated): %d answered by 304, %d full answers: "
              "%.0f %% cost no quota" % (reads, not_modified, full, 100.0 * (reads - full) / reads))

        # gh api: straight to upstream vs through the daemon, both over a Unix socket
        if shutil.which("gh"):
            for label, path in (("gh api straight to upstream", unix_path),
                                ("gh api through the daemon", sock_path)):
                gh_env = dict(env, GH_CONFIG_DIR=os.path.join(work, "gh-" + label[-6:]),
                              GH_TOKEN="bench-token")
                subprocess.run(["gh", "config", "set", "http_unix_socket", path], env=gh_env, check=True)
                runs = []
                for _ in range(5 if QUICK else 15):
                    t = time.perf_counter()
                    subprocess.run(["gh", "api", "repos/o/r"], env=gh_env, capture_output=True, check=True)
                    runs.append((time.perf_counter() - t) * 1000)
                print("%-29s median %6.1f ms" % (label, statistics.median(runs)))

        # memory with many entries
        entries = 5000 if QUICK else 50000
        s = connect(sock_path)
        buf = b""
        for i in range(entries):
            s.sendall(request_bytes("/small/%d" % i))
            _, buf = read_reply(s, buf)
        s.close()
        stats = json.loads(subprocess.run([KB, "cache", "stats", "--json"], env=env,
                                          capture_output=True).stdout)
        print("daemon RSS with %d cache entries: %.1f MB (cache file %.1f MB)"
              % (stats["entries"], rss_mb(env), stats["bytes"] / (1024 * 1024)))
    finally:
        subprocess.run([KB, "daemon", "stop", "-q"], env=env)
        tcp.shutdown()
        unix.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
