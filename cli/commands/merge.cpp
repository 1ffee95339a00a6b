// `merge-driver` (run by git), `resolve` and `renumber`: parallel work that meets in one tree.
#include "cli/session.hpp"
#include "core/protocol/methods.hpp"
#include "core/util/fd.hpp"
#include "core/util/text.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kb::cli {

namespace method = protocol::method;

namespace {

struct DriverOptions {
  std::string base, ours, theirs, path;
  int marker_size = 7;
};

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

bool write_whole(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

// git's own merge of lines, for what is not a document kodebase can merge: its exit status
// (0 clean, else the number of conflicts; -1 when it cannot run).
int merge_lines(const DriverOptions& o) {
  std::string size = "--marker-size=" + std::to_string(o.marker_size);
  std::vector<std::string> args = {"git",  "merge-file", size,     "-L",   "ours", "-L",
                                   "base", "-L",         "theirs", o.ours, o.base, o.theirs};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "git", nullptr, nullptr, argv.data(), environ) != 0)
    return -1;
  return util::wait_exit_code(pid);
}

int run_merge_driver(Session& s, const DriverOptions& o) {
  auto fallback = [&](const std::string& why) {
    if (!s.globals.quiet && !why.empty())
      std::fprintf(stderr, "kodebase: %s: %s; merging its lines instead\n", o.path.c_str(),
                   why.c_str());
    int rc = merge_lines(o);
    return rc == 0 ? k_exit_ok : k_exit_failed;
  };
  auto base = slurp(o.base), ours = slurp(o.ours), theirs = slurp(o.theirs);
  if (!base || !ours || !theirs)
    return fallback("cannot read git's versions of the file");
  for (const auto* text : {&*base, &*ours, &*theirs})
    if (util::utf8_error_at(*text) != std::string_view::npos)
      return fallback("the file is not UTF-8 text");
  auto r = s.call(method::artifacts_merge, {{"base", *base},
                                            {"ours", *ours},
                                            {"theirs", *theirs},
                                            {"marker_size", o.marker_size},
                                            {"path", o.path}});
  if (!r)
    return fallback(r.error().message);
  if (r->value("fallback", false))
    return fallback(r->value("reason", ""));
  if (!write_whole(o.ours, r->value("text", "")))
    return fallback("cannot write the merged file");
  if (!s.globals.quiet) {
    for (const auto& w : (*r)["warnings"])
      std::fprintf(stderr, "kodebase: %s\n", w.get<std::string>().c_str());
    for (const auto& c : (*r)["conflicts"])
      std::fprintf(stderr, "kodebase: %s: %s changed differently on both sides (markers left)\n",
                   o.path.c_str(), c.get<std::string>().c_str());
  }
  return r->value("clean", false) ? k_exit_ok : k_exit_failed;
}

int run_resolve(Session& s, const std::vector<std::string>& ids, bool all, bool dry_run) {
  auto r = s.call(method::artifacts_resolve, {{"ids", ids}, {"all", all}, {"dry_run", dry_run}});
  if (!r)
    return s.fail(r.error());
  bool left = !(*r)["conflicted"].empty();
  if (s.globals.json) {
    s.print_json(*r);
    return left ? k_exit_failed : k_exit_ok;
  }
  std::string text;
  for (const auto& e : (*r)["resolved"]) {
    text += fmt::format("{}  {}  {}\n", s.style().bold(e.value("id", "")),
                        s.style().green(dry_run ? "would be resolved" : "resolved"),
                        e.value("path", ""));
    for (const auto& w : e["warnings"])
      text += "    " + s.style().yellow(w.get<std::string>()) + "\n";
  }
  for (const auto& e : (*r)["conflicted"]) {
    std::string why = e.contains("reason") ? e.value("reason", "") : std::string();
    if (why.empty())
      for (const auto& c : e["conflicts"])
        why += (why.empty() ? "changed both ways: " : ", ") + c.get<std::string>();
    text += fmt::format("{}  {}  {}\n    {}\n", s.style().bold(e.value("id", "")),
                        s.style().red("still conflicted"), e.value("path", ""), why);
  }
  if (r->contains("staged") && !(*r)["staged"].empty())
    text += s.style().dim(
        fmt::format("{} file(s) marked resolved for git (`git add`)\n", (*r)["staged"].size()));
  if ((*r)["resolved"].empty() && !left)
    text += "no conflicted artifact files\n";
  if (left)
    text += s.style().dim("Pick one side of each marked entry by hand, then run `kodebase "
                          "validate`.\n");
  print(text);
  return left ? k_exit_failed : k_exit_ok;
}

struct RenumberOptions {
  std::string id, to, file;
  bool dry_run = false;
};

int run_renumber(Session& s, const RenumberOptions& o) {
  json params{{"id", o.id}, {"dry_run", o.dry_run}};
  if (!o.to.empty())
    params["to"] = o.to;
  if (!o.file.empty())
    params["file"] = o.file;
  auto r = s.call(method::artifacts_renumber, params);
  if (!r)
    return s.fail(r.error());
  if (s.globals.json) {
    s.print_json(*r);
    return k_exit_ok;
  }
  std::string text = fmt::format("{} → {}  ({})\n", s.style().bold(r->value("id", "")),
                                 s.style().bold(r->value("to", "")), r->value("file", ""));
  for (const auto& [from, to] : (*r)["renamed"].items())
    if (from != r->value("id", ""))
      text += fmt::format("  {} → {}\n", from, to.get<std::string>());
  for (const auto& id : (*r)["rewritten"])
    text += fmt::format("  references rewritten in {}\n", id.get<std::string>());
  for (const auto& id : (*r)["ambiguous"])
    text += s.style().yellow(
        fmt::format("  {} names {} too: left as it is (it may mean the other file); check it\n",
                    id.get<std::string>(), r->value("id", "")));
  for (const auto& b : (*r)["branches"])
    text += s.style().yellow(fmt::format("  branch {} still has the old name: {}\n",
                                         b.value("branch", ""), b.value("hint", "")));
  size_t files = (*r)["files"].size();
  text += r->value("dry_run", false)
              ? s.style().yellow(fmt::format("dry run: {} file{} would change, nothing written\n",
                                             files, files == 1 ? "" : "s"))
              : s.style().dim(fmt::format("{} file{} written\n", files, files == 1 ? "" : "s"));
  print(text);
  return k_exit_ok;
}

} // namespace

int merge_driver_main(char** args) {
  DriverOptions o{args[0], args[1], args[2], args[4], 7};
  int size = std::atoi(args[3]);
  if (size >= 1 && size <= 64)
    o.marker_size = size;
  Session s;
  if (auto st = s.prepare(); !st)
    return s.fail(st.error());
  return run_merge_driver(s, o);
}

void register_merge_commands(CLI::App& app, CommandRegistry& registry) {
  auto driver = std::make_shared<DriverOptions>();
  auto* d = app.add_subcommand("merge-driver",
                               "Merge one artifact file three ways (git runs it during merges)");
  d->add_option("base", driver->base, "The common ancestor's version (git's %O)")->required();
  d->add_option("ours", driver->ours, "Our version, replaced by the result (git's %A)")->required();
  d->add_option("theirs", driver->theirs, "Their version (git's %B)")->required();
  d->add_option("marker-size", driver->marker_size, "Conflict marker length (git's %L)")
      ->check(CLI::Range(1, 64));
  d->add_option("path", driver->path, "The file's path in the repository (git's %P)");
  d->footer("Registered by `kodebase init` and `kodebase hooks install`: .gitattributes gives\n"
            ".kodebase/artifacts/**/*.yml the driver `kodebase`, and the repository's git config\n"
            "runs `kodebase merge-driver %O %A %B %L %P`. Event histories are joined in time\n"
            "order (a cascade both branches ran is kept once), fields changed on one side take\n"
            "that side, lists merge as sets; a field changed two ways gets conflict markers and\n"
            "exit status 1, as git expects.");
  registry.add(d, [driver](Session& s) { return run_merge_driver(s, *driver); });

  auto ids = std::make_shared<std::vector<std::string>>();
  auto all = std::make_shared<bool>(false), dry = std::make_shared<bool>(false);
  auto* resolve =
      app.add_subcommand("resolve", "Merge artifact files a merge left with conflict markers");
  resolve->add_option("ids", *ids, "Artifacts to resolve");
  resolve->add_flag("--all", *all, "Every conflicted artifact file");
  resolve->add_flag("--dry-run", *dry, "Show what would be resolved, write nothing");
  resolve->footer("For merges made without the merge driver (GitHub's button, another tool, a\n"
                  "clone without `kodebase hooks install`). During a merge, git's three versions\n"
                  "are merged and the file is marked resolved (`git add`); otherwise the markers'\n"
                  "two sides are. Exit status 1 when an entry changed two ways remains.");
  registry.add(resolve, [ids, all, dry](Session& s) { return run_resolve(s, *ids, *all, *dry); });

  auto ro = std::make_shared<RenumberOptions>();
  auto* renumber = app.add_subcommand("renumber", "Give an artifact another ID, references too");
  renumber->add_option("id", ro->id, "The artifact to renumber")->required();
  renumber->add_option("--to", ro->to, "The new ID (a free sibling; default: the next free one)");
  renumber->add_option("--file", ro->file,
                       "Which file, when two files have the ID (path from the project root)");
  renumber->add_flag("--dry-run", ro->dry_run, "Show what would change, write nothing");
  renumber->footer("A milestone or initiative moves with its folder and every descendant. The\n"
                   "dependencies and blocking dependencies that name a renamed ID are rewritten\n"
                   "(for an ID two files share, only inside what moves: the rest may mean the\n"
                   "other file, and is listed). The renumbering is recorded in the artifact's\n"
                   "last event. Branches named by an old ID are reported, not renamed.");
  registry.add(renumber, [ro](Session& s) { return run_renumber(s, *ro); });
}

} // namespace kb::cli
