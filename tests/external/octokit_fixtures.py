#!/usr/bin/env python3
"""Every api.github.com scenario of @octokit/fixtures, replayed three ways against
@octokit/fixtures-server: straight to the server, through the daemon's github.sock, and through
`kodebase api`. Each way must give the same status, headers (hop-by-hop fields and
Cache-Status aside) and body bytes for every recorded exchange, and must consume the scenario
exactly (the server answers each recorded request once and in order, so a request the proxy
added, dropped or changed fails the run).

usage: octokit_fixtures.py BIN_DIR EXTERNAL_DIR
  EXTERNAL_DIR holds node_modules with @octokit/fixtures-server (tests/external).
"""
import glob
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN, EXTERNAL = sys.argv[1], sys.argv[2]
KB = os.path.join(BIN, "kodebase")
SERVER = os.path.join(EXTERNAL, "node_modules", ".bin", "octokit-fixtures-server")
SCENARIOS = os.path.join(EXTERNAL, "node_modules", "@octokit", "fixtures", "scenarios",
                         "api.github.com")
IGNORED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
           "cache-status"}
failures = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("api.github.com", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.unix_path)


def exchange(conn, method, path, headers, body):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    result = (r.status, [(k.lower(), v) for k, v in r.getheaders()], data)
    conn.close()
    return result


def request_of(x):
    headers = {k: str(v) for k, v in x.get("reqheaders", {}).items() if k not in ("host",)}
    body = x.get("body", "")
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    body = body.encode() if body else None
    if body is None:
        headers.pop("content-length", None)
    return x["method"].upper(), x["path"], headers, body


def host_of(x):
    return x["scope"].split("://")[1].split(":")[0]


def load(port, scenario):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/fixtures", body=json.dumps({"scenario": scenario}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    doc = json.loads(r.read())
    conn.close()
    return doc["id"]


def direct(port, fixture_id, x):
    method, path, headers, body = request_of(x)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return exchange(conn, method, "/%s/%s%s" % (host_of(x), fixture_id, path), headers, body)


def through_socket(sock, x):
    method, path, headers, body = request_of(x)
    return exchange(UnixConnection(sock), method, path, headers, body)


def through_cli(env, work, x):
    method, path, headers, body = request_of(x)
    args = [KB, "api", path, "-X", method, "-i"]
    for k, v in headers.items():
        if k != "content-length":
            args += ["-H", "%s: %s" % (k, v)]
    if body is not None:
        with open(os.path.join(work, "body"), "wb") as f:
            f.write(body)
        args += ["--input", os.path.join(work, "body")]
    out = subprocess.run(args, env=env, capture_output=True, timeout=60).stdout
    head, _, data = out.partition(b"\n\n")
    lines = head.decode().split("\n")
    status = int(lines[0].split()[1])
    headers_out = [(l.split(": ", 1)[0].lower(), l.split(": ", 1)[1]) for l in lines[1:] if ": " in l]
    return status, headers_out, data


def normal(result, port, fixture_id):
    """The answer with this load's own address written as GitHub's, and ignored fields gone."""
    status, headers, body = result
    own = re.compile(r"http://localhost:%d/([A-Za-z0-9.-]+)/%s" % (port, re.escape(fixture_id)))

    def fix(text):
        return own.sub(r"https://\1", text)

    kept = sorted((k, fix(v)) for k, v in headers if k not in IGNORED)
    return status, kept, fix(body.decode("utf-8", "replace"))


def consumed(port, fixture_id):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api.github.com/%s/" % fixture_id, headers={"Accept": "application/json"})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return r.status == 404 and "not found" in text.lower()


def daemon(env, *args):
    subprocess.run([KB, "daemon", *args, "-q"], env=env, timeout=60, check=False)


def main():
    if not os.path.exists(SERVER):
        print("FAIL: %s is missing; run scripts/external.sh" % SERVER)
        return 1
    work = tempfile.mkdtemp()
    port = free_port()
    server = subprocess.Popen([SERVER, "--port", str(port), "--log-level", "error",
                               "--fixtures-url", "http://localhost:%d" % port],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, KODEBASE_RUNTIME_DIR=os.path.join(work, "run"),
               XDG_STATE_HOME=os.path.join(work, "state"), XDG_CACHE_HOME=os.path.join(work, "cache"),
               XDG_CONFIG_HOME=os.path.join(work, "config"), HOME=work,
               KODEBASE_GITHUB_FRESH="0", KODEBASE_GITHUB_SPACING_MS="0")
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        env.pop(name, None)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/ping")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        scenarios = sorted(os.path.basename(os.path.dirname(p)) for p in
                           glob.glob(os.path.join(SCENARIOS, "*", "normalized-fixture.json")))
        if len(scenarios) < 20:
            failures.append("only %d scenarios found in %s" % (len(scenarios), SCENARIOS))
        for scenario in scenarios:
            with open(os.path.join(SCENARIOS, scenario, "normalized-fixture.json")) as f:
                recorded = json.load(f)
            runs = {}
            for way in ("direct", "github.sock", "kodebase api"):
                fixture_id = load(port, scenario)
                if way != "direct":
                    daemon(env, "stop")
                    daemon(dict(env, KODEBASE_GITHUB_API_URL="http://localhost:%d/api.github.com/%s"
                                % (port, fixture_id)), "start")
                results = []
                for x in recorded:
                    if way == "direct" or host_of(x) != "api.github.com":
                        r = direct(port, fixture_id, x)
                    elif way == "github.sock":
                        r = through_socket(os.path.join(work, "run", "github.sock"), x)
                    else:
                        r = through_cli(env, work, x)
                    results.append(normal(r, port, fixture_id))
                runs[way] = results
                if not consumed(port, fixture_id):
                    failures.append("%s via %s: the scenario was not consumed exactly" % (scenario, way))
            for way in ("github.sock", "kodebase api"):
                for i, (a, b) in enumerate(zip(runs["direct"], runs[way])):
                    if a != b:
                        what = "status" if a[0] != b[0] else "headers" if a[1] != b[1] else "body"
                        if what == "body":
                            at = next(i for i in range(min(len(a[2]), len(b[2])) + 1)
                                      if i == min(len(a[2]), len(b[2])) or a[2][i] != b[2][i])
                            detail = (a[2][max(0, at - 40):at + 60], b[2][max(0, at - 40):at + 60])
                        else:
                            detail = (a[0], b[0]) if what == "status" else sorted(set(a[1]) ^ set(b[1]))[:4]
                        failures.append("%s #%d via %s: %s differ: %s" % (scenario, i + 1, way, what, detail))
            print("%-40s %d exchanges" % (scenario, len(recorded)))
        # --paginate walks every page by its Link headers, through the proxy
        with open(os.path.join(SCENARIOS, "paginate-issues", "normalized-fixture.json")) as f:
            recorded = json.load(f)
        fixture_id = load(port, "paginate-issues")
        daemon(env, "stop")
        daemon(dict(env, KODEBASE_GITHUB_API_URL="http://localhost:%d/api.github.com/%s"
                    % (port, fixture_id)), "start")
        method, path, headers, _ = request_of(recorded[0])
        args = [KB, "api", path, "--paginate"] + sum((["-H", "%s: %s" % kv] for kv in headers.items()), [])
        out = subprocess.run(args, env=env, capture_output=True, timeout=60)
        items = json.loads(out.stdout or b"null")
        want = sum(len(json.loads(x["response"]) if isinstance(x["response"], str) else x["response"])
                   for x in recorded)
        if not isinstance(items, list) or len(items) != want:
            failures.append("paginate-issues: --paginate gave %r, want %d items (%s)"
                            % (type(items).__name__, want, out.stderr.decode()[:200]))
        if not consumed(port, fixture_id):
            failures.append("paginate-issues: --paginate did not walk every page")
        print("%-40s %d items over %d pages" % ("paginate-issues --paginate", want, len(recorded)))
    finally:
        daemon(env, "stop")
        server.kill()
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print("%d scenarios, %d failures" % (len(scenarios), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
