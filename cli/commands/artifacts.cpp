// `list`, `show`, `tree`, `log`, `next` and `context`.
#include "cli/render/table.hpp"
#include "cli/render/tree.hpp"
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>

namespace kb::cli {

namespace method = protocol::method;

namespace {

std::string or_dash(const json& v) {
  return v.is_string() ? v.get<std::string>() : "-";
}

struct ListOptions {
  std::vector<std::string> states, types, assignees, priorities;
  std::string parent, text, sort = "id", format = "table";
  bool ready = false, blocked = false, reverse = false;
  int limit = 0;
};

int run_list(Session& s, const ListOptions& o) {
  json params{{"state", o.states},        {"type", o.types},      {"assignee", o.assignees},
              {"priority", o.priorities}, {"text", o.text},       {"sort", o.sort},
              {"ready", o.ready},         {"blocked", o.blocked}, {"reverse", o.reverse},
              {"limit", o.limit}};
  if (!o.parent.empty())
    params["parent"] = o.parent;
  std::string format = s.globals.json ? "json" : o.format;
  if (format == "json" && s.json_is_compact()) {
    // Piped JSON is the server's text as is: parsing and re-printing 10,000 summaries would
    // cost more than the rest of the command.
    auto r = s.call_streaming(method::artifacts_list, params, "artifacts", stdout);
    if (!r)
      return s.fail(r.error());
    s.warn_problems((*r)["problems"]);
    return k_exit_ok;
  }
  auto r = s.call(method::artifacts_list, params);
  if (!r)
    return s.fail(r.error());
  s.warn_problems((*r)["problems"]);
  const auto& list = (*r)["artifacts"];
  if (format == "json") {
    s.print_json(list);
  } else if (format == "ids") {
    std::string text;
    for (const auto& a : list)
      text += a.value("id", "") + "\n";
    print(text);
  } else if (format == "tree") {
    print(render::tree_from_list(s.style(), list));
  } else {
    if (list.empty()) {
      if (!s.globals.quiet)
        std::fprintf(stderr, "No artifacts match.%s\n",
                     r->value("total", 0) == 0 ? " Create some under .kodebase/artifacts/." : "");
      return k_exit_ok;
    }
    render::Table table({"ID", "STATE", "PRIORITY", "EST", "TITLE"});
    for (const auto& a : list)
      table.add({s.style().bold(a.value("id", "")), s.style().state(a.value("state", "")),
                 s.style().priority(a.value("priority", "")), or_dash(a["estimation"]),
                 a.value("title", "")});
    print(table.str([&](std::string_view h) { return s.style().dim(h); }));
  }
  return k_exit_ok;
}

void bullet_section(std::string& text, const Session& s, std::string_view title, const json& list) {
  if (!list.is_array() || list.empty())
    return;
  text += "\n" + s.style().bold(title) + "\n";
  for (const auto& item : list)
    text += "  - " + (item.is_string() ? item.get<std::string>() : item.dump()) + "\n";
}

void paragraph(std::string& text, const Session& s, std::string_view title, const json& value) {
  if (!value.is_string() || value.get<std::string>().empty())
    return;
  text += "\n" + s.style().bold(title) + "\n  " + value.get<std::string>() + "\n";
}

std::string join_ids(const json& list) {
  std::string out;
  for (const auto& v : list)
    out += (out.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out.empty() ? "-" : out;
}

int run_show(Session& s, const std::string& id) {
  auto r = s.call(method::artifacts_get, {{"id", id}});
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  const json& a = *r;
  const json meta = a.value("metadata", json::object());
  const json content = a.value("content", json::object());
  std::string text = s.style().bold(a.value("id", "") + "  " + a.value("title", "")) + "\n";
  text += fmt::format("{} · {} · priority {} · estimation {}\n", a.value("type", ""),
                      s.style().state(a.value("state", "")),
                      s.style().priority(a.value("priority", "")), or_dash(a["estimation"]));
  render::Table facts;
  facts.add({"Assignee:", or_dash(a["assignee"])});
  facts.add({"Created by:", or_dash(meta.value("created_by", json()))});
  facts.add({"Parent:", or_dash(a["parent"])});
  if (!a["children"].empty())
    facts.add({"Children:", join_ids(a["children"])});
  facts.add({"Blocked by:", join_ids(a["blocked_by"])});
  facts.add({"Blocks:", join_ids(a["blocks"])});
  std::string ready = a.value("ready", false) ? s.style().green("yes") : s.style().red("no");
  for (const auto& reason : a["blocking_reasons"])
    ready += " — " + reason.value("message", "");
  facts.add({"Ready:", ready});
  facts.add({"Path:", a.value("path", "")});
  text += facts.str();
  paragraph(text, s, "Summary", content.value("summary", json()));
  paragraph(text, s, "Vision", content.value("vision", json()));
  bullet_section(text, s, "Acceptance criteria", content.value("acceptance_criteria", json()));
  bullet_section(text, s, "Deliverables", content.value("deliverables", json()));
  bullet_section(text, s, "Validation", content.value("validation", json()));
  if (content.contains("scope") && content["scope"].is_object()) {
    bullet_section(text, s, "In scope", content["scope"].value("in", json()));
    bullet_section(text, s, "Out of scope", content["scope"].value("out", json()));
  }
  bullet_section(text, s, "Success criteria", content.value("success_criteria", json()));
  if (a.contains("notes"))
    a["notes"].is_string() ? paragraph(text, s, "Notes", a["notes"])
                           : bullet_section(text, s, "Notes", a["notes"]);
  const json events = meta.value("events", json::array());
  if (events.is_array() && !events.empty()) {
    text += "\n" + s.style().bold("Recent events") + "\n";
    render::Table table;
    size_t start = events.size() > 5 ? events.size() - 5 : 0;
    for (size_t i = start; i < events.size(); ++i) {
      const auto& e = events[i];
      table.add({e.value("timestamp", ""), s.style().state(e.value("event", "")),
                 e.value("trigger", ""), e.value("actor", "")});
    }
    text += table.str({}, "  ");
    if (start > 0)
      text += s.style().dim(
          fmt::format("  ({} earlier; `kodebase log {}` shows all)\n", start, a.value("id", "")));
  }
  print(text);
  return k_exit_ok;
}

int run_tree(Session& s, const std::string& id) {
  json params = json::object();
  if (!id.empty())
    params["id"] = id;
  auto r = s.call(method::artifacts_tree, params);
  if (!r)
    return s.fail(r.error());
  s.warn_problems((*r)["problems"]);
  if (s.globals.json) {
    s.print_json((*r)["roots"]);
    return k_exit_ok;
  }
  print(render::tree(s.style(), (*r)["roots"]));
  return k_exit_ok;
}

int run_log(Session& s, const std::string& id) {
  auto r = s.call(method::artifacts_log, {{"id", id}});
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  std::string text = s.style().bold(r->value("id", "") + "  " + r->value("title", "")) + " (" +
                     s.style().state(r->value("state", "")) + ")\n";
  render::Table table({"TIMESTAMP", "EVENT", "TRIGGER", "ACTOR"});
  for (const auto& e : (*r)["events"])
    table.add({e.value("timestamp", ""), s.style().state(e.value("event", "")),
               e.value("trigger", ""), e.value("actor", "")});
  text += table.str([&](std::string_view h) { return s.style().dim(h); });
  print(text);
  return k_exit_ok;
}

int run_next(Session& s, int limit) {
  auto r = s.call(method::artifacts_next, {{"limit", limit}});
  if (!r)
    return s.fail(r.error());
  const auto& items = (*r)["items"];
  if (s.globals.json) {
    s.print_json(items);
    return k_exit_ok;
  }
  if (items.empty()) {
    if (!s.globals.quiet)
      std::fprintf(stderr, "Nothing to pick up: no unblocked issue is waiting to start.\n");
    return k_exit_ok;
  }
  render::Table table;
  int n = 0;
  for (const auto& item : items)
    table.add({fmt::format("{}.", ++n), s.style().bold(item.value("id", "")),
               s.style().state(item.value("state", "")),
               s.style().priority(item.value("priority", "")), item.value("title", ""),
               s.style().dim(item.value("hint", ""))});
  print(table.str());
  return k_exit_ok;
}

int run_context(Session& s, const std::string& id, const std::string& format,
                const std::string& output) {
  auto r = s.call(method::artifacts_context, {{"id", id}, {"format", format}});
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
  } else {
    print(r->value("markdown", ""));
  }
  if (!output.empty()) {
    std::ofstream file(output, std::ios::binary | std::ios::trunc);
    file << r->value("markdown", "");
    if (!file.flush())
      return s.fail(util::make_error(util::ErrorKind::io, fmt::format("cannot write {}", output)));
    if (!s.globals.quiet)
      std::fprintf(stderr, "kodebase: context written to %s\n", output.c_str());
  }
  return k_exit_ok;
}

} // namespace

void register_artifact_commands(CLI::App& app, CommandRegistry& registry) {
  auto list_opts = std::make_shared<ListOptions>();
  auto* list = app.add_subcommand("list", "List artifacts, filtered and sorted");
  list->alias("ls");
  list->add_option("-s,--state", list_opts->states, "Only these states (repeat or comma-separate)")
      ->check(CLI::IsMember({"draft", "ready", "blocked", "in_progress", "in_review", "completed",
                             "cancelled", "archived"}))
      ->delimiter(',');
  list->add_option("-t,--type", list_opts->types, "Only these types")
      ->check(CLI::IsMember({"initiative", "milestone", "issue"}))
      ->delimiter(',');
  list->add_option("-a,--assignee", list_opts->assignees,
                   "Only artifacts whose assignee contains this text");
  list->add_option("-p,--priority", list_opts->priorities, "Only these priorities")
      ->check(CLI::IsMember({"low", "medium", "high", "critical"}))
      ->delimiter(',');
  list->add_option("--parent", list_opts->parent, "Only the subtree under this ID");
  list->add_option("--text", list_opts->text, "Only artifacts whose title or content has this");
  list->add_flag("--ready", list_opts->ready,
                 "Only artifacts that can be started now (ready, nothing holding them)");
  list->add_flag("--blocked", list_opts->blocked, "Only artifacts waiting on something");
  list->add_option("--sort", list_opts->sort, "Sort key")
      ->check(CLI::IsMember({"id", "priority", "state", "updated"}))
      ->capture_default_str();
  list->add_flag("-r,--reverse", list_opts->reverse, "Reverse the order");
  list->add_option("-n,--limit", list_opts->limit, "Show at most N artifacts")
      ->check(CLI::NonNegativeNumber);
  list->add_option("-f,--format", list_opts->format, "Output format")
      ->check(CLI::IsMember({"table", "tree", "ids", "json"}))
      ->capture_default_str();
  registry.add(list, [list_opts](Session& s) { return run_list(s, *list_opts); });

  auto id = std::make_shared<std::string>();
  auto* show = app.add_subcommand("show", "Show one artifact with its readiness and history");
  show->add_option("id", *id, "Artifact ID, e.g. A.1.3")->required();
  registry.add(show, [id](Session& s) { return run_show(s, *id); });

  auto tree_id = std::make_shared<std::string>();
  auto* tree = app.add_subcommand("tree", "Show the hierarchy, or the subtree under an ID");
  tree->add_option("id", *tree_id, "Root of the subtree");
  registry.add(tree, [tree_id](Session& s) { return run_tree(s, *tree_id); });

  auto log_id = std::make_shared<std::string>();
  auto* log = app.add_subcommand("log", "Show an artifact's event history");
  log->add_option("id", *log_id, "Artifact ID")->required();
  registry.add(log, [log_id](Session& s) { return run_log(s, *log_id); });

  auto limit = std::make_shared<int>(10);
  auto* next = app.add_subcommand("next", "Suggest the issues to work on next, best first");
  next->add_option("-n,--limit", *limit, "Show at most N suggestions (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  next->footer("Startable issues come first, then by priority, then by ID.");
  registry.add(next, [limit](Session& s) { return run_next(s, *limit); });

  struct ContextOptions {
    std::string id, format = "standard", output;
  };
  auto ctx = std::make_shared<ContextOptions>();
  auto* context = app.add_subcommand("context", "Print an AI context pack (Markdown) for an ID");
  context->alias("ctx");
  context->add_option("id", ctx->id, "Artifact ID")->required();
  context->add_option("--format", ctx->format, "How much to include")
      ->check(CLI::IsMember({"standard", "compact", "detailed"}))
      ->capture_default_str();
  context->add_option("-o,--output", ctx->output, "Also write the Markdown to FILE");
  registry.add(context,
               [ctx](Session& s) { return run_context(s, ctx->id, ctx->format, ctx->output); });
}

} // namespace kb::cli
