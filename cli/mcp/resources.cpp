// kodebase's MCP resources (artifacts, the tree, the workflow guide), prompts and argument
// completion.
#include "cli/mcp/server.hpp"

#include "core/protocol/methods.hpp"

#include <fmt/format.h>

namespace kb::cli::mcp {

namespace method = protocol::method;

namespace {

constexpr std::string_view k_artifact_prefix = "kodebase://artifact/";
constexpr std::string_view k_artifact_template = "kodebase://artifact/{id}{?format}";

constexpr std::string_view k_workflow = R"(# Working with kodebase

The project's work lives in the git repository as YAML artifacts under `.kodebase/artifacts/`:
initiatives (`A`) contain milestones (`A.1`), which contain issues (`A.1.3`). An artifact's state
is the last event of its history: draft → ready → in_progress → in_review → completed, or
blocked (waiting on `blocked_by` siblings), cancelled and archived.

## The loop for an issue
1. `next_work` — pick a startable issue (best first). Do not start anything it lists as held.
2. `get_context {id}` — read the context pack: parents, dependencies, acceptance criteria.
3. `transition_artifact {id, action: "start"}` — records in_progress and switches to branch `<id>`;
   its milestone and initiative start with it.
4. Do the work on that branch until every acceptance criterion holds.
5. `transition_artifact {id, action: "submit"}` — in_review, when the work is ready for review.
6. `transition_artifact {id, action: "complete", completion: {result, insights, tags,
   challenges}}` — completed; dependents whose blockers are all done become ready.

## Rules
- Change artifacts through these tools (or the `kodebase` CLI), never by editing event history.
- Only `ready` issues can start; `blocked` ones wait for their `blocked_by` siblings.
- Dependencies link siblings only (issue↔issue in one milestone); cycles are refused.
- `cancel` needs a reason; `archive` applies to cancelled work and is final.
- Every change is recorded with who made it: you, on behalf of the user who runs you.
- Use `dry_run: true` to see what a change would do; `validate_artifacts` before committing.
- Tool errors say what to do next; follow them instead of retrying unchanged.
)";

constexpr std::string_view k_instructions =
    "kodebase tracks this project's work as artifacts in git: initiatives (A) > milestones "
    "(A.1) > issues (A.1.3). To work on an issue: next_work to choose, get_context {id} to "
    "read it, transition_artifact {id, action:\"start\"}, do the work on branch <id>, then "
    "action \"submit\" and \"complete\" with a completion block. list_artifacts and "
    "get_artifact look around; every change is recorded as yours on behalf of the user. The "
    "full rules are in the resource kodebase://workflow.";

// An API failure inside a resource read or prompt: a JSON-RPC error.
[[noreturn]] void throw_failure(const util::Error& e, std::string_view uri = {}) {
  if (e.kind == util::ErrorKind::not_found)
    throw RpcError(k_resource_not_found, e.message,
                   uri.empty() ? json(nullptr) : json{{"uri", uri}});
  if (e.kind == util::ErrorKind::invalid_argument)
    throw RpcError(k_invalid_params, e.message);
  throw RpcError(k_internal_error, e.message);
}

json text_contents(const std::string& uri, std::string_view mime, std::string text) {
  return json{{"contents", {{{"uri", uri}, {"mimeType", mime}, {"text", std::move(text)}}}}};
}

void render_tree(const json& nodes, int depth, std::string& out) {
  for (const auto& n : nodes) {
    out += fmt::format("{:{}}{}  [{}]  {}\n", "", depth * 2, n.value("id", ""),
                       n.value("state", ""), n.value("title", ""));
    render_tree(n.value("children", json::array()), depth + 1, out);
  }
}

std::optional<json> read_kodebase(Server& s, const std::string& uri) {
  if (uri == "kodebase://workflow")
    return text_contents(uri, "text/markdown", std::string(k_workflow));
  if (uri == "kodebase://tree") {
    auto r = s.daemon(method::artifacts_tree, json::object());
    if (!r)
      throw_failure(r.error(), uri);
    std::string text;
    render_tree((*r)["roots"], 0, text);
    return text_contents(uri, "text/plain", text.empty() ? "(no artifacts yet)\n" : text);
  }
  if (!uri.starts_with(k_artifact_prefix))
    return std::nullopt;
  auto rest = uri.substr(k_artifact_prefix.size());
  std::string format = "yaml";
  if (auto q = rest.find('?'); q != std::string::npos) {
    auto query = rest.substr(q + 1);
    rest.resize(q);
    if (query == "format=json" || query == "format=yaml")
      format = query.substr(7);
    else
      throw RpcError(k_invalid_params, "the only query is ?format=yaml or ?format=json");
  }
  auto r = s.daemon(method::artifacts_get, {{"id", rest}, {"source", format == "yaml"}});
  if (!r)
    throw_failure(r.error(), uri);
  if (format == "yaml")
    return text_contents(uri, "application/yaml", r->value("source", ""));
  r->erase("source");
  return text_contents(uri, "application/json", r->dump(2));
}

// Artifact IDs starting with `prefix`, narrowed by API list filters.
std::vector<std::string> ids_like(Server& s, const std::string& prefix, json filter) {
  std::vector<std::string> out;
  auto r = s.daemon(method::artifacts_list, std::move(filter));
  if (!r)
    return out;
  for (const auto& a : (*r)["artifacts"]) {
    auto id = a.value("id", "");
    if (id.starts_with(prefix))
      out.push_back(std::move(id));
  }
  return out;
}

json user_text(std::string text) {
  return json{{"role", "user"}, {"content", {{"type", "text"}, {"text", std::move(text)}}}};
}

std::string id_argument(const json& args) {
  auto id = args.value("id", json(nullptr));
  if (!id.is_string() || id.get<std::string>().empty())
    throw RpcError(k_invalid_params, "the argument id must be an artifact ID such as A.1.3");
  return id.get<std::string>();
}

json artifact_or_throw(Server& s, const std::string& id) {
  auto r = s.daemon(method::artifacts_get, {{"id", id}});
  if (!r) {
    if (r.error().kind == util::ErrorKind::not_found)
      throw RpcError(k_invalid_params, r.error().message);
    throw_failure(r.error());
  }
  return *r;
}

std::string bullet_list(const json& items) {
  std::string out;
  if (items.is_array())
    for (const auto& i : items)
      out += "- " + (i.is_string() ? i.get<std::string>() : i.dump()) + "\n";
  return out.empty() ? "- (none written)\n" : out;
}

json start_issue(Server& s, const json& args) {
  auto id = id_argument(args);
  auto a = artifact_or_throw(s, id);
  auto context = s.daemon(method::artifacts_context, {{"id", id}, {"format", "detailed"}});
  if (!context)
    throw_failure(context.error());
  auto criteria = a.value("content", json::object()).value("acceptance_criteria", json::array());
  std::string state = a.value("state", "");
  std::string text = fmt::format(
      "Start work on {} \"{}\" (now {}).\n\n{}\n\n## Acceptance criteria\n{}\n## How to proceed\n"
      "{}1. Call transition_artifact {{id: \"{}\", action: \"start\"}}; work on branch {}.\n"
      "2. Meet every acceptance criterion; keep commits focused.\n"
      "3. Call transition_artifact with action \"submit\" when it is ready for review.\n\n"
      "{}",
      id, a.value("title", ""), state, context->value("markdown", ""), bullet_list(criteria),
      state == "ready" ? ""
                       : fmt::format("0. It is {}, not ready: check get_artifact {{id: \"{}\"}} "
                                     "for what holds it up first.\n",
                                     state, id),
      id, id, k_workflow);
  return json{{"description", fmt::format("Start {}: {}", id, a.value("title", ""))},
              {"messages", {user_text(std::move(text))}}};
}

json plan_milestone(Server& s, const json& args) {
  auto id = id_argument(args);
  auto a = artifact_or_throw(s, id);
  if (a.value("type", "") != "milestone")
    throw RpcError(k_invalid_params,
                   fmt::format("{} is an {}, not a milestone", id, a.value("type", "")));
  auto children = s.daemon(method::artifacts_list, {{"parent", id}});
  if (!children)
    throw_failure(children.error());
  std::string issues;
  for (const auto& c : (*children)["artifacts"])
    issues += fmt::format("- {} [{}] {} (blocked by {})\n", c.value("id", ""), c.value("state", ""),
                          c.value("title", ""), c["blocked_by"].dump());
  auto content = a.value("content", json::object());
  std::string text = fmt::format(
      "Plan milestone {} \"{}\".\n\nSummary: {}\n\n## Deliverables\n{}\n## Issues so far\n{}\n"
      "## What to do\nBreak the remaining work into issues small enough for a day or two "
      "(estimation XS–M): create_artifact {{parent: \"{}\", title, summary, "
      "acceptance_criteria, estimation, priority}}; record order with link_artifacts "
      "{{id, blocked_by}}; then transition_artifact action \"ready\" on each issue that is "
      "fully described. Do not duplicate the issues above.",
      id, a.value("title", ""), content.value("summary", ""),
      bullet_list(content.value("deliverables", json::array())),
      issues.empty() ? "- (none yet)\n" : issues, id);
  return json{{"description", fmt::format("Plan {}: {}", id, a.value("title", ""))},
              {"messages", {user_text(std::move(text))}}};
}

json write_completion(Server& s, const json& args) {
  auto id = id_argument(args);
  auto a = artifact_or_throw(s, id);
  auto commits = s.daemon(method::artifacts_commits, {{"id", id}, {"limit", 100}});
  std::string log;
  if (commits) {
    for (const auto& c : (*commits)["commits"]) {
      log += fmt::format("- {} {}\n", c.value("sha", "").substr(0, 10), c.value("subject", ""));
      if (auto body = c.value("body", ""); !body.empty())
        log += "  " + body.substr(0, 600) + "\n";
    }
    if (log.empty())
      log = fmt::format("- (no commits on {} beyond {} yet)\n", id, commits->value("base", ""));
  } else {
    log = fmt::format("- (commits unavailable: {})\n", commits.error().message);
  }
  std::string type = a.value("type", "issue");
  std::string block = type == "issue" ? "{result, insights[], tags[], challenges[{challenge, "
                                        "solution}]}"
                                      : "the summary block of a " + type;
  auto criteria = a.value("content", json::object()).value("acceptance_criteria", json::array());
  std::string text = fmt::format(
      "Draft the completion block of {} \"{}\" (now {}) from the work on its branch.\n\n"
      "## Acceptance criteria\n{}\n## Commits on branch {}\n{}\n## What to write\n"
      "completion = {}: result = one or two sentences on what now works; insights = what was "
      "learned that others should know; tags = a few lowercase topics; challenges = problems "
      "met and how they were solved. Only state what the commits show. Then call "
      "transition_artifact {{id: \"{}\", action: \"complete\", completion: ...}} (submit first "
      "if it is still in progress).",
      id, a.value("title", ""), a.value("state", ""), bullet_list(criteria), id, log, block, id);
  return json{{"description", fmt::format("Completion for {}", id)},
              {"messages", {user_text(std::move(text))}}};
}

json id_argument_spec(std::string_view what) {
  return json::array({{{"name", "id"}, {"description", what}, {"required", true}}});
}

} // namespace

std::string_view workflow_text() {
  return k_workflow;
}

std::string_view instructions_text() {
  return k_instructions;
}

void add_kodebase_catalogue(Catalogue& c, const Options&) {
  add_kodebase_tools(c);
  c.resources.push_back({"kodebase://workflow", "workflow", "The kodebase workflow",
                         "The lifecycle rules an agent must follow", "text/markdown"});
  c.resources.push_back({"kodebase://tree", "tree", "Artifact tree",
                         "Every artifact in its hierarchy, with states", "text/plain"});
  c.templates.push_back({{"uriTemplate", k_artifact_template},
                         {"name", "artifact"},
                         {"title", "Artifact"},
                         {"description", "One artifact: its YAML file, or ?format=json for the "
                                         "parsed form with readiness"},
                         {"mimeType", "application/yaml"}});
  c.readers.push_back(read_kodebase);
  c.prompts.push_back({"start_issue", "Start an issue",
                       "Context pack, acceptance criteria and the rules for starting an issue",
                       id_argument_spec("The issue's ID, e.g. A.1.3"), start_issue});
  c.prompts.push_back({"plan_milestone", "Plan a milestone",
                       "Break a milestone into issues with dependencies",
                       id_argument_spec("The milestone's ID, e.g. A.1"), plan_milestone});
  c.prompts.push_back({"write_completion", "Write a completion",
                       "Draft an artifact's completion block from its branch's commits",
                       id_argument_spec("The artifact's ID"), write_completion});
  c.completers.push_back([](Server& s, const json& ref, const std::string& argument,
                            const std::string& value) -> std::optional<std::vector<std::string>> {
    if (ref.value("type", "") == "ref/resource") {
      if (ref.value("uri", "") != k_artifact_template)
        return std::nullopt;
      if (argument == "format")
        return std::vector<std::string>{"yaml", "json"};
      return ids_like(s, value, json::object());
    }
    auto name = ref.value("name", "");
    if (argument != "id")
      return std::nullopt;
    if (name == "start_issue")
      return ids_like(s, value, {{"type", "issue"}, {"state", {"ready", "draft", "blocked"}}});
    if (name == "plan_milestone")
      return ids_like(s, value, {{"type", "milestone"}});
    if (name == "write_completion")
      return ids_like(s, value, {{"state", {"in_progress", "in_review"}}});
    return std::nullopt;
  });
}

} // namespace kb::cli::mcp
