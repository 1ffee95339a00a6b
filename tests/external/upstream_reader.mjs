// A second reader of artifact files, written from the rules upstream Kodebase applies
// (../shared/reference/kodebase.md §1–§2), on the libraries upstream reads with: the `yaml`
// package (YAML 1.2 core schema, so timestamps stay strings) and `zod` schemas. Lengths are
// counted by zod and blanks are JavaScript's trim(), because this runs in JavaScript on
// upstream's own libraries: nothing about counting is re-implemented here.
//
//   node upstream_reader.mjs files ROOT   check every artifact file under ROOT/.kodebase/artifacts
//   node upstream_reader.mjs texts        read [{field, value}] as JSON on stdin and print, for
//                                         each, whether upstream accepts that text in that field
//
// Upstream asks for zod ^4.1: the releases in that range count a length either in UTF-16 units
// (`.length`) or, newer ones, in code points. A file must pass under every one, so the title's
// ceiling is also checked in UTF-16 units (zod's own floor, in code points, is the stricter).
//
// `files` prints one line per problem ("path: where: message") and exits 1 when there is any.
import { readFileSync, readdirSync, lstatSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

const STATES = ["draft", "ready", "blocked", "cancelled", "in_progress", "in_review", "completed",
                "archived"];
// The triggers each event may carry (§2.3).
const TRIGGERS = {
  draft: ["artifact_created"],
  ready: ["dependencies_met", "dependency_completed"],
  blocked: ["has_dependencies"],
  in_progress: ["branch_created", "children_started"],
  in_review: ["pr_ready", "children_completed"],
  completed: ["pr_merged"],
  cancelled: ["manual_cancel"],
  archived: ["parent_completed", "parent_archived"],
};
const ALL_TRIGGERS = [...new Set(Object.values(TRIGGERS).flat())];

const HUMAN = /^[^()]+ \([^\s()@]+@[^\s()@]+\.[a-z]+\)$/i;
const AGENT = /^agent\.(system|cascade)(@[a-z0-9-]+)?$/;
const TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;
const ID = /^[A-Z]+(\.\d+)*$/;
const FILE = /^([A-Z]+(?:\.\d+)*)(?:\.[A-Za-z0-9][A-Za-z0-9.-]*)?\.yml$/;

const actor = z.string().refine((s) => HUMAN.test(s) || AGENT.test(s), "not an actor");
const timestamp = z.string().regex(TIMESTAMP, "not YYYY-MM-DDTHH:MM:SSZ");
// Upstream's shared list rule: trimmed, non-empty strings, at least one.
const item = z.string().trim().min(1);
const list = z.array(item).min(1);
const text = z.string().trim().min(1);

const dependency = z.object({
  artifact_id: z.string().regex(ID),
  resolved: z.boolean(),
  resolved_at: timestamp.optional(),
});
const event = z
  .object({
    event: z.enum(STATES),
    timestamp,
    actor,
    trigger: z.enum(ALL_TRIGGERS),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((e, ctx) => {
    if (!TRIGGERS[e.event].includes(e.trigger))
      ctx.addIssue({ code: "custom", message: `${e.event} cannot have trigger ${e.trigger}` });
    const deps = e.metadata?.blocking_dependencies;
    if (e.event === "blocked" || deps !== undefined) {
      const r = z.array(dependency).min(1).safeParse(deps);
      if (!r.success)
        ctx.addIssue({ code: "custom", path: ["metadata", "blocking_dependencies"],
                       message: r.error.issues.map((i) => i.message).join("; ") });
    }
  });
const metadata = z.object({
  title: z.string().min(3).max(100)
    .refine((s) => s.length <= 100, "more than 100 UTF-16 units (earlier zod 4 releases count these)"),
  priority: z.enum(["low", "medium", "high", "critical"]).optional(),
  estimation: z.enum(["XS", "S", "M", "L", "XL"]).optional(),
  created_by: actor,
  assignee: actor,
  schema_version: z.string().regex(/^\d+\.\d+\.\d+$/).optional(),
  relationships: z.object({
    blocks: z.array(z.string().regex(ID)).optional(),
    blocked_by: z.array(z.string().regex(ID)).optional(),
  }),
  events: z.array(event).min(1),
});
const notes = z.union([text, z.array(item).min(1)]).optional();
const oneLine = text.refine((s) => !/[\r\n]/.test(s), "more than one line");
const schemas = {
  issue: z.object({
    metadata,
    content: z.object({ summary: text, acceptance_criteria: list }),
    notes,
    implementation_notes: z
      .object({
        result: oneLine,
        tags: z.array(z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/)).min(1).optional(),
        challenges: z.array(z.object({ challenge: text, solution: text })).optional(),
        insights: z.array(item).optional(),
      })
      .optional(),
  }),
  milestone: z.object({
    metadata,
    content: z.object({ summary: text, deliverables: list, validation: list.optional() }),
    notes,
    delivery_summary: z
      .object({ outcome: text, delivered: list, deviations: z.array(item).optional(), next: text,
                risks: z.array(item).optional() })
      .optional(),
  }),
  initiative: z.object({
    metadata,
    content: z.object({ vision: text, scope: z.object({ in: list, out: list }),
                        success_criteria: list }),
    notes,
    impact_summary: z
      .object({ outcome: text, benefits: list, evidence: z.array(item).optional(), next: text })
      .optional(),
  }),
};
const typeOf = (id) => ["initiative", "milestone", "issue"][id.split(".").length - 1];
const where = (path) => (path.length ? path.join(".") : "(root)");

// Every artifact file under the tree, as upstream's loader finds them (dot entries skipped).
function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) walk(path, out);
    else if (st.isFile() && FILE.test(name)) out.push({ path, id: FILE.exec(name)[1] });
  }
  return out;
}

function checkFiles(root) {
  const base = join(root, ".kodebase", "artifacts");
  const problems = [];
  const byId = new Map();
  for (const { path, id } of walk(base, [])) {
    const say = (at, message) => problems.push(`${relative(root, path)}: ${at}: ${message}`);
    const type = typeOf(id);
    if (!type) { say("(file)", `${id} is not an artifact ID`); continue; }
    let doc;
    try {
      doc = parse(readFileSync(path, "utf8"), { schema: "core", uniqueKeys: true });
    } catch (e) {
      say("(yaml)", e.message.split("\n")[0]);
      continue;
    }
    const r = schemas[type].safeParse(doc);
    if (!r.success) {
      for (const i of r.error.issues) say(where(i.path), `${i.code}: ${i.message}`);
      continue;
    }
    const events = r.data.metadata.events;
    if (events[0].event !== "draft") say("metadata.events.0", "the first event is not draft");
    for (let i = 1; i < events.length; i++)
      if (events[i].timestamp < events[i - 1].timestamp)
        say(`metadata.events.${i}`, `${events[i].timestamp} is before ${events[i - 1].timestamp}`);
    byId.set(id, { say, rel: r.data.metadata.relationships, type });
  }
  // Relationships: siblings of one type, present, and recorded on both sides (§2.7).
  const parent = (id) => id.split(".").slice(0, -1).join(".");
  for (const [id, { say, rel, type }] of byId) {
    for (const [key, other] of [["blocks", "blocked_by"], ["blocked_by", "blocks"]]) {
      for (const target of rel[key] ?? []) {
        if (typeOf(target) !== type) say(`metadata.relationships.${key}`, `${target} is not a ${type}`);
        else if (type !== "initiative" && parent(target) !== parent(id))
          say(`metadata.relationships.${key}`, `${target} is not a sibling of ${id}`);
        const t = byId.get(target);
        if (!t) say(`metadata.relationships.${key}`, `${target} does not exist`);
        else if (!(t.rel[other] ?? []).includes(id))
          say(`metadata.relationships.${key}`, `${target}.${other} lacks ${id}`);
      }
    }
  }
  // No cycles along blocked_by.
  const colour = new Map();
  const visit = (id, trail) => {
    if (colour.get(id) === "done") return;
    if (colour.get(id) === "open") {
      byId.get(id).say("metadata.relationships.blocked_by", `cycle: ${[...trail, id].join(" -> ")}`);
      return;
    }
    colour.set(id, "open");
    for (const next of byId.get(id).rel.blocked_by ?? []) if (byId.has(next)) visit(next, [...trail, id]);
    colour.set(id, "done");
  };
  for (const id of byId.keys()) visit(id, []);
  return problems;
}

// Whether upstream accepts `value` in `field` of an otherwise valid artifact.
function acceptsText(field, value) {
  const human = "Ada Lovelace (ada@example.com)";
  const doc = {
    metadata: {
      title: "A valid title", created_by: human, assignee: human, relationships: {},
      events: [{ event: "draft", timestamp: "2026-01-01T00:00:00Z", actor: human,
                 trigger: "artifact_created" }],
    },
    content: { summary: "A summary", acceptance_criteria: ["It works"] },
  };
  if (field === "title") doc.metadata.title = value;
  else if (field === "summary") doc.content.summary = value;
  else if (field === "criterion") doc.content.acceptance_criteria = [value];
  else if (field === "note") doc.notes = [value];
  else if (field === "result") doc.implementation_notes = { result: value };
  else throw new Error(`unknown field ${field}`);
  return schemas.issue.safeParse(doc).success;
}

const [mode, arg] = process.argv.slice(2);
if (mode === "files" && arg) {
  const problems = checkFiles(arg);
  for (const p of problems) console.log(p);
  process.exit(problems.length ? 1 : 0);
} else if (mode === "texts") {
  const cases = JSON.parse(readFileSync(0, "utf8"));
  console.log(JSON.stringify(cases.map((c) => acceptsText(c.field, c.value))));
} else {
  console.error("usage: upstream_reader.mjs files ROOT | texts < cases.json");
  process.exit(2);
}
