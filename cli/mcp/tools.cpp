// kodebase's MCP tools: each one checks nothing the API checks itself, calls one API method
// through the daemon, and shapes the answer small for an agent.
#include "cli/mcp/server.hpp"
#include "cli/session.hpp"

#include "core/protocol/methods.hpp"
#include "core/util/json.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <map>

namespace kb::cli::mcp {

namespace method = protocol::method;

namespace {

constexpr std::string_view k_id_pattern = "^[A-Z]+(\\.[0-9]+){0,2}$";

json id_schema(std::string_view what) {
  return {{"type", "string"}, {"pattern", k_id_pattern}, {"maxLength", 32}, {"description", what}};
}

json ids_schema(std::string_view what) {
  return {{"type", "array"},
          {"items", id_schema("An artifact ID")},
          {"uniqueItems", true},
          {"maxItems", 100},
          {"description", what}};
}

json text_schema(std::string_view what, int max = 2000) {
  return {{"type", "string"}, {"maxLength", max}, {"description", what}};
}

json texts_schema(std::string_view what) {
  return {{"type", "array"},
          {"items", {{"type", "string"}, {"maxLength", 2000}}},
          {"maxItems", 50},
          {"description", what}};
}

json enum_schema(std::vector<std::string> values, std::string_view what) {
  return {{"type", "string"}, {"enum", values}, {"description", what}};
}

json bool_schema(std::string_view what) {
  return {{"type", "boolean"}, {"description", what}};
}

json object_schema(json properties, std::vector<std::string> required = {}) {
  json out{
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty())
    out["required"] = required;
  return out;
}

// Output schemas stay loose about the artifact objects (their fields follow `fields`).
json out_schema(json properties, std::vector<std::string> required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", required}};
}

const json k_object = {{"type", "object"}};
const json k_objects = {{"type", "array"}, {"items", {{"type", "object"}}}};
const json k_string = {{"type", "string"}};
const json k_integer = {{"type", "integer"}};
const json k_boolean = {{"type", "boolean"}};

const std::vector<std::string> k_states = {"draft",     "ready",     "blocked",   "in_progress",
                                           "in_review", "completed", "cancelled", "archived"};
const std::vector<std::string> k_summary_fields = {"id",       "type",       "title",    "state",
                                                   "priority", "estimation", "assignee", "parent",
                                                   "path",     "blocked_by", "blocks",   "updated"};

// An API error as a result the agent can act on: what failed, and what to do instead.
ToolResult api_failure(const util::Error& e, std::string_view next_step = {}) {
  std::string text = e.message;
  if (e.details.is_object())
    if (auto hint = e.details.find("hint"); hint != e.details.end() && hint->is_string())
      text += fmt::format(" (hint: {})", hint->get<std::string>());
  if (e.kind == util::ErrorKind::not_project)
    text += ". Start the server in a kodebase project (`kodebase mcp --project DIR`) or run "
            "`kodebase init` there.";
  else if (e.kind == util::ErrorKind::unavailable)
    text += ". The kodebase daemon could not be reached; `kodebase daemon status` tells why.";
  else if (!next_step.empty())
    text += fmt::format(". {}", next_step);
  return tool_error(std::move(text));
}

json pick(const json& from, const std::vector<std::string>& keys) {
  json out = json::object();
  for (const auto& k : keys)
    if (auto it = from.find(k); it != from.end())
      out[k] = *it;
  return out;
}

std::string line_of(const json& a) {
  return fmt::format("{}  [{}]  {}  {}", a.value("id", ""), a.value("state", ""),
                     a.value("priority", ""), a.value("title", ""));
}

// Copies the arguments that are also API params.
json forward(const json& args, std::initializer_list<const char*> keys) {
  json out = json::object();
  for (const char* k : keys)
    if (auto it = args.find(k); it != args.end())
      out[k] = *it;
  return out;
}

// ---- reading --------------------------------------------------------------------------------

Tool list_artifacts() {
  Tool t;
  t.name = "list_artifacts";
  t.title = "List artifacts";
  t.description = "List initiatives, milestones and issues matching filters, one page at a "
                  "time (matched = all that match; pass next_cursor for the next page).";
  t.input_schema = object_schema({
      {"state",
       {{"type", "array"},
        {"items", {{"type", "string"}, {"enum", k_states}}},
        {"description", "Only these states"}}},
      {"type",
       {{"type", "array"},
        {"items", {{"type", "string"}, {"enum", {"initiative", "milestone", "issue"}}}},
        {"description", "Only these types"}}},
      {"priority",
       {{"type", "array"},
        {"items", {{"type", "string"}, {"enum", {"low", "medium", "high", "critical"}}}},
        {"description", "Only these priorities"}}},
      {"assignee", text_schema("Part of the assignee, any case", 200)},
      {"parent", id_schema("Only the subtree below this ID")},
      {"text", text_schema("Words in the title or content, any case", 200)},
      {"ready", bool_schema("Only what can be worked on now")},
      {"blocked", bool_schema("Only what waits on something")},
      {"sort", enum_schema({"id", "priority", "state", "updated"}, "Order (default id)")},
      {"reverse", bool_schema("Reverse the order")},
      {"fields",
       {{"type", "array"},
        {"items", {{"type", "string"}, {"enum", k_summary_fields}}},
        {"uniqueItems", true},
        {"description", "Fields per artifact (default id, title, state, priority)"}}},
      {"limit",
       {{"type", "integer"},
        {"minimum", 1},
        {"maximum", 500},
        {"description", "Page size (default 50)"}}},
      {"cursor", text_schema("next_cursor of the previous page", 200)},
  });
  t.output_schema = out_schema({{"artifacts", k_objects},
                                {"matched", k_integer},
                                {"total", k_integer},
                                {"next_cursor", k_string}},
                               {"artifacts", "matched", "total"});
  t.run = [](Server& s, Call&, const json& args) {
    json params = forward(args, {"state", "type", "priority", "assignee", "parent", "text", "ready",
                                 "blocked", "sort", "reverse"});
    auto scope = params.dump();
    size_t offset = 0;
    if (args.contains("cursor")) {
      auto at = read_cursor("list", args["cursor"].get<std::string>(), scope);
      if (!at)
        return tool_error("cursor is not a next_cursor of this listing (the filters must stay "
                          "the same between pages); start again without cursor");
      offset = *at;
    }
    size_t limit = args.value("limit", 50);
    params["offset"] = offset;
    params["limit"] = limit;
    auto r = s.daemon(method::artifacts_list, params);
    if (!r)
      return api_failure(r.error(), "Check the filters against the tool's inputSchema.");
    std::vector<std::string> fields =
        args.value("fields", std::vector<std::string>{"id", "title", "state", "priority"});
    ToolResult out;
    json artifacts = json::array();
    for (const auto& a : (*r)["artifacts"]) {
      artifacts.push_back(pick(a, fields));
      out.text += line_of(a) + "\n";
    }
    size_t matched = r->value("matched", 0);
    out.structured = {
        {"artifacts", std::move(artifacts)}, {"matched", matched}, {"total", r->value("total", 0)}};
    size_t shown = out.structured["artifacts"].size();
    out.text +=
        fmt::format("{} of {} matching ({} in the project)", shown, matched, r->value("total", 0));
    if (offset + shown < matched) {
      out.structured["next_cursor"] = make_cursor("list", offset + shown, scope);
      out.text += fmt::format("; more with cursor \"{}\"",
                              out.structured["next_cursor"].get<std::string>());
    }
    if (auto problems = r->value("problems", json::array()); !problems.empty())
      out.text += fmt::format("\n{} file(s) could not be read; validate_artifacts lists them",
                              problems.size());
    return out;
  };
  return t;
}

Tool get_artifact() {
  Tool t;
  t.name = "get_artifact";
  t.title = "Get an artifact";
  t.description = "One artifact by ID: its fields, content and readiness; more parts on request.";
  t.input_schema = object_schema(
      {{"id", id_schema("The artifact's ID, e.g. A.1.3")},
       {"parts",
        {{"type", "array"},
         {"items",
          {{"type", "string"},
           {"enum",
            {"content", "readiness", "relationships", "events", "notes", "metadata", "yaml"}}}},
         {"uniqueItems", true},
         {"description", "What to include besides the summary (default content, "
                         "readiness, relationships, notes); yaml = the file as written"}}}},
      {"id"});
  t.output_schema = out_schema({{"id", k_string}, {"title", k_string}, {"state", k_string}},
                               {"id", "title", "state"});
  t.run = [](Server& s, Call&, const json& args) {
    auto parts = args.value(
        "parts", std::vector<std::string>{"content", "readiness", "relationships", "notes"});
    auto wants = [&](std::string_view p) {
      return std::find(parts.begin(), parts.end(), p) != parts.end();
    };
    auto r = s.daemon(method::artifacts_get, {{"id", args["id"]}, {"source", wants("yaml")}});
    if (!r)
      return api_failure(r.error(), "list_artifacts shows the IDs there are.");
    json out = pick(*r, {"id", "type", "title", "state", "priority", "estimation", "assignee",
                         "path", "updated"});
    if (wants("content"))
      out["content"] = r->value("content", json(nullptr));
    if (wants("readiness"))
      for (auto k : {"ready", "blocking_reasons"})
        out[k] = (*r)[k];
    if (wants("relationships"))
      for (auto k : {"parent", "blocked_by", "blocks", "children"})
        out[k] = (*r)[k];
    auto metadata = r->value("metadata", json::object());
    if (wants("events"))
      out["events"] = metadata.value("events", json::array());
    if (wants("notes"))
      for (auto k : {"implementation_notes", "delivery_summary", "impact_summary"})
        if (r->contains(k))
          out[k] = (*r)[k];
    if (wants("metadata")) {
      metadata.erase("events");
      out["metadata"] = metadata;
    }
    if (wants("yaml"))
      out["yaml"] = r->value("source", "");
    ToolResult result;
    result.text =
        fmt::format("{} ({}, {}, {} priority): {}", out.value("id", ""), out.value("type", ""),
                    out.value("state", ""), out.value("priority", ""), out.value("title", ""));
    if (out.contains("ready")) {
      result.text += out["ready"].get<bool>() ? "\nready to work on" : "\nnot ready:";
      for (const auto& reason : out["blocking_reasons"])
        result.text += "\n- " + reason.value("message", "");
    }
    if (wants("yaml"))
      result.text += "\n\n" + out["yaml"].get<std::string>();
    result.structured = std::move(out);
    return result;
  };
  return t;
}

Tool get_context() {
  Tool t;
  t.name = "get_context";
  t.title = "Get a context pack";
  t.description = "Markdown context for working on an artifact: it, its parents, dependencies "
                  "and acceptance criteria. Read it before starting an issue.";
  t.input_schema = object_schema(
      {{"id", id_schema("The artifact's ID")},
       {"format", enum_schema({"compact", "standard", "detailed"}, "Detail (default standard)")}},
      {"id"});
  t.output_schema = out_schema({{"id", k_string}, {"format", k_string}, {"markdown", k_string}},
                               {"id", "markdown"});
  t.run = [](Server& s, Call&, const json& args) {
    auto r = s.daemon(method::artifacts_context, forward(args, {"id", "format"}));
    if (!r)
      return api_failure(r.error(), "list_artifacts shows the IDs there are.");
    ToolResult out;
    out.text = r->value("markdown", "");
    out.structured = *r;
    return out;
  };
  return t;
}

Tool next_work() {
  Tool t;
  t.name = "next_work";
  t.title = "What to work on next";
  t.description = "Issues to pick up, best first (startable ones first, then by priority), and "
                  "the open issues that are held up, with why.";
  t.input_schema = object_schema(
      {{"limit",
        {{"type", "integer"},
         {"minimum", 1},
         {"maximum", 100},
         {"description", "How many of each list (default 10)"}}},
       {"include_waiting", bool_schema("Also list held-up issues with reasons (default true)")}});
  t.output_schema = out_schema({{"items", k_objects}, {"waiting", k_objects}}, {"items"});
  t.run = [](Server& s, Call&, const json& args) {
    bool waiting = args.value("include_waiting", true);
    auto r = s.daemon(method::artifacts_next,
                      {{"limit", args.value("limit", 10)}, {"waiting", waiting}});
    if (!r)
      return api_failure(r.error());
    ToolResult out;
    json items = json::array();
    for (const auto& i : (*r)["items"]) {
      json item =
          pick(i, {"id", "title", "state", "priority", "estimation", "assignee", "startable"});
      item["next_step"] = i.value("startable", false)
                              ? fmt::format("transition_artifact {{id: \"{}\", action: \"start\"}}",
                                            i.value("id", ""))
                              : i.value("hint", "");
      out.text += fmt::format("{}  {}\n", line_of(i), item["next_step"].get<std::string>());
      items.push_back(std::move(item));
    }
    if (items.empty())
      out.text += "nothing to pick up\n";
    out.structured = {{"items", std::move(items)}};
    if (waiting) {
      json held = json::array();
      for (const auto& w : r->value("waiting", json::array())) {
        json item = pick(w, {"id", "title", "state", "priority", "blocked_by"});
        json reasons = json::array();
        for (const auto& reason : w["blocking_reasons"])
          reasons.push_back(reason.value("message", ""));
        out.text += fmt::format("held: {}  ({})\n", line_of(w),
                                reasons.empty() ? "" : reasons[0].get<std::string>());
        item["reasons"] = std::move(reasons);
        held.push_back(std::move(item));
      }
      out.structured["waiting"] = std::move(held);
    }
    return out;
  };
  return t;
}

Tool validate_artifacts() {
  Tool t;
  t.name = "validate_artifacts";
  t.title = "Validate artifacts";
  t.description = "Check artifacts against every rule (schema, events, relationships); errors "
                  "and warnings with fixes.";
  t.input_schema = object_schema({{"ids", ids_schema("Only these (default all)")},
                                  {"strict", bool_schema("Also upstream-tolerated older forms")},
                                  {"limit",
                                   {{"type", "integer"},
                                    {"minimum", 1},
                                    {"maximum", 500},
                                    {"description", "Findings shown (default 50)"}}}});
  t.output_schema = out_schema({{"valid", k_boolean},
                                {"artifacts", k_integer},
                                {"errors", k_objects},
                                {"warnings", k_objects},
                                {"truncated", k_boolean}},
                               {"valid", "errors", "warnings"});
  t.run = [](Server& s, Call&, const json& args) {
    auto r = s.daemon(method::artifacts_validate, forward(args, {"ids", "strict"}));
    if (!r)
      return api_failure(r.error());
    size_t limit = args.value("limit", 50);
    ToolResult out;
    out.structured = {{"valid", (*r)["valid"]}, {"artifacts", (*r)["artifacts"]}};
    bool truncated = false;
    for (auto kind : {"errors", "warnings"}) {
      json kept = json::array();
      for (const auto& f : (*r)[kind]) {
        if (kept.size() == limit) {
          truncated = true;
          break;
        }
        out.text += fmt::format(
            "{} {} {}: {}{}\n", kind == std::string_view("errors") ? "error" : "warning",
            f.value("path", ""), f.value("code", ""), f.value("message", ""),
            f["fix"].is_string() ? " (fix: " + f["fix"].get<std::string>() + ")" : "");
        kept.push_back(f);
      }
      out.structured[kind] = std::move(kept);
    }
    out.structured["truncated"] = truncated;
    out.text +=
        fmt::format("{}: {} artifact(s), {} error(s), {} warning(s)",
                    (*r)["valid"].get<bool>() ? "valid" : "invalid", r->value("artifacts", 0),
                    (*r)["errors"].size(), (*r)["warnings"].size());
    return out;
  };
  return t;
}

Tool github_request() {
  Tool t;
  t.name = "github_request";
  t.title = "Read from the GitHub API";
  t.description = "GET a GitHub REST path (e.g. /repos/OWNER/NAME/pulls?state=open) through "
                  "kodebase's cache and rate limiter; read-only.";
  t.input_schema = object_schema(
      {{"path",
        {{"type", "string"},
         {"pattern", "^/[^\\s]*$"},
         {"maxLength", 2000},
         {"description", "API path with query, starting with /"}}},
       {"accept", text_schema("Accept header (default application/vnd.github+json)", 200)},
       {"max_bytes",
        {{"type", "integer"},
         {"minimum", 256},
         {"maximum", 1000000},
         {"description", "Longest body returned (default 50000)"}}}},
      {"path"});
  t.output_schema =
      out_schema({{"status", k_integer},
                  {"cache", k_string},
                  {"body",
                   {{"anyOf", {{{"type", "object"}}, {{"type", "array"}}, {{"type", "string"}}}},
                    {"description", "The answer's JSON, or its text when not JSON or cut"}}},
                  {"truncated", k_boolean}},
                 {"status"});
  t.open_world = true;
  t.run = [](Server& s, Call&, const json& args) {
    json params{{"method", "GET"}, {"path", args["path"]}};
    if (args.contains("accept"))
      params["headers"] = {{"Accept", args["accept"]}};
    for (const char* name : {"GH_TOKEN", "GITHUB_TOKEN"})
      if (const char* token = std::getenv(name); token && *token) {
        params["token"] = token;
        break;
      }
    auto r = s.daemon(method::github_request, params);
    if (!r)
      return api_failure(r.error());
    ToolResult out;
    int status = r->value("status", 0);
    std::string cache;
    for (const auto& h : r->value("headers", json::array()))
      if (h.is_array() && h.size() == 2 && h[0].get<std::string>() == "Cache-Status")
        cache = h[1].get<std::string>();
    std::string body = r->value("body", "");
    size_t max = args.value("max_bytes", 50000);
    bool truncated = body.size() > max;
    json value =
        truncated ? json(nullptr) : util::parse_json_bounded(body, util::k_document_limits);
    out.structured = {
        {"status", status},
        {"cache", cache},
        {"body", value.is_discarded() || truncated ? json(body.substr(0, max)) : value},
        {"truncated", truncated}};
    out.text = fmt::format("HTTP {}{}\n{}", status, truncated ? " (body truncated)" : "",
                           body.substr(0, std::min<size_t>(max, 2000)));
    if (status >= 400) {
      out.error = true;
      out.text = fmt::format("GitHub answered {} for GET {}: {}", status,
                             args["path"].get<std::string>(), body.substr(0, 500));
    }
    return out;
  };
  return t;
}

// ---- writing --------------------------------------------------------------------------------

// The artifacts a write changed, from its reply.
json changed_ids(const json& reply) {
  json ids = json::array();
  if (auto events = reply.find("events"); events != reply.end())
    for (const auto& e : *events)
      if (std::find(ids.begin(), ids.end(), e["id"]) == ids.end())
        ids.push_back(e["id"]);
  return ids;
}

Tool create_artifact() {
  Tool t;
  t.name = "create_artifact";
  t.title = "Create an artifact";
  t.description = "Create a draft initiative (no parent), milestone (parent A) or issue (parent "
                  "A.1); missing required content gets TODO placeholders, which are listed.";
  t.input_schema = object_schema(
      {{"parent", id_schema("Parent ID; omit for a new initiative")},
       {"title", text_schema("Title", 200)},
       {"summary", text_schema("Summary (milestones, issues)")},
       {"acceptance_criteria", texts_schema("Issues: what must hold when done")},
       {"deliverables", texts_schema("Milestones: what is delivered")},
       {"validation", texts_schema("Milestones: how delivery is checked")},
       {"vision", text_schema("Initiatives: the vision")},
       {"scope_in", texts_schema("Initiatives: in scope")},
       {"scope_out", texts_schema("Initiatives: out of scope")},
       {"success_criteria", texts_schema("Initiatives: success criteria")},
       {"priority", enum_schema({"low", "medium", "high", "critical"}, "Default medium")},
       {"estimation", enum_schema({"XS", "S", "M", "L", "XL"}, "Default S")},
       {"assignee", text_schema("Name (email); default: you", 200)},
       {"blocked_by", ids_schema("Sibling IDs this waits for")},
       {"notes", texts_schema("Notes")},
       {"dry_run", bool_schema("Show what would be written; change nothing")}},
      {"title"});
  t.output_schema =
      out_schema({{"id", k_string}, {"path", k_string}, {"placeholders", k_objects}}, {"id"});
  t.output_schema["properties"]["placeholders"] = {{"type", "array"}, {"items", k_string}};
  t.read_only = false;
  t.idempotent = false;
  t.run = [](Server& s, Call&, const json& args) {
    auto r = s.daemon(method::artifacts_create, args);
    if (!r)
      return api_failure(r.error());
    ToolResult out;
    out.structured = pick(*r, {"id", "type", "title", "state", "parent", "path", "blocked_by",
                               "placeholders", "dry_run"});
    out.text = fmt::format(
        "{} {} {} ({}): {}", r->value("dry_run", false) ? "would create" : "created",
        r->value("type", ""), r->value("id", ""), r->value("path", ""), r->value("title", ""));
    if (!(*r)["placeholders"].empty())
      out.text += fmt::format("\nstill TODO: {}; fill them with update_artifact or in the file",
                              (*r)["placeholders"].dump());
    return out;
  };
  return t;
}

Tool update_artifact() {
  Tool t;
  t.name = "update_artifact";
  t.title = "Update fields";
  t.description = "Change fields of an artifact in place (other content and comments stay).";
  t.input_schema = object_schema(
      {{"id", id_schema("The artifact's ID")},
       {"title", text_schema("New title", 200)},
       {"priority", enum_schema({"low", "medium", "high", "critical"}, "New priority")},
       {"estimation", enum_schema({"XS", "S", "M", "L", "XL"}, "New estimation")},
       {"assignee", text_schema("Name (email)", 200)},
       {"summary", text_schema("New summary")},
       {"vision", text_schema("New vision (initiatives)")},
       {"dry_run", bool_schema("Change nothing; show the change")}},
      {"id"});
  t.output_schema = out_schema(
      {{"id", k_string}, {"fields", {{"type", "array"}, {"items", k_string}}}}, {"id", "fields"});
  t.read_only = false;
  t.destructive = true; // replaces the values it sets
  t.run = [](Server& s, Call&, const json& args) {
    auto r = s.daemon(method::artifacts_edit, args);
    if (!r)
      return api_failure(r.error());
    ToolResult out;
    out.structured = pick(*r, {"id", "fields", "dry_run"});
    out.text = fmt::format("{} {}: {}", r->value("dry_run", false) ? "would update" : "updated",
                           r->value("id", ""), (*r)["fields"].dump());
    return out;
  };
  return t;
}

Tool transition_artifact() {
  Tool t;
  t.name = "transition_artifact";
  t.title = "Move an artifact through its lifecycle";
  t.description =
      "ready | block | start (switches to branch <id>) | submit | complete (needs `completion` "
      "unless written) | cancel (needs `reason`) | archive. Cascades to parents and dependents; "
      "every changed artifact is returned.";
  t.input_schema = object_schema(
      {{"id", id_schema("The artifact's ID")},
       {"action",
        enum_schema({"ready", "block", "start", "submit", "complete", "cancel", "archive"},
                    "The transition")},
       {"reason", text_schema("Why (cancel)")},
       {"cascade", bool_schema("cancel: cancel the open dependents too (default false: a "
                               "dependent blocked only by it becomes ready)")},
       {"completion",
        {{"type", "object"},
         {"description", "complete: issues {result, insights[], tags[], challenges[{challenge, "
                         "solution}]}; milestones/initiatives their summary block"}}},
       {"branch", bool_schema("start: create/switch to the git branch (default true)")},
       {"commit", bool_schema("Commit the changed artifact files (default false)")},
       {"dry_run", bool_schema("Show what would change; change nothing")}},
      {"id", "action"});
  t.output_schema = out_schema({{"id", k_string},
                                {"action", k_string},
                                {"noop", k_boolean},
                                {"changed", {{"type", "array"}, {"items", k_string}}},
                                {"events", k_objects},
                                {"pull_request", k_object}},
                               {"id", "action", "changed", "events"});
  t.read_only = false;
  t.destructive = true; // cancel and archive end work
  t.idempotent = false;
  t.run = [](Server& s, Call& call, const json& args) {
    static const std::map<std::string, std::string_view> k_methods = {
        {"ready", method::artifacts_ready},       {"block", method::artifacts_block},
        {"start", method::artifacts_start},       {"submit", method::artifacts_submit},
        {"complete", method::artifacts_complete}, {"cancel", method::artifacts_cancel},
        {"archive", method::artifacts_archive}};
    auto action = args["action"].get<std::string>();
    auto id = args["id"].get<std::string>();
    s.progress(call, 0, 2, fmt::format("{} {}: checking the lifecycle rules", action, id));
    json params =
        forward(args, {"id", "reason", "cascade", "completion", "branch", "commit", "dry_run"});
    if (action == "start" || action == "submit")
      with_token(params); // the pull request is opened or marked ready with it
    auto r = s.daemon(k_methods.at(action), params);
    if (!r) {
      std::string next;
      if (action == "complete")
        next = "Pass completion {result, insights, tags} (issues) or submit first if it is "
               "still in progress.";
      else if (action == "start")
        next = "next_work lists what can be started now.";
      else
        next = "get_artifact shows its state and why it is (not) ready.";
      return api_failure(r.error(), next);
    }
    json changed = changed_ids(*r);
    s.progress(call, 1, 2, fmt::format("{} artifact(s) changed", changed.size()));
    ToolResult out;
    out.structured = pick(*r, {"id", "action", "noop", "events", "notes", "branch", "committed",
                               "dry_run", "files", "pull_request"});
    out.structured["changed"] = changed;
    out.text = r->value("noop", false)
                   ? fmt::format("{} is already there; nothing changed", id)
                   : fmt::format("{}{} {}", r->value("dry_run", false) ? "would " : "", action, id);
    for (const auto& e : (*r)["events"])
      out.text += fmt::format("\n{}: {} → {}{}", e.value("id", ""), e.value("from", ""),
                              e.value("to", ""), e.value("cascade", false) ? " (cascade)" : "");
    for (const auto& n : r->value("notes", json::array()))
      if (n.is_string())
        out.text += "\nnote: " + n.get<std::string>();
    if (auto b = r->value("branch", json(nullptr)); b.is_object())
      out.text += fmt::format("\nbranch: {}", b.value("name", ""));
    s.log(LogLevel::info, out.text);
    s.progress(call, 2, 2, "done");
    return out;
  };
  return t;
}

Tool link_artifacts() {
  Tool t;
  t.name = "link_artifacts";
  t.title = "Link dependencies";
  t.description = "Record that an artifact is blocked by siblings (both sides are written; "
                  "cycles are refused), or remove such links.";
  t.input_schema =
      object_schema({{"id", id_schema("The artifact that waits")},
                     {"blocked_by",
                      {{"type", "array"},
                       {"items", id_schema("A sibling ID")},
                       {"minItems", 1},
                       {"maxItems", 50},
                       {"uniqueItems", true},
                       {"description", "What it waits for"}}},
                     {"remove", bool_schema("Remove these links instead of adding them")},
                     {"dry_run", bool_schema("Change nothing; show the change")}},
                    {"id", "blocked_by"});
  t.output_schema = out_schema({{"id", k_string}}, {"id"});
  t.read_only = false;
  t.run = [](Server& s, Call&, const json& args) {
    bool remove = args.value("remove", false);
    auto r = s.daemon(remove ? method::artifacts_unlink : method::artifacts_link,
                      forward(args, {"id", "blocked_by", "dry_run"}));
    if (!r)
      return api_failure(r.error());
    ToolResult out;
    out.structured = *r;
    out.text =
        fmt::format("{} {} {} {}", args["id"].get<std::string>(),
                    remove ? "no longer waits for" : "now waits for", args["blocked_by"].dump(),
                    r->value("dry_run", false) ? "(dry run)" : "");
    return out;
  };
  return t;
}

Tool team_status() {
  Tool t;
  t.name = "team_status";
  t.title = "Who on the team works on what";
  t.description = "The teammates connected through the team relay: who, on which branch, "
                  "what each has in progress or claimed, with which agents; the claims held; "
                  "the link's state. Check it before picking up work others may be on.";
  t.input_schema = object_schema(json::object());
  t.output_schema = out_schema(
      {{"team", k_string}, {"state", k_string}, {"members", k_objects}, {"claims", k_objects}},
      {"team", "state", "members"});
  t.run = [](Server& s, Call&, const json&) {
    auto r = s.daemon(method::team_members, json::object());
    if (!r)
      return api_failure(r.error(), "Without a team (`kodebase team connect`), nothing is "
                                    "shared; work goes on locally.");
    ToolResult out;
    out.text = fmt::format("team {} ({})\n", r->value("team", ""), r->value("state", ""));
    for (const auto& m : (*r)["members"]) {
      std::string work;
      for (const auto& a : m.value("working_on", json::array()))
        work += fmt::format("{}{} ({})", work.empty() ? "" : ", ", a.value("id", ""),
                            a.value("state", ""));
      out.text += fmt::format("{} <{}>{}: {}\n", m.value("name", ""), m.value("email", ""),
                              m.value("you", false) ? " (you)" : "",
                              work.empty() ? "nothing in progress" : work);
    }
    for (const auto& c : r->value("claims", json::array()))
      out.text += fmt::format("claim: {} held by {} <{}>\n", c.value("id", ""), c.value("name", ""),
                              c.value("email", ""));
    out.structured = *r;
    if (!out.structured.contains("claims"))
      out.structured["claims"] = json::array();
    return out;
  };
  return t;
}

Tool claim_artifact() {
  Tool t;
  t.name = "claim_artifact";
  t.title = "Claim or release an artifact";
  t.description = "Take a lease on an artifact so teammates (and their agents) see it taken, "
                  "or give it back. transition_artifact start claims by itself; claim first "
                  "to reserve work before starting. Refused while someone else holds it.";
  t.input_schema = object_schema(
      {{"id", id_schema("The artifact")},
       {"release", bool_schema("Give the claim back instead")},
       {"ttl_minutes",
        {{"type", "integer"},
         {"minimum", 1},
         {"maximum", 10080},
         {"description", "How long the claim outlives this session's daemon (default 120)"}}}},
      {"id"});
  t.output_schema = out_schema({{"claim", k_object}}, {});
  t.read_only = false;
  t.run = [](Server& s, Call&, const json& args) {
    bool release = args.value("release", false);
    json params = forward(args, {"id"});
    if (args.contains("ttl_minutes"))
      params["ttl_ms"] = args["ttl_minutes"].get<long long>() * 60000;
    auto r = s.daemon(release ? method::team_release : method::team_claim, params);
    if (!r)
      return api_failure(r.error(), release ? ""
                                            : "team_status shows who holds what; "
                                              "next_work suggests other issues.");
    ToolResult out;
    out.structured = *r;
    const auto& c = (*r)["claim"];
    out.text = release ? fmt::format("{} {}", args["id"].get<std::string>(),
                                     r->value("released", false) ? "released" : "was not claimed")
                       : fmt::format("{} claimed by {} (token {})", args["id"].get<std::string>(),
                                     c.value("email", ""), c.value("token", 0LL));
    return out;
  };
  return t;
}

} // namespace

void add_kodebase_tools(Catalogue& c) {
  for (auto make : {list_artifacts, get_artifact, get_context, next_work, validate_artifacts,
                    github_request, team_status, create_artifact, update_artifact,
                    transition_artifact, link_artifacts, claim_artifact})
    c.tools.push_back(make());
}

} // namespace kb::cli::mcp
