// `pr` (an artifact's pull request, checks and reviews) and `sync` (merged pull requests of
// in-review artifacts complete them). Both ask GitHub through the daemon's cache.
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <optional>

namespace kb::cli {

namespace method = protocol::method;

namespace {

// Asks the daemon (with the caller's token) and settles what needs no rendering: an error, or
// the answer as JSON with --json. Otherwise `code` is untouched and the answer is returned.
std::optional<json> ask(Session& s, const char* command, std::string_view m, json params,
                        int& code) {
  if (s.globals.no_daemon) {
    code = s.fail(util::make_error(
        util::ErrorKind::invalid_argument,
        fmt::format("`kodebase {}` needs the daemon: it holds the GitHub cache and quota", command),
        {{"hint", "drop --no-daemon"}}));
    return std::nullopt;
  }
  with_token(params);
  auto r = s.call(m, params);
  if (!r) {
    code = s.fail(r.error());
    return std::nullopt;
  }
  if (s.globals.json) {
    s.print_json(*r);
    code = k_exit_ok;
    return std::nullopt;
  }
  return std::move(*r);
}

// "2 passed, 1 failing (lint), 1 pending" from check runs and the combined status.
std::string checks_line(const json& r) {
  int passed = 0, pending = 0;
  std::vector<std::string> failing;
  for (const auto& c : r.value("checks", json::array())) {
    auto conclusion = c.value("conclusion", json());
    if (c.value("status", "") != "completed" || conclusion.is_null())
      ++pending;
    else if (conclusion == "success" || conclusion == "neutral" || conclusion == "skipped")
      ++passed;
    else
      failing.push_back(c.value("name", "?"));
  }
  std::string line = fmt::format("{} passed", passed);
  if (!failing.empty()) {
    std::string names;
    for (const auto& n : failing)
      names += (names.empty() ? "" : ", ") + n;
    line += fmt::format(", {} failing ({})", failing.size(), names);
  }
  if (pending)
    line += fmt::format(", {} pending", pending);
  if (auto status = r.value("status", json()); status.is_object() && status.value("total", 0) > 0)
    line += fmt::format("; commit status {}", status.value("state", ""));
  if (r.value("checks", json::array()).empty() &&
      !(r.value("status", json()).is_object() && r["status"].value("total", 0) > 0))
    line = "none reported";
  return line;
}

int run_pr(Session& s, const std::string& id) {
  int code = k_exit_ok;
  auto r = ask(s, "pr", method::github_pr, {{"id", id}}, code);
  if (!r)
    return code;
  const auto& st = s.style();
  const auto& a = (*r)["artifact"];
  std::string text = fmt::format("{}  {}  {}\n", st.bold(a.value("id", "")),
                                 st.state(a.value("state", "")), a.value("title", ""));
  auto pr = r->value("pull_request", json());
  if (!pr.is_object()) {
    print(text + st.dim(r->value("note", "no pull request")) + "\n");
    return k_exit_ok;
  }
  auto state = pr.value("state", "");
  if (state == "open" && pr.value("draft", false))
    state = "draft";
  auto colored = state == "merged"   ? st.green(state)
                 : state == "closed" ? st.red(state)
                 : state == "draft"  ? st.dim(state)
                                     : st.yellow(state);
  text += fmt::format("pull request #{}  {}  {} → {}\n  {}\n", pr.value("number", 0), colored,
                      pr.value("head", ""), pr.value("base", ""), pr.value("url", ""));
  text += fmt::format("checks   {}\n", checks_line(*r));
  std::string reviews;
  for (const auto& v : r->value("reviews", json::array()))
    reviews += fmt::format("{}{} {}", reviews.empty() ? "" : ", ", v.value("login", ""),
                           v.value("state", "") == "APPROVED"            ? "approved"
                           : v.value("state", "") == "CHANGES_REQUESTED" ? "requested changes"
                                                                         : v.value("state", ""));
  auto decision = r->value("review_decision", "");
  text += fmt::format("reviews  {}{}\n",
                      decision == "approved"            ? st.green("approved")
                      : decision == "changes_requested" ? st.red("changes requested")
                                                        : std::string("review required"),
                      reviews.empty() ? "" : " (" + reviews + ")");
  print(text);
  return k_exit_ok;
}

int run_sync(Session& s, const std::vector<std::string>& ids) {
  json params = json::object();
  if (!ids.empty())
    params["ids"] = ids;
  int code = k_exit_ok;
  auto r = ask(s, "sync", method::github_sync, params, code);
  if (!r)
    return code;
  const auto& st = s.style();
  std::string text;
  if (r->contains("note"))
    text += st.dim(r->value("note", "")) + "\n";
  for (const auto& c : (*r)["completed"]) {
    text += fmt::format("{}: pull request #{} merged → {}\n", st.bold(c.value("id", "")),
                        c["pull_request"].value("number", 0), st.state("completed"));
    for (const auto& e : c["result"].value("events", json::array()))
      if (e.value("cascade", false) || e.value("id", "") != c.value("id", ""))
        text += fmt::format("  cascade {}: {} → {}\n", e.value("id", ""),
                            st.state(e.value("from", "")), st.state(e.value("to", "")));
    for (const auto& line : c["result"].value("actions", json::array()))
      if (!line.get<std::string>().starts_with("completed "))
        text += st.dim("  " + line.get<std::string>()) + "\n";
    for (const auto& line : c["result"].value("warnings", json::array()))
      std::fprintf(stderr, "kodebase: warning: %s\n", line.get<std::string>().c_str());
  }
  for (const auto& o : (*r)["open"])
    if (o.contains("base_merge"))
      text += base_merge_lines(o["base_merge"], o.value("id", ""));
  for (const auto& e : (*r)["errors"])
    std::fprintf(stderr, "kodebase: %s: %s\n", e.value("id", "").c_str(),
                 e.value("error", "").c_str());
  text +=
      st.dim(fmt::format("{} in review checked, {} merged, {} still open", r->value("checked", 0),
                         (*r)["completed"].size(), (*r)["open"].size())) +
      "\n";
  print(text);
  return (*r)["errors"].empty() ? k_exit_ok : k_exit_failed;
}

} // namespace

void register_pull_request_commands(CLI::App& app, CommandRegistry& registry) {
  auto id = std::make_shared<std::string>();
  auto* pr = app.add_subcommand("pr", "Show an artifact's pull request: state, checks, reviews");
  pr->add_option("id", *id, "Artifact ID")->required();
  pr->footer("The pull request is the one the artifact's in_review event records, else the\n"
             "latest from the branch named by the ID. Read through the daemon's GitHub cache\n"
             "with $GH_TOKEN (else gh's stored login).");
  registry.add(pr, [id](Session& s) { return run_pr(s, *id); });

  auto ids = std::make_shared<std::vector<std::string>>();
  auto* sync = app.add_subcommand(
      "sync", "Complete in-review artifacts whose pull request was merged (asks GitHub)");
  sync->add_option("ids", *ids, "Only these artifacts (default: every one in review)");
  sync->footer("An artifact is completed (trigger pr_merged, dependents made ready) only when the\n"
               "merged pull request comes from its own branch; a merge noticed twice completes it\n"
               "once. The changes are committed when gitOps.post_merge.strategy is direct_commit\n"
               "and the default branch is checked out, else staged. An open pull request whose\n"
               "branch is checked out is kept mergeable as submit keeps it (origin's default\n"
               "branch merged in with the driver when only artifact files would conflict, then\n"
               "pushed). The daemon also checks merges every github.sync_interval seconds\n"
               "(default 300) for projects it has loaded, without touching the work tree.");
  registry.add(sync, [ids](Session& s) { return run_sync(s, *ids); });
}

} // namespace kb::cli
