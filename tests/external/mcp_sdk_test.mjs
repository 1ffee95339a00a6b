// `kodebase mcp` driven by the official MCP TypeScript SDK client (@modelcontextprotocol/sdk,
// pinned). Run: node --test mcp_sdk_test.mjs, with KODEBASE_BIN and KODEBASE_EXAMPLE set.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const kb = process.env.KODEBASE_BIN;
const work = mkdtempSync(join(tmpdir(), "kb-sdk-"));
const env = {
  ...process.env,
  HOME: join(work, "home"),
  XDG_CONFIG_HOME: join(work, "config"),
  XDG_STATE_HOME: join(work, "state"),
  XDG_CACHE_HOME: join(work, "cache"),
  KODEBASE_RUNTIME_DIR: join(work, "run"),
  GIT_CONFIG_NOSYSTEM: "1",
  KODEBASE_MCP_PAGE_SIZE: "3",
};
delete env.KODEBASE_ACTOR;
mkdirSync(env.HOME);
const project = join(work, "project");
cpSync(process.env.KODEBASE_EXAMPLE, project, { recursive: true });
const git = (...args) => execFileSync("git", args, { cwd: project, env });
git("config", "--global", "user.name", "Ada Lovelace");
git("config", "--global", "user.email", "ada@example.com");
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-qm", "example");

const client = new Client({ name: "sdk-test", version: "1.0.0" });
const transport = new StdioClientTransport({
  command: kb,
  args: ["mcp", "--project", project],
  env,
  stderr: "pipe",
});

after(async () => {
  await client.close();
  try {
    process.kill(Number(readFileSync(join(work, "run", "daemon.lock"), "utf8").trim()), "SIGKILL");
  } catch {}
  rmSync(work, { recursive: true, force: true });
});

function findFile(dir, prefix) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, prefix);
      if (found) return found;
    } else if (entry.name.startsWith(prefix)) {
      return path;
    }
  }
  return null;
}

test("connects and negotiates the SDK's latest version", async () => {
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, "kodebase");
  assert.ok(client.getServerCapabilities().resources.subscribe);
  assert.match(client.getInstructions(), /next_work/);
});

test("pages through the tools", async () => {
  const names = [];
  let cursor;
  for (let page = 0; page < 10; page++) {
    const r = await client.listTools(cursor ? { cursor } : {});
    names.push(...r.tools.map((t) => t.name));
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  assert.equal(names.length, 12);
  assert.ok(names.includes("transition_artifact"));
});

test("list_artifacts gives structured content that matches its outputSchema", async () => {
  const r = await client.callTool({ name: "list_artifacts", arguments: { state: ["ready"], limit: 2 } });
  assert.equal(r.isError, undefined);
  assert.equal(r.structuredContent.artifacts.length, 2);
  assert.equal(r.structuredContent.matched, 11);
  assert.ok(r.structuredContent.next_cursor);
});

test("transition_artifact reports progress", async () => {
  const progress = [];
  const r = await client.callTool(
    { name: "transition_artifact", arguments: { id: "A.3.1", action: "start", branch: false } },
    undefined,
    { onprogress: (p) => progress.push(p.progress) },
  );
  assert.notEqual(r.isError, true, JSON.stringify(r));
  assert.deepEqual(r.structuredContent.changed, ["A.3.1", "A.3"]); // the milestone follows
  // The SDK hands notifications to their handlers a tick later than the response, so those
  // that arrive together with the response are dropped: at least the first one arrives.
  assert.ok(progress.length >= 1 && progress[0] === 0, `progress: ${progress}`);
  assert.deepEqual([...progress].sort((a, b) => a - b), progress);
});

test("a file edit reaches a subscriber as resources/updated", async () => {
  const uri = "kodebase://artifact/B.1.5";
  const updated = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no resources/updated within 10 s")), 10000);
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      if (n.params.uri === uri) {
        clearTimeout(timer);
        resolve(n.params.uri);
      }
    });
  });
  await client.subscribeResource({ uri });
  await new Promise((r) => setTimeout(r, 300));
  const file = findFile(join(project, ".kodebase"), "B.1.5");
  writeFileSync(file, readFileSync(file, "utf8").replace("Relevance tuning", "Relevance tuning, again"));
  assert.equal(await updated, uri);
});

test("a refused transition is an isError result", async () => {
  const r = await client.callTool({ name: "transition_artifact", arguments: { id: "A.1.1", action: "start" } });
  assert.equal(r.isError, true);
  assert.match(r.content[0].text, /A\.1\.1/);
});

test("an unknown tool is a -32602 protocol error", async () => {
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /-32602/);
});

test("ping", async () => {
  assert.deepEqual(await client.ping(), {});
});
