// `init` and `status`.
#include "cli/commands/team.hpp"
#include "cli/render/table.hpp"
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>

namespace kb::cli {

namespace method = protocol::method;

namespace {

int run_init(Session& s) {
  auto r = s.call(method::project_init, {{"cli", self_path()}});
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  auto root = r->value("root", "");
  if (!r->value("created", false)) {
    if (!s.globals.quiet)
      std::printf("%s is already a kodebase project; nothing changed\n", root.c_str());
    return k_exit_ok;
  }
  std::printf("Initialized kodebase project in %s\n", root.c_str());
  if (!s.globals.quiet) {
    for (const auto& p : (*r)["paths"])
      std::printf("  created %s\n", p.get<std::string>().c_str());
    if (r->contains("merge_driver"))
      std::printf("  merge driver for artifact files set up (%s; commit it)\n",
                  (*r)["merge_driver"].value("gitattributes", "").c_str());
    std::printf("Next: create artifacts under .kodebase/artifacts/ and run `kodebase status`.\n");
  }
  return k_exit_ok;
}

std::string section(const Session& s, std::string_view title) {
  return s.style().bold(title) + "\n";
}

void print_counts(const Session& s, const json& r, std::string& out) {
  const auto& t = r["by_type"];
  out += fmt::format("{} artifacts: {} initiatives, {} milestones, {} issues\n\n",
                     r.value("artifacts", 0), t.value("initiative", 0), t.value("milestone", 0),
                     t.value("issue", 0));
  render::Table table;
  std::vector<std::string> states, counts;
  for (const auto& [state, n] : r["by_state"].items()) {
    if (n.get<int>() == 0)
      continue;
    table.add({s.style().state(state), std::to_string(n.get<int>())});
  }
  out += section(s, "By state");
  out += table.str({}, "  ");
}

void print_next(const Session& s, const json& r, std::string& out) {
  out += "\n" + section(s, "Next up");
  if (r["next"].empty()) {
    out += "  nothing ready to start\n";
    return;
  }
  render::Table table;
  for (const auto& item : r["next"])
    table.add({s.style().bold(item.value("id", "")), s.style().state(item.value("state", "")),
               s.style().priority(item.value("priority", "")), item.value("title", ""),
               s.style().dim(item.value("hint", ""))});
  out += table.str({}, "  ");
}

void print_in_progress(const Session& s, const json& r, std::string& out) {
  out += "\n" + section(s, "In progress");
  if (r["in_progress"].empty()) {
    out += "  nothing in progress\n";
    return;
  }
  for (const auto& group : r["in_progress"]) {
    out += fmt::format("  {}\n", group.value("assignee", ""));
    render::Table table;
    for (const auto& a : group["artifacts"])
      table.add({s.style().bold(a.value("id", "")), s.style().state(a.value("state", "")),
                 a.value("title", "")});
    out += table.str({}, "    ");
  }
}

void print_blocked(const Session& s, const json& r, std::string& out) {
  out += "\n" + section(s, "Blocked");
  if (r["blocked"].empty()) {
    out += "  nothing blocked\n";
    return;
  }
  render::Table table;
  for (const auto& b : r["blocked"]) {
    std::string why;
    for (const auto& reason : b["reasons"])
      why += (why.empty() ? "" : "; ") + reason.value("message", "");
    table.add({s.style().bold(b.value("id", "")), s.style().state(b.value("state", "")),
               b.value("title", ""), s.style().dim(why)});
  }
  out += table.str({}, "  ");
}

int run_status(Session& s) {
  auto r = s.call(method::project_status);
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  std::string out = s.style().bold("kodebase") + " · " + r->value("root", "") + "\n";
  print_counts(s, *r, out);
  print_next(s, *r, out);
  print_in_progress(s, *r, out);
  print_blocked(s, *r, out);
  const auto& problems = (*r)["problems"];
  if (!problems.empty()) {
    out += "\n" + section(s, "Unreadable files");
    for (const auto& p : problems)
      out += fmt::format("  {}:{}:{}: {}\n", p.value("path", ""), p.value("line", 0),
                         p.value("column", 0), s.style().red(p.value("message", "")));
  }
  if (r->contains("team")) {
    const auto& team = (*r)["team"];
    out += "\n" + section(s, "Team " + clean(team.value("name", "")));
    out += roster_lines(s, team.value("members", json::array()), "  ");
  }
  const auto& svc = (*r)["services"];
  out += fmt::format("\n{} daemon {} · GitHub {} · team {}\n", s.style().dim("Services:"),
                     svc.value("daemon", ""), svc.value("github", ""), svc.value("team", ""));
  print(out);
  return k_exit_ok;
}

} // namespace

void register_project_commands(CLI::App& app, CommandRegistry& registry) {
  auto* init = app.add_subcommand("init", "Create .kodebase/ (artifacts and settings) here");
  init->footer("Run at the root of your repository. An existing project is left untouched.");
  registry.add(init, run_init);

  auto* status = app.add_subcommand(
      "status", "Dashboard: counts by state, next work, in progress, blocked, services");
  registry.add(status, run_status);
}

} // namespace kb::cli
