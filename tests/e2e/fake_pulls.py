#!/usr/bin/env python3
"""A stand-in for GitHub's pull-request API, replaying the exchanges `gh` and the REST docs
show for creating, listing, readying, reviewing and merging pull requests, with state kept in
memory so a test can walk one pull request through its life.

usage: fake_pulls.py PORT_FILE

  GET  /repos/o/r/pulls?head=o:BRANCH&state=open|all   newest first
  POST /repos/o/r/pulls             201 {number, node_id, draft, head, base, html_url}; 422
                                    when one is open for the head already, or head == base
  GET  /repos/o/r/pulls/N           one (merged, merged_at once merged)
  PUT  /repos/o/r/pulls/N/merge     merges it (200 {merged: true}); 405 when it is a draft
  GET  /repos/o/r/pulls/N/reviews   reviews added with /_review
  GET  /repos/o/r/commits/SHA/check-runs, /status   what /_checks set
  GET  /repos/o/r/contents/PATH?ref=   a file set with /_file {path, text, ref?} (base64, or
                                    raw with Accept: application/vnd.github.raw+json)
  POST /graphql                     markPullRequestReadyForReview by node id
  POST /_review {number, login, state}, /_checks {runs: [...], status}, /_file {path, text}
  GET  /_log                        every request: method, path, authorization present
Requests without a token get 401, as GitHub's write endpoints do.
"""
import base64
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
pulls = []  # dicts, oldest first
reviews = {}  # number -> list
checks = {"runs": [], "status": {"state": "pending", "statuses": [], "total_count": 0}}
files = {}
log = []


def view(pr):
    out = dict(pr)
    out["html_url"] = f"https://github.com/{pr['repo']}/pull/{pr['number']}"
    del out["repo"]
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args):
        pass

    def send(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        self.send_header("X-RateLimit-Resource", "core")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def handle_any(self, method):
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        with lock:
            log.append({"method": method, "path": self.path,
                        "authorization": bool(self.headers.get("Authorization"))})
        if path == "/_log":
            with lock:
                return self.send(200, log)
        if path == "/_review":
            b = self.body()
            with lock:
                reviews.setdefault(b["number"], []).append(
                    {"user": {"login": b["login"]}, "state": b["state"]})
            return self.send(200, {})
        if path == "/_checks":
            with lock:
                checks.update(self.body())
            return self.send(200, {})
        if path == "/_file":
            b = self.body()
            with lock:
                files[b["path"] + "@" + b.get("ref", "")] = b["text"]
            return self.send(200, {})
        if not self.headers.get("Authorization"):
            return self.send(401, {"message": "Requires authentication",
                                   "documentation_url": "https://docs.github.com/rest"})
        if path == "/graphql" and method == "POST":
            b = self.body()
            node = (b.get("variables") or {}).get("id")
            with lock:
                for pr in pulls:
                    if pr["node_id"] == node:
                        pr["draft"] = False
                        return self.send(200, {"data": {"markPullRequestReadyForReview": {
                            "pullRequest": {"isDraft": False}}}})
            return self.send(200, {"data": None, "errors": [
                {"type": "NOT_FOUND", "message": f"Could not resolve to a node with the global id of '{node}'"}]})
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/(.*)", path)
        if not m:
            return self.send(404, {"message": "Not Found"})
        repo, rest = m.group(1), m.group(2)
        with lock:
            if rest == "pulls" and method == "GET":
                head = query.get("head", [""])[0]
                state = query.get("state", ["open"])[0]
                found = [view(p) for p in reversed(pulls) if p["repo"] == repo
                         and (not head or f"{repo.split('/')[0]}:{p['head']['ref']}" == head)
                         and (state == "all" or p["state"] == state)]
                return self.send(200, found)
            if rest == "pulls" and method == "POST":
                b = self.body()
                if b.get("head") == b.get("base"):
                    return self.send(422, {"message": "Validation Failed", "errors": [
                        {"resource": "PullRequest", "code": "custom",
                         "message": f"No commits between {b.get('base')} and {b.get('head')}"}]})
                if any(p["head"]["ref"] == b.get("head") and p["state"] == "open" for p in pulls):
                    return self.send(422, {"message": "Validation Failed", "errors": [
                        {"resource": "PullRequest", "code": "custom",
                         "message": f"A pull request already exists for {repo.split('/')[0]}:{b.get('head')}."}]})
                number = len(pulls) + 1
                pr = {"repo": repo, "number": number, "node_id": f"PR_kwDO{number:06d}",
                      "title": b.get("title"), "body": b.get("body"), "state": "open",
                      "draft": bool(b.get("draft")), "merged": False, "merged_at": None,
                      "mergeable_state": "clean",
                      "head": {"ref": b.get("head"), "sha": f"{number:040x}"},
                      "base": {"ref": b.get("base")}}
                pulls.append(pr)
                return self.send(201, view(pr))
            m2 = re.fullmatch(r"pulls/(\d+)(/merge|/reviews)?", rest)
            if m2:
                number = int(m2.group(1))
                pr = next((p for p in pulls if p["number"] == number and p["repo"] == repo), None)
                if not pr:
                    return self.send(404, {"message": "Not Found"})
                if m2.group(2) == "/reviews":
                    return self.send(200, reviews.get(number, []))
                if m2.group(2) == "/merge" and method == "PUT":
                    if pr["draft"]:
                        return self.send(405, {"message": "Pull Request is still a draft"})
                    pr.update(state="closed", merged=True, merged_at="2026-11-29T12:00:00Z")
                    return self.send(200, {"sha": pr["head"]["sha"], "merged": True,
                                           "message": "Pull Request successfully merged"})
                return self.send(200, view(pr))
            if re.fullmatch(r"commits/[^/]+/check-runs", rest):
                return self.send(200, {"total_count": len(checks["runs"]), "check_runs": checks["runs"]})
            if re.fullmatch(r"commits/[^/]+/status", rest):
                return self.send(200, checks["status"])
            if rest.startswith("contents/"):
                name = rest[len("contents/"):]
                ref = query.get("ref", [""])[0]
                key = name + "@" + ref if name + "@" + ref in files else name + "@"
                if key not in files:
                    return self.send(404, {"message": "Not Found"})
                text = files[key].encode()
                if "raw" in (self.headers.get("Accept") or ""):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/vnd.github.raw")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    return self.wfile.write(text)
                return self.send(200, {"type": "file", "path": name, "encoding": "base64",
                                       "content": base64.encodebytes(text).decode()})
        return self.send(404, {"message": "Not Found"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
