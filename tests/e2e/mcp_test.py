#!/usr/bin/env python3
"""Raw-pipe tests of `kodebase mcp`: JSON lines straight into the binary, every line it writes
checked. Covers what the external suites do not: stdout purity, EOF exit, parse errors,
batches, cancellation races, ping during a long call, paging, version differences, read-only
mode, subscriptions fed by file edits and CLI commands, roots, and a daemon killed between two
calls. Usage: mcp_test.py KODEBASE_BIN EXAMPLE_PROJECT_DIR"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbtest import Checks, private_env  # noqa: E402

kb, example = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
work = tempfile.mkdtemp(prefix="kb-mcp-")
env = private_env(work)
check = Checks()
started = []


def run(*args, cwd=None):
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


project = f"{work}/webshop"
shutil.copytree(example, project)
run("git", "config", "--global", "user.name", "Ada Lovelace")
run("git", "config", "--global", "user.email", "ada@example.com")
run("git", "init", "-q", "-b", "main", cwd=project)
run("git", "add", "-A", cwd=project)
run("git", "commit", "-qm", "example", cwd=project)


class Mcp:
    """One `kodebase mcp` process and the lines it writes."""

    def __init__(self, *args, cwd=project, extra_env=None):
        self.p = subprocess.Popen([kb, "mcp", *args], cwd=cwd, env=dict(env, **(extra_env or {})),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        started.append(self.p)
        self.buffer = b""
        self.notes = []  # notifications and requests from the server, in order

    def send_raw(self, text):
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()

    def send(self, message):
        self.send_raw(json.dumps(message))

    def read(self, timeout=15):
        """The next message, or None after `timeout` seconds."""
        deadline = time.time() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            check(False, f"stdout carries only JSON-RPC: {line[:200]!r}")
            return self.read(timeout)
        items = message if isinstance(message, list) else [message]
        check(all(isinstance(m, dict) and m.get("jsonrpc") == "2.0" for m in items),
              f"every message is JSON-RPC 2.0: {line[:200]!r}")
        return message

    def wait_for(self, match, timeout=15):
        """The first message `match` accepts; others are kept in self.notes."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.read(deadline - time.time())
            if m is None:
                return None
            if match(m):
                return m
            self.notes.append(m)
        return None

    def seen_or_wait(self, match, timeout=15):
        """A message `match` accepts that came already (while waiting for a reply: a
        notification may overtake the reply it follows), else the next one."""
        for i, m in enumerate(self.notes):
            if match(m):
                return self.notes.pop(i)
        return self.wait_for(match, timeout)

    def request(self, id, method, params=None, timeout=15):
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.wait_for(lambda m: isinstance(m, dict) and m.get("id") == id
                             and "method" not in m, timeout)

    def notify(self, method, params=None):
        self.send({"jsonrpc": "2.0", "method": method, "params": params or {}})

    def start(self, version="2025-11-25", capabilities=None, name="test-agent", title="Test Agent"):
        r = self.request(0, "initialize", {"protocolVersion": version,
                                           "capabilities": capabilities or {},
                                           "clientInfo": {"name": name, "title": title,
                                                          "version": "1.0"}})
        self.notify("notifications/initialized")
        return r

    def tool(self, id, name, arguments=None, meta=None):
        params = {"name": name, "arguments": arguments or {}}
        if meta:
            params["_meta"] = meta
        return self.request(id, "tools/call", params)

    def close(self):
        """Closes stdin; the exit code and seconds until exit."""
        t = time.time()
        self.p.stdin.close()
        try:
            code = self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            code = None
        return code, time.time() - t


def result(m):
    return (m or {}).get("result") or {}


def error_code(m):
    return ((m or {}).get("error") or {}).get("code")


# --- lifecycle, framing, errors ---------------------------------------------------------------
s = Mcp()
r = s.request(1, "tools/list")
check(error_code(r) == -32600, f"a request before initialize is refused: {r}")
r = s.request(2, "ping")
check(r and r.get("result") == {}, f"ping is answered before initialize: {r}")
t = time.time()
r = s.request(3, "server/discover")
check(error_code(r) == -32601, f"server/discover gets -32601: {r}")
r = s.start(version="2099-01-01")
check(result(r).get("protocolVersion") == "2025-11-25", f"an unknown version gets our latest: {r}")
caps = result(r).get("capabilities", {})
check(caps.get("resources", {}).get("subscribe") is True and "logging" in caps
      and "completions" in caps, f"capabilities: {caps}")
check("next_work" in result(r).get("instructions", ""), "instructions teach the workflow")
r = s.request(4, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                "clientInfo": {"name": "x", "version": "1"}})
check(error_code(r) == -32600, f"a second initialize is refused: {r}")
s.send_raw("{not json")
r = s.read()
check(r and r.get("id") is None and error_code(r) == -32700, f"a parse error: {r}")
s.send_raw(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "no/such"}))
check(error_code(s.read()) == -32601, "an unknown method gets -32601")
s.notify("notifications/no-such-thing")
s.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 999}})
r = s.request(6, "ping")
check(r and r.get("id") == 6, f"notifications (and a cancel of an unknown id) get no reply: {r}")
r = s.request(7, "tools/call", [1, 2])
check(error_code(r) == -32602, f"params that are not an object: {r}")
r = s.request(8, "logging/setLevel", {"level": "loud"})
check(error_code(r) == -32602, f"a bad log level: {r}")
check(result(s.request(9, "logging/setLevel", {"level": "info"})) == {}, "logging/setLevel")
s.send_raw('[{"jsonrpc":"2.0","id":10,"method":"ping"}]')
r = s.read()
check(error_code(r) == -32600, f"no batches in 2025-11-25: {r}")
s.send_raw('{"jsonrpc":"2.0","id":11,"method":"ping","params":{"x":"' + "a" * (5 << 20) + '"}}')
r = s.read()
check(error_code(r) == -32600 and r.get("id") is None, f"an overlong line is refused: {str(r)[:200]}")
r = s.request(12, "ping")
check(r and r.get("result") == {}, "the session goes on after an overlong line")

# --- tools: listing, schemas, paging --------------------------------------------------------
tools, cursor, pages = [], None, 0
s2 = Mcp(extra_env={"KODEBASE_MCP_PAGE_SIZE": "4"})
s2.start()
while pages < 10:
    r = s2.request(100 + pages, "tools/list", {"cursor": cursor} if cursor else {})
    tools += result(r).get("tools", [])
    cursor = result(r).get("nextCursor")
    pages += 1
    if not cursor:
        break
names = [t["name"] for t in tools]
check(pages == 3 and len(names) == 12 and len(set(names)) == 12, f"tools paged 4 at a time: {pages} {names}")
check(error_code(s2.request(120, "tools/list", {"cursor": "bogus"})) == -32602, "a bad cursor: -32602")
for t in tools:
    schema = t.get("inputSchema", {})
    check(schema.get("type") == "object" and schema.get("additionalProperties") is False,
          f"{t['name']}: strict object inputSchema")
    check(t.get("description") and t.get("title") and "outputSchema" in t, f"{t['name']}: described")
    a = t.get("annotations", {})
    check("readOnlyHint" in a and "idempotentHint" in a and "openWorldHint" in a,
          f"{t['name']}: annotations {a}")
    check(all(c.isalnum() or c in "_.-" for c in t["name"]) and len(t["name"]) <= 64,
          f"{t['name']}: a portable name")
read_only = {t["name"] for t in tools if t["annotations"]["readOnlyHint"]}
check(read_only == {"list_artifacts", "get_artifact", "get_context", "next_work",
                    "validate_artifacts", "github_request", "team_status"}, f"read-only tools: {read_only}")
listing = json.dumps(result(s.request(13, "tools/list")))
print(f"tools/list: {len(listing)} bytes, about {len(listing) // 4} tokens", flush=True)
s2.close()

seen, cursor = [], None
for i in range(20):
    args = {"limit": 5, "fields": ["id", "state"]}
    if cursor:
        args["cursor"] = cursor
    r = s.tool(200 + i, "list_artifacts", args)
    sc = result(r).get("structuredContent", {})
    seen += [a["id"] for a in sc.get("artifacts", [])]
    cursor = sc.get("next_cursor")
    if not cursor:
        break
check(len(seen) == 29 and len(set(seen)) == 29 and sc.get("matched") == 29,
      f"list_artifacts pages through all 29: {len(seen)}")
r = s.tool(230, "list_artifacts", {"limit": 5})
c = result(r)["structuredContent"]["next_cursor"]
r = s.tool(231, "list_artifacts", {"limit": 5, "state": ["ready"], "cursor": c})
check(result(r).get("isError") is True, "a cursor of another listing is refused")
r = s.tool(232, "list_artifacts", {"limit": 0})
check(result(r).get("isError") is True and "limit" in result(r)["content"][0]["text"],
      f"invalid arguments are an isError result: {r}")
check(error_code(s.tool(233, "no_such_tool")) == -32602, "an unknown tool is -32602")
r = s.tool(234, "get_artifact", {"id": "Z.9"})
check(result(r).get("isError") is True and "not found" in result(r)["content"][0]["text"],
      f"an unknown artifact: {r}")
r = s.tool(235, "team_status")
check(result(r).get("isError") is True and "has no team" in result(r)["content"][0]["text"],
      f"team_status without a team says why: {r}")
r = s.tool(236, "claim_artifact", {"id": "A.2.7"})
check(result(r).get("isError") is True, f"claim_artifact without a team: an isError result: {r}")

# --- writes: progress, cascades, attribution, refusals ----------------------------------------
r = s.tool(300, "transition_artifact", {"id": "A.2.7", "action": "start", "branch": False},
           meta={"progressToken": "t1"})
sc = result(r).get("structuredContent", {})
progress = [n["params"]["progress"] for n in s.notes if n.get("method") == "notifications/progress"
            and n["params"].get("progressToken") == "t1"]
check(len(progress) >= 2 and progress == sorted(set(progress)), f"progress strictly increases: {progress}")
check(sc.get("changed") and "A.2.7" in sc["changed"], f"start reports what changed: {sc}")
check(any(n.get("method") == "notifications/message" for n in s.notes), "an info log of the change")
r = s.tool(301, "get_artifact", {"id": "A.2.7", "parts": ["events"]})
actor = result(r)["structuredContent"]["events"][-1]["actor"]
check(actor == "Test Agent for Ada Lovelace (ada@example.com)", f"the agent acts for the user: {actor}")
r = run(kb, "-C", project, "validate", "--strict", "--json")
check('"A.2.7"' not in r.stdout or r.returncode == 0, f"the agent's actor passes strict validation: {r.stdout[:300]}")
r = s.tool(302, "transition_artifact", {"id": "A.2.7", "action": "complete"})
check(result(r).get("isError") is True, f"a refused transition is an isError result: {r}")
r = s.tool(303, "transition_artifact", {"id": "A.3.2", "action": "cancel", "dry_run": True,
                                        "reason": "trying"})
check(result(r).get("isError") is not True and result(r)["structuredContent"].get("dry_run") is True,
      f"a dry run: {r}")
r = run(kb, "-C", project, "config", "set", "mcp.actor", "{agent} ({email})")
check(r.returncode == 0, f"mcp.actor can be set: {r.stderr}")
r = s.tool(304, "update_artifact", {"id": "A.2.7", "priority": "high"})
check(result(r).get("isError") is not True, f"update_artifact: {r}")
r = s.tool(305, "transition_artifact", {"id": "A.2.7", "action": "submit"})
r = s.tool(306, "get_artifact", {"id": "A.2.7", "parts": ["events"]})
check(result(r)["structuredContent"]["events"][-1]["actor"] == "Test Agent (ada@example.com)",
      "the mcp.actor setting shapes the actor")
run(kb, "-C", project, "config", "set", "mcp.actor", "{agent} for {name} ({email})")

# --- subscriptions: file edits, CLI commands, list changes ---------------------------------------
s.notes.clear()
check(result(s.request(400, "resources/subscribe", {"uri": "kodebase://artifact/B.1.5"})) == {},
      "resources/subscribe")
time.sleep(0.3)
path = [p for p in run("find", f"{project}/.kodebase", "-name", "B.1.5*").stdout.split() if p][0]
text = open(path).read()
t = time.time()
with open(path, "w") as f:
    f.write(text.replace("Relevance tuning", "Relevance tuning v2"))
updated = lambda m: m.get("method") == "notifications/resources/updated" and \
    m["params"]["uri"] == "kodebase://artifact/B.1.5"
r = s.wait_for(updated, 10)
check(r is not None, "a file edit reaches the subscriber")
print(f"edit -> resources/updated: {(time.time() - t) * 1000:.0f} ms", flush=True)
t = time.time()
r = run(kb, "-C", project, "add", "B.1", "--title", "Spelling suggestions", "--criterion", "Works")
check(r.returncode == 0, f"kodebase add: {r.stderr}")
r = s.seen_or_wait(lambda m: m.get("method") == "notifications/resources/list_changed", 10)
check(r is not None, "a new artifact sends list_changed")
r = run(kb, "-C", project, "edit", "B.1.5", "--priority", "low")
check(s.seen_or_wait(updated, 10) is not None, "a CLI command on a subscribed artifact is reported")
check(result(s.request(401, "resources/unsubscribe", {"uri": "kodebase://artifact/B.1.5"})) == {},
      "resources/unsubscribe")

# --- a daemon killed between two calls --------------------------------------------------------
s.request(402, "resources/subscribe", {"uri": "kodebase://artifact/B.2.2"})
time.sleep(0.3)
pid = int(open(f"{work}/run/daemon.lock").read().strip())
os.kill(pid, signal.SIGKILL)
time.sleep(0.2)
r = s.tool(403, "list_artifacts", {"limit": 1})
check(result(r).get("structuredContent", {}).get("matched") == 30,
      f"the adapter reconnects to a new daemon unnoticed: {r}")
r = s.tool(404, "transition_artifact", {"id": "B.2.2", "action": "start", "branch": False})
check(result(r).get("isError") is not True, f"writes work after the restart: {r}")
r = s.seen_or_wait(lambda m: m.get("method") == "notifications/resources/updated"
                   and m["params"]["uri"] == "kodebase://artifact/B.2.2", 10)
check(r is not None, "subscriptions are renewed after the daemon restarts")

# --- resources, prompts, completion --------------------------------------------------------------
r = s.request(500, "resources/read", {"uri": "kodebase://artifact/A.2.7"})
c = result(r).get("contents", [{}])[0]
check(c.get("mimeType") == "application/yaml" and "Promo codes" in c.get("text", ""), f"YAML rendering: {c}")
r = s.request(501, "resources/read", {"uri": "kodebase://artifact/A.2.7?format=json"})
check(json.loads(result(r)["contents"][0]["text"])["id"] == "A.2.7", "JSON rendering")
check(error_code(s.request(502, "resources/read", {"uri": "kodebase://artifact/Q.1"})) == -32002,
      "an unknown artifact resource: -32002")
r = s.request(503, "resources/read", {"uri": "kodebase://workflow"})
check("transition_artifact" in result(r)["contents"][0]["text"], "the workflow resource")
r = s.request(504, "resources/templates/list")
check(result(r)["resourceTemplates"][0]["uriTemplate"] == "kodebase://artifact/{id}{?format}", f"templates: {r}")
r = s.request(505, "prompts/get", {"name": "start_issue", "arguments": {"id": "A.3.1"}})
text = result(r).get("messages", [{}])[0].get("content", {}).get("text", "")
check("Retry scheduler" in text and "Acceptance criteria" in text, f"start_issue: {text[:200]}")
check(error_code(s.request(506, "prompts/get", {"name": "start_issue"})) == -32602,
      "a missing prompt argument: -32602")
check(error_code(s.request(507, "prompts/get", {"name": "nope"})) == -32602, "an unknown prompt")
r = s.request(508, "completion/complete", {"ref": {"type": "ref/prompt", "name": "plan_milestone"},
                                           "argument": {"name": "id", "value": "B."}})
check(result(r).get("completion", {}).get("values") == ["B.1", "B.2"], f"completion of IDs: {r}")
code, seconds = s.close()
check(code == 0, f"exit 0 at stdin EOF (got {code})")
print(f"stdin EOF -> exit: {seconds * 1000:.0f} ms", flush=True)

# --- an older protocol version, batches, read-only mode ---------------------------------------
old = Mcp("--read-only")
r = old.start(version="2025-03-26")
check(result(r).get("protocolVersion") == "2025-03-26", "a supported version is echoed")
old.send_raw(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                         {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}},
                         {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]))
r = old.read()
check(isinstance(r, list) and sorted(m["id"] for m in r) == [1, 2], f"a batch in 2025-03-26: {str(r)[:200]}")
listed = next((m for m in r if m.get("id") == 2), {}) if isinstance(r, list) else {}
ro = [t["name"] for t in result(listed).get("tools", [])]
check(ro and "transition_artifact" not in ro and "list_artifacts" in ro, f"--read-only lists reads only: {ro}")
check(all("outputSchema" not in t for t in result(listed).get("tools", [])), "no outputSchema before 2025-06-18")
r = old.tool(3, "transition_artifact", {"id": "A.3.1", "action": "start"})
check(error_code(r) == -32602, f"--read-only refuses writes: {r}")
r = old.tool(4, "get_context", {"id": "A.3.1"})
check("structuredContent" not in result(r) and json.loads(result(r)["content"][0]["text"])["id"] == "A.3.1",
      "2025-03-26 results carry the data as JSON text")
old.close()
v1 = Mcp()
v1.start(version="2024-11-05")
t0 = result(v1.request(1, "tools/list"))["tools"][0]
check("annotations" not in t0 and "title" not in t0, f"2024-11-05 listing: {t0.keys()}")
v1.close()

# --- cancellation and ping during a long call (a fixture tool that waits for the client) --------
f = Mcp("--conformance-fixtures")
f.start(capabilities={"sampling": {}})
f.tool_id = 50
f.send({"jsonrpc": "2.0", "id": 50, "method": "tools/call",
        "params": {"name": "test_sampling", "arguments": {"prompt": "hi"}}})
ask = f.wait_for(lambda m: m.get("method") == "sampling/createMessage")
check(ask is not None and "id" in ask, "the long call asks the client")
r = f.request(51, "ping")
check(r and r.get("result") == {}, "ping is answered during a long call")
f.notify("notifications/cancelled", {"requestId": 50, "reason": "test"})
f.send({"jsonrpc": "2.0", "id": ask["id"] if ask else 0,
        "result": {"role": "assistant", "content": {"type": "text", "text": "x"}, "model": "m"}})
r = f.request(52, "ping")
late = f.wait_for(lambda m: m.get("id") == 50, 1)
check(late is None and not any(m.get("id") == 50 for m in f.notes), "a cancelled call sends no result")
f.send({"jsonrpc": "2.0", "id": 53, "method": "tools/call",
        "params": {"name": "test_sampling", "arguments": {"prompt": "again"}}})
ask = f.wait_for(lambda m: m.get("method") == "sampling/createMessage")
f.send({"jsonrpc": "2.0", "id": ask["id"],
        "result": {"role": "assistant", "content": {"type": "text", "text": "fine"}, "model": "m"}})
f.notify("notifications/cancelled", {"requestId": 53})  # races the answer: either outcome is quiet
r = f.request(54, "ping")
check(r and r.get("result") == {}, "a cancel racing the answer leaves the session working")
f.close()

# --- roots: the project comes from the client ---------------------------------------------------
rt = Mcp(cwd="/")
rt.send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {"roots": {"listChanged": True}},
                    "clientInfo": {"name": "rooted", "version": "1"}}})
rt.wait_for(lambda m: m.get("id") == 0)
rt.notify("notifications/initialized")
ask = rt.wait_for(lambda m: m.get("method") == "roots/list")
check(ask is not None, "the server asks for the client's roots")
rt.send({"jsonrpc": "2.0", "id": ask["id"] if ask else 0,
         "result": {"roots": [{"uri": "file:///nonexistent-root"},
                              {"uri": "file://" + project.replace(" ", "%20"), "name": "shop"}]}})
r = rt.tool(1, "list_artifacts", {"limit": 1})
check(result(r).get("structuredContent", {}).get("matched") == 30, f"the root that is a project is served: {r}")
rt.close()

for p in started:
    if p.poll() is None:
        p.kill()
try:
    os.kill(int(open(f"{work}/run/daemon.lock").read().strip()), signal.SIGKILL)
except (OSError, ValueError):
    pass
shutil.rmtree(work, ignore_errors=True)
sys.exit(check.finish())
