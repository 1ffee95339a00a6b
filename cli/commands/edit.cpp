// `edit`, `link` and `unlink`.
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>

namespace kb::cli {

namespace method = protocol::method;

namespace {

struct EditOptions {
  std::string id, title, priority, estimation, assignee, summary, vision;
  std::vector<std::string> blocked_by;
  bool dry_run = false;
};

int render(Session& s, const json& r, const std::string& what) {
  if (s.globals.json) {
    s.print_json(r);
    return k_exit_ok;
  }
  size_t files = r["files"].size();
  std::string text = fmt::format("{}: {}\n", s.style().bold(r.value("id", "")), what);
  text += r.value("dry_run", false)
              ? s.style().yellow(fmt::format("dry run: {} file{} would change, nothing written",
                                             files, files == 1 ? "" : "s"))
              : s.style().dim(fmt::format("{} file{} written", files, files == 1 ? "" : "s"));
  print(text);
  std::fputc('\n', stdout);
  return k_exit_ok;
}

std::string joined(const json& list) {
  std::string out;
  for (const auto& v : list)
    out += (out.empty() ? "" : ", ") + v.get<std::string>();
  return out;
}

int run_edit(Session& s, const EditOptions& o) {
  json params{{"id", o.id}, {"dry_run", o.dry_run}};
  for (auto [key, value] : {std::pair{"title", &o.title},
                            {"priority", &o.priority},
                            {"estimation", &o.estimation},
                            {"assignee", &o.assignee},
                            {"summary", &o.summary},
                            {"vision", &o.vision}})
    if (!value->empty())
      params[key] = *value;
  auto r = s.call(method::artifacts_edit, params);
  if (!r)
    return s.fail(r.error());
  return render(s, *r, "changed " + joined((*r)["fields"]));
}

int run_link(Session& s, const EditOptions& o, bool link) {
  auto r = s.call(link ? method::artifacts_link : method::artifacts_unlink,
                  {{"id", o.id}, {"blocked_by", o.blocked_by}, {"dry_run", o.dry_run}});
  if (!r)
    return s.fail(r.error());
  auto what = fmt::format("{} {}", link ? "now blocked by" : "no longer blocked by",
                          joined((*r)[link ? "linked" : "unlinked"]));
  // The state change the link brings (ready → blocked, blocked → ready).
  const auto& st = s.style();
  for (const auto& e : r->value("events", json::array()))
    what +=
        fmt::format("\n{}: {} → {}{}", st.bold(e.value("id", "")), st.state(e.value("from", "")),
                    st.state(e.value("to", "")),
                    e.value("note", "").empty() ? "" : st.dim(" (" + e.value("note", "") + ")"));
  return render(s, *r, what);
}

void link_command(CLI::App& app, CommandRegistry& registry, bool link) {
  auto o = std::make_shared<EditOptions>();
  auto* sub = app.add_subcommand(link ? "link" : "unlink",
                                 link ? "Make an artifact wait on siblings (both sides updated)"
                                      : "Remove dependencies (both sides updated)");
  sub->add_option("id", o->id, "Artifact ID")->required();
  sub->add_option("--blocked-by", o->blocked_by, "A sibling it waits on (repeatable)")->required();
  sub->add_flag("--dry-run", o->dry_run, "Show what would change without writing");
  if (link)
    sub->footer("Refused across types or parents, and when the link would close a cycle\n"
                "(the cycle is shown). A ready artifact linked to an unfinished blocker becomes\n"
                "blocked, waiting on it.");
  else
    sub->footer("A blocked artifact left with nothing unfinished to wait on becomes ready.");
  registry.add(sub, [o, link](Session& s) { return run_link(s, *o, link); });
}

} // namespace

void register_edit_commands(CLI::App& app, CommandRegistry& registry) {
  auto o = std::make_shared<EditOptions>();
  auto* edit = app.add_subcommand("edit", "Change fields of an artifact in place");
  edit->add_option("id", o->id, "Artifact ID")->required();
  edit->add_option("--title", o->title, "New title");
  edit->add_option("--priority", o->priority, "New priority")
      ->check(CLI::IsMember({"low", "medium", "high", "critical"}));
  edit->add_option("--estimation", o->estimation, "New estimation")
      ->check(CLI::IsMember({"XS", "S", "M", "L", "XL"}));
  edit->add_option("--assignee", o->assignee, "New assignee, as Name (email)");
  edit->add_option("--summary", o->summary, "New summary (milestones and issues)");
  edit->add_option("--vision", o->vision, "New vision (initiatives)");
  edit->add_flag("--dry-run", o->dry_run, "Show what would change without writing");
  edit->footer("Only the edited lines change; comments and formatting elsewhere stay as they are.");
  registry.add(edit, [o](Session& s) { return run_edit(s, *o); });
  link_command(app, registry, true);
  link_command(app, registry, false);
}

} // namespace kb::cli
