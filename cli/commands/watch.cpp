// `watch`: live changes of artifacts, as the daemon sees them.
#include "cli/client/daemon.hpp"
#include "cli/client/oneshot.hpp"
#include "cli/commands/team.hpp"
#include "cli/session.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>

namespace kb::cli {

namespace {

namespace method = protocol::method;

// HH:MM:SS of an ISO time, or the text as is.
std::string clock_of(const std::string& time) {
  return time.size() >= 19 ? time.substr(11, 8) : time;
}

std::string human_line(const Session& s, const std::string& name, const json& p, bool all) {
  const auto& st = s.style();
  std::string where = all ? st.dim(p.value("project", "")) + "  " : "";
  if (name == method::team_resync || name == method::team_presence || name == method::team_state ||
      name == method::team_claim_lost)
    return team_event_line(s, name, p, where);
  if (name == method::team_changed && p.value("kind", "") == "pull_request") {
    auto id = clean(p.value("id", ""));
    return fmt::format("{}  {}team  {}  {}  ({})", clock_of(clean(p.value("time", ""))), where,
                       st.bold(id.empty() ? clean(p.value("branch", "")) : id),
                       clean(p.value("title", "")), clean(p.value("cause", "")));
  }
  if (name == method::team_changed && p.value("kind", "") == "reservation")
    return fmt::format("{}  {}team  {}  {}  ID taken{}  ({})", clock_of(clean(p.value("time", ""))),
                       where, st.bold(clean(p.value("id", ""))), clean(p.value("title", "")),
                       p.contains("actor") ? " by " + clean(p.value("actor", "")) : "",
                       clean(p.value("cause", "")));
  if (name == method::team_changed) {
    auto state = [&](const char* key) {
      return p[key].is_string() ? clean(p[key].get<std::string>()) : std::string("-");
    };
    return fmt::format("{}  {}team  {}  {}  {} → {}  ({})", clock_of(clean(p.value("time", ""))),
                       where, st.bold(clean(p.value("id", ""))), clean(p.value("title", "")),
                       state("old_state"), state("new_state"), clean(p.value("cause", "")));
  }
  if (name == method::artifact_duplicate)
    return fmt::format("{}  {}{}  {}  {}: {} has this ID too; fix: {}  ({})",
                       clock_of(p.value("time", "")), where, st.bold(p.value("id", "")),
                       p.value("title", ""), st.yellow("duplicate ID"), p.value("kept_path", "-"),
                       p.value("hint", ""), p.value("cause", ""));
  if (name == method::repo_head)
    return fmt::format(
        "{}  {}HEAD  {} → {}  ({})", clock_of(p.value("time", "")), where,
        p.value("previous_branch", "-").empty() ? "-" : p.value("previous_branch", "-"),
        p.value("branch", "").empty() ? p.value("commit", "").substr(0, 12) : p.value("branch", ""),
        p.value("cause", ""));
  auto state = [&](const char* key) {
    return p[key].is_string() ? st.state(p[key].get<std::string>()) : std::string("-");
  };
  std::string change;
  auto kind = p.value("kind", "");
  if (kind == "created")
    change = "new, " + state("new_state");
  else if (kind == "deleted")
    change = "removed (was " + state("old_state") + ")";
  else if (p["old_state"] == p["new_state"])
    change = "edited, " + state("new_state");
  else
    change = state("old_state") + " → " + state("new_state");
  return fmt::format("{}  {}{}  {}  {}  ({})", clock_of(p.value("time", "")), where,
                     st.bold(p.value("id", "")), p.value("title", ""), change,
                     p.value("cause", ""));
}

int run_watch(Session& s, bool all) {
  json params{{"topics", {"artifacts"}}};
  if (!all)
    params["directory"] = s.directory().string();
  if (!s.globals.quiet && !s.globals.json)
    std::fprintf(stderr, "kodebase: watching %s; Ctrl-C to stop\n",
                 all ? "every project the daemon knows" : s.directory().c_str());
  int code = k_exit_ok;
  auto st = client::follow(params, [&](const std::string& line) {
    auto message = protocol::parse_message(line);
    if (!message)
      return true;
    auto* n = std::get_if<protocol::Notification>(&*message);
    if (!n)
      return true;
    if (n->method == method::shutting_down) {
      std::fprintf(stderr, "kodebase: the daemon is shutting down (%s); watch ends\n",
                   n->params.value("reason", "").c_str());
      return false;
    }
    if (s.globals.json) {
      std::printf("%s\n", json{{"event", n->method}, {"data", n->params}}.dump().c_str());
    } else if (n->method == method::resync) {
      std::fprintf(stderr, "kodebase: fell behind; some changes were skipped\n");
    } else {
      std::printf("%s\n", human_line(s, n->method, n->params, all).c_str());
    }
    std::fflush(stdout);
    return true;
  });
  if (!st)
    return s.fail(st.error());
  return code;
}

} // namespace

void register_watch_command(CLI::App& app, CommandRegistry& registry) {
  auto all = std::make_shared<bool>(false);
  auto* watch = app.add_subcommand("watch", "Stream artifact changes live, as they happen");
  watch->add_flag("--all", *all, "Every project the daemon knows, not just this one");
  watch->footer(
      "One line per change: time, ID, title, old → new state and cause (edit, commit,\n"
      "checkout, merge, kodebase <command>); HEAD moves too, and a second file with a\n"
      "taken ID (a merge of parallel adds) with the renumber that fixes it. With --json,\n"
      "one object per line: {\"event\": \"artifact.changed\" | \"artifact.duplicate\" |\n"
      "\"repo.head\" | \"resync\" |\n"
      "\"team.changed\" | \"team.resync\" | \"team.presence\" | \"team.state\" |\n"
      "\"team.claim_lost\", \"data\": {...}}; team.* come through the team relay\n"
      "(`kodebase team connect`): teammates' changes, joins and leaves, the link's state.");
  registry.add(watch, [all](Session& s) { return run_watch(s, *all); });
}

} // namespace kb::cli
