#!/usr/bin/env python3
"""A small stand-in for api.github.com, for the GitHub proxy tests.

usage: fake_github.py PORT_FILE

Listens on a free loopback port (written to PORT_FILE) and answers:
  GET  /repos/o/r             the repository; its body names the caller's token by a digest,
                              ETag bound to token and version; If-None-Match → 304 (no quota)
  POST /repos/o/r/issues      201; changes the repository (new version, new ETag)
  GET  /repos/o/r/issues      three pages (?page=1..3) with absolute Link headers
  GET  /slow/NAME             200 after 0.5 s (for coalescing)
  GET  /flaky                 200 the first time, 500 afterwards
  GET  /gzip                  a gzip-encoded body when asked for gzip
  GET  /missing               404 with GitHub's error shape
  GET  /limited/primary       403, quota spent (remaining 0, reset in 10 s)
  GET  /limited/secondary     403, a secondary limit with Retry-After: 2
  GET  /limited/bare         403, a secondary limit without Retry-After
  GET  /redirect              302 to another host
  GET  /low                   200 with only 100 requests left
  POST /graphql               a repository named r (what `gh repo view` asks for); a query
                              naming rateLimited gets GraphQL's RATE_LIMITED answer, one
                              asking for rateLimit gets its figures (no headers)
  GET  /_log                  (not proxied) every request seen: time, method, path,
                              if-none-match, authorization present
  GET  /_max_active           (not proxied) the most /slow/ requests served at once
Quota headers count down on every 200 and stay on a 304, like GitHub's.
"""
import gzip
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
log = []
state = {"version": 1, "remaining": 5000, "flaky": 0, "active": 0, "max_active": 0}


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=None, quota=True):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if quota:
            with lock:
                if status != 304:
                    state["remaining"] -= 1
                remaining = state["remaining"]
            self.send_header("X-RateLimit-Limit", "5000")
            self.send_header("X-RateLimit-Remaining", str(remaining))
            self.send_header("X-RateLimit-Used", str(5000 - remaining))
            self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            self.send_header("X-RateLimit-Resource", "core")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json(self, status, doc, headers=None):
        h = {"Content-Type": "application/json; charset=utf-8"}
        h.update(headers or {})
        self.send(status, json.dumps(doc).encode(), h)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path
        if path == "/_log":
            with lock:
                return self.send(200, json.dumps(log).encode(), quota=False)
        if path == "/_max_active":
            with lock:
                return self.send(200, str(state["max_active"]).encode(), quota=False)
        auth = self.headers.get("Authorization", "")
        with lock:
            log.append({"time": time.time(), "method": self.command, "path": path,
                        "if_none_match": self.headers.get("If-None-Match", ""),
                        "authorized": bool(auth), "body": body.decode("utf-8", "replace")})
        base = "http://%s:%d" % self.server.server_address
        if path == "/repos/o/r" and self.command in ("GET", "HEAD"):
            with lock:
                version = state["version"]
            etag = '"%s"' % digest("%s/%d/%s" % (auth, version, self.headers.get("Accept", "")))
            if self.headers.get("If-None-Match") == etag:
                return self.send(304, headers={"ETag": etag})
            return self.json(200, {"full_name": "o/r", "version": version,
                                   "viewer": digest(auth) if auth else "anonymous"},
                             {"ETag": etag, "Cache-Control": "private, max-age=60",
                              "Set-Cookie": "session=secret"})
        if path == "/repos/o/r/issues" and self.command == "POST":
            with lock:
                state["version"] += 1
            return self.json(201, {"number": 1, "title": json.loads(body or b"{}").get("title")})
        if path.startswith("/repos/o/r/issues"):
            page = int(path.split("page=")[1]) if "page=" in path else 1
            links = []
            if page < 3:
                links.append('<%s/repos/o/r/issues?page=%d>; rel="next"' % (base, page + 1))
            links.append('<%s/repos/o/r/issues?page=3>; rel="last"' % base)
            return self.json(200, [{"number": page * 10 + i} for i in range(2)],
                             {"Link": ", ".join(links), "ETag": '"p%d"' % page})
        if path.startswith("/slow/"):
            with lock:
                state["active"] += 1
                state["max_active"] = max(state["max_active"], state["active"])
            time.sleep(0.5)
            with lock:
                state["active"] -= 1
            return self.json(200, {"slow": path}, {"ETag": '"slow"'})
        if path == "/limited/primary":
            body = json.dumps({"message": "API rate limit exceeded for user ID 1."}).encode()
            return self.send(403, body, {"Content-Type": "application/json",
                                         "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                                         "X-RateLimit-Reset": str(int(time.time()) + 10),
                                         "X-RateLimit-Resource": "core"}, quota=False)
        if path == "/limited/secondary":
            return self.json(403, {"message": "You have exceeded a secondary rate limit."},
                             {"Retry-After": "2"})
        if path == "/limited/bare":
            return self.json(403, {"message": "You have exceeded a secondary rate limit."})
        if path == "/redirect":
            return self.json(302, {"message": "Found"},
                             {"Location": "https://codeload.example.com/o/r/legacy.tar.gz/main"})
        if path == "/low":
            body = json.dumps({"low": True}).encode()
            return self.send(200, body, {"Content-Type": "application/json",
                                         "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "100",
                                         "X-RateLimit-Reset": str(int(time.time()) + 3600),
                                         "X-RateLimit-Resource": "core"}, quota=False)
        if path == "/flaky":
            with lock:
                state["flaky"] += 1
                first = state["flaky"] == 1
            if first:
                return self.json(200, {"flaky": "good"}, {"ETag": '"flaky"'})
            return self.json(500, {"message": "Server Error"})
        if path == "/graphql" and self.command == "POST" and b"rateLimited" in body:
            return self.json(200, {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
                             {"X-RateLimit-Resource": "graphql", "X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(int(time.time()) + 600)})
        if path == "/graphql" and self.command == "POST" and b"rateLimit" in body:
            return self.json(200, {"data": {"rateLimit": {"limit": 5000, "remaining": 4321,
                                                          "resetAt": "2030-01-01T00:00:00Z"}}})
        if path == "/graphql" and self.command == "POST":
            return self.json(200, {"data": {"repository": {"name": "r", "owner": {"login": "o"},
                                                           "description": "through kodebase"}}})
        if path == "/gzip":
            doc = json.dumps({"compressed": True}).encode()
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                return self.send(200, gzip.compress(doc),
                                 {"Content-Type": "application/json", "Content-Encoding": "gzip"})
            return self.send(200, doc, {"Content-Type": "application/json"})
        return self.json(404, {"message": "Not Found",
                               "documentation_url": "https://docs.github.com/rest"})

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
